# Tally's entry points. Each target does its own set-up on a fresh Debian machine
# with Swift on PATH: apt packages, a virtual environment in .venv, the extension.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
SWIFT ?= $(shell command -v swift || echo /opt/swift/usr/bin/swift)
APT_PACKAGES := python3-dev libblis-pthread-dev pkg-config binutils

.PHONY: setup apt venv extension install demo test test-swift test-python test-wheel wheel sdist safety bench clean

setup: install

apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "apt-get install$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) || \
	  { echo "error: could not install$$missing (run as root or install them yourself)"; exit 1; }; fi

# The demo needs only what requirements-demo.txt lists; the tests need Keras,
# JAX and TensorFlow too (requirements-dev.txt).
$(VENV)/.demo-stamp: requirements-demo.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-demo.txt
	@touch $@

$(VENV)/.deps-stamp: requirements-dev.txt $(VENV)/.demo-stamp
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.deps-stamp

extension: apt $(VENV)/.demo-stamp
	$(PY) -m pip install -q --no-build-isolation --no-deps -e .

install: venv extension

demo: extension
	$(PY) -m tally.demo

test-swift: apt
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	# TallyNet's tests again on BLIS's other x86 kernel sets (the default run uses the one
	# chosen by instruction set): haswell (AVX2) and skx (AVX-512), where the CPU has them.
	# The haswell run also keeps every GEMM on BLIS (the default run, on an AVX-512 CPU, runs
	# the Dense and Winograd products on TallyNet's own loops), so both paths pass every test.
	@if grep -qw avx2 /proc/cpuinfo; then BLIS_ARCH_TYPE=3 TALLY_GEMM=blis $(SWIFT) test --skip-build --filter TallyNetTests; fi
	@if grep -qw avx512f /proc/cpuinfo; then BLIS_ARCH_TYPE=0 $(SWIFT) test --skip-build --filter TallyNetTests; fi

test-python: install
	$(PY) -m pytest -q python/tests

test: test-swift test-python

# A wheel for Linux x86-64 that needs no Swift toolchain: setup.py builds both extension
# modules (reusing .build-release, Swift runtime linked statically), then auditwheel grafts
# the trainer's BLIS into the wheel (tally.libs/) and gives it its manylinux tag.
wheel: apt $(VENV)/.deps-stamp
	rm -rf build dist/raw dist/tally-*.whl
	$(PY) -m build --wheel --no-isolation --outdir dist/raw .
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/auditwheel repair --strip -w dist dist/raw/tally-*.whl
	rm -rf dist/raw
	@ls -l dist/tally-*.whl

# The source distribution: `pip install tally-*.tar.gz` builds it with the toolchain, as from a clone.
sdist: $(VENV)/.deps-stamp
	rm -f dist/tally-*.tar.gz
	$(PY) -m build --sdist --no-isolation --outdir dist .

# The wheel as a user gets it: installed in a new virtual environment without `swift`
# on PATH, tested from outside the source tree, its libraries audited (scripts/test_wheel.sh).
test-wheel: wheel sdist
	PY=$(PY) scripts/test_wheel.sh

# Fuzzers, sanitizers and adversarial-input tests (issue 7), a few minutes.
safety: install
	PY=$(PY) SWIFT=$(SWIFT) scripts/safety.sh

bench: install
	$(PY) bench/bench_counting.py

clean:
	rm -rf .build .build-release .build-asan .build-tsan .build-fuzz build dist $(VENV) python/tally/_tally*.so python/tally/_tallynet*.so

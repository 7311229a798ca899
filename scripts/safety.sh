#!/usr/bin/env bash
# The reliability suite (issue 7), bounded to a few minutes on 2 cores:
#   1. libFuzzer on the .npy reader, the accumulator and restored states (FUZZ_SECONDS each, else 120 s shared),
#      after replaying every kept crash input (scripts/fuzz.sh);
#   2. the Swift core's tests under AddressSanitizer, and its threaded tests under
#      ThreadSanitizer (separate build folders, so the normal .build is untouched);
#   3. the Python robustness tests: adversarial arguments in a worker subprocess,
#      flat RSS over a million updates, threads, Int64 edges, 10^7 weighted rows.
# Needs only what `make install` sets up (the sanitizer and fuzzer runtimes ship
# with the Swift toolchain). Any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
SWIFT=${SWIFT:-swift}
PY=${PY:-.venv/bin/python}
export SWIFT_BACKTRACE=enable=no
started=$SECONDS
step() { echo; echo "== safety: $* ($((SECONDS - started))s)"; }

step "fuzzing"
# CI fuzzes a fixed sequence of inputs (reproducible); `make safety` by hand fuzzes for
# FUZZ_SECONDS from a random seed, to find new things.
if [ -n "${CI:-}" ] && [ -z "${FUZZ_SECONDS:-}" ]; then export FUZZ_RUNS=${FUZZ_RUNS:-40000}; fi
scripts/fuzz.sh

step "Swift tests under AddressSanitizer (and LeakSanitizer)"
"$SWIFT" build --build-tests --sanitize=address --scratch-path .build-asan 2>&1 | grep -E "error|warning: .*sanitiz|Compiling Tally |Build complete" || true
LSAN_OPTIONS=suppressions=$PWD/scripts/lsan-xctest.supp \
  "$SWIFT" test --skip-build --sanitize=address --scratch-path .build-asan

step "Swift tests under ThreadSanitizer (the locked-accumulator test, TallyNet's threads)"
"$SWIFT" build --build-tests --sanitize=thread --scratch-path .build-tsan 2>&1 | grep -E "error|Build complete" || true
TSAN_OPTIONS=halt_on_error=1 "$SWIFT" test --skip-build --sanitize=thread --scratch-path .build-tsan

step "Python robustness tests"
TALLY_SAFETY=1 "$PY" -m pytest -q -p no:cacheprovider python/tests/test_robustness.py \
  "python/tests/test_streaming.py::test_threads_update_one_accumulator_exactly"

echo; echo "== safety: all passed in $((SECONDS - started))s"

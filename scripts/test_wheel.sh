#!/usr/bin/env bash
# The wheel as a user gets it (`make test-wheel`, after `make wheel sdist`):
#   1. `auditwheel show` finds the wheel consistent with the manylinux tag in its name;
#   2. the sdist carries the Swift package it builds from;
#   3. the wheel goes into a NEW virtual environment, outside the source tree, whose PATH
#      has no `swift`; `pip` resolves its dependencies (`tally[test]`: the test tools, plot, dask);
#   4. `ldd`/`readelf` on every installed library: each dependency is in the wheel
#      (tally.libs/) or allowed by the manylinux policy, no RUNPATH leaves the wheel, and
#      the metrics module needs no BLAS (scripts/check_wheel_libs.py);
#   5. the Python test suite, copied to a folder outside the tree, runs against the
#      installed package -- all of it but what drives the source tree itself
#      (test_cli.py and the `swift_cli` fixture build the Swift command line,
#      test_examples.py and test_sharded_and_memory.py run examples/ and bench/ from the
#      checkout); the Keras
#      tests skip, since `[keras]` (JAX, ~150 MB) is not installed here: `make test`
#      runs them on the same extension modules.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
case "$PY" in /*) ;; *) PY="$ROOT/$PY" ;; esac
BIN=$(dirname "$PY")

shopt -s nullglob
wheels=("$ROOT"/dist/tally-*-cp311-abi3-manylinux_*_x86_64.whl)
sdists=("$ROOT"/dist/tally-*.tar.gz)
[ ${#wheels[@]} -eq 1 ] || { echo "error: expected one manylinux wheel in dist/, found ${#wheels[@]} (run make wheel)" >&2; exit 1; }
[ ${#sdists[@]} -eq 1 ] || { echo "error: expected one sdist in dist/, found ${#sdists[@]} (run make sdist)" >&2; exit 1; }
wheel=${wheels[0]}
sdist=${sdists[0]}
work=$(mktemp -d "${TMPDIR:-/tmp}/tally-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "== $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"

# 1. The audit: the tag auditwheel finds is the one in the file name.
"$BIN/auditwheel" show "$wheel" | tee "$work/show.txt"
tag=$(tr '\n' ' ' <"$work/show.txt" | grep -o 'platform tag: "manylinux_[0-9]*_[0-9]*_x86_64"' | head -1 | cut -d'"' -f2)
[ -n "$tag" ] || { echo "error: auditwheel finds no manylinux tag for the wheel" >&2; exit 1; }
case "$(basename "$wheel")" in *"-$tag.whl") ;; *) echo "error: the wheel is named for another tag than $tag" >&2; exit 1 ;; esac
if grep -q "external shared libraries are required" "$work/show.txt"; then
    echo "error: the wheel needs libraries outside the policy $tag" >&2; exit 1
fi
# The policy's allowed system libraries, from auditwheel's own table.
"$PY" - "$tag" >"$work/allowed.txt" <<'EOF'
import json, os, sys
import auditwheel.policy as policy
table = json.load(open(os.path.join(os.path.dirname(policy.__file__), "manylinux-policy.json")))
name = sys.argv[1].removesuffix("_x86_64")  # manylinux_2_34_x86_64 -> manylinux_2_34
(entry,) = [p for p in table if p["name"] == name]
print("\n".join(entry["lib_whitelist"]))
EOF

# 2. The sdist holds what `swift build` and setup.py need.
tar tzf "$sdist" >"$work/sdist.txt"
for f in Package.swift setup.py pyproject.toml LICENSE CPython/module.modulemap Sources/Tally/ \
         Sources/TallyPython/ Sources/CBLAS/ Tests/TallyTests/ python/tally/__init__.py python/tally/_version.py; do
    grep -q "^tally-[^/]*/$f" "$work/sdist.txt" || { echo "error: the sdist lacks $f" >&2; exit 1; }
done
if grep -q '\.so$' "$work/sdist.txt"; then echo "error: the sdist carries built libraries" >&2; exit 1; fi
echo "== $(basename "$sdist"): $(wc -l <"$work/sdist.txt") entries, the Swift package included"

# 3. A new environment, and a PATH without any folder that holds `swift`.
base=$("$PY" -c 'import sys; print(sys._base_executable)')
"$base" -m venv "$work/venv"
clean="$work/venv/bin"
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
    [ -n "$d" ] && [ ! -e "$d/swift" ] && clean="$clean:$d"
done
run() { env -u PYTHONPATH -u VIRTUAL_ENV -u PYTHONHOME PATH="$clean" "$@"; }
if run bash -c 'command -v swift'; then echo "error: swift is still on PATH" >&2; exit 1; fi
cd "$work"
SECONDS=0
run python -m pip install -q --disable-pip-version-check "tally[test] @ file://$wheel"
echo "== installed with its dependencies in ${SECONDS} s"
run python - <<'EOF'
import importlib.metadata, sys
import tally
assert tally.__file__.startswith(sys.prefix), f"tally imported from {tally.__file__}, not the new environment"
assert tally.__version__ == importlib.metadata.version("tally"), (tally.__version__, importlib.metadata.version("tally"))
print(f"== tally {tally.__version__} from {tally.__file__}")
EOF
run tally --help >/dev/null

# 4. Every library the installed modules load.
run python "$ROOT/scripts/check_wheel_libs.py" "$work/allowed.txt"

# 5. The suite, from outside the tree.
cp -r "$ROOT/python/tests" "$work/tests"
SECONDS=0
# (The files left out stay in the folder: other tests import fixtures from them; the
# `swift_cli` fixture skips outside a checkout, as in test_intervals' CLI case.)
run python -m pytest -q -p no:cacheprovider -p no:logging "$work/tests" --ignore="$work/tests/test_cli.py" \
    --ignore="$work/tests/test_examples.py" --ignore="$work/tests/test_sharded_and_memory.py"
echo "== the suite ran against the wheel in ${SECONDS} s"

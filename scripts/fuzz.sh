#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (with Sources/Tally, one module, over the
# internal TallyThreads module and the TallyKernels C kernels, under AddressSanitizer), replays every kept crash input, then fuzzes each target for
# FUZZ_SECONDS (default: 120 s shared among the targets run). Exits non-zero on any finding; the crashing input is
# left in .build-fuzz/ (keep it under Fuzz/regressions/<target>/ once fixed).
#
# With FUZZ_RUNS=N each target instead runs N inputs from a fixed seed: the same
# inputs every time, so a CI run cannot fail on a finding it did not cause.
#
#   scripts/fuzz.sh [npy|update|restore ...]      FUZZ_SECONDS=300 scripts/fuzz.sh restore
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFTC=${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}
OUT=.build-fuzz
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(npy update restore)
SECONDS_EACH=${FUZZ_SECONDS:-$((120 / ${#targets[@]}))}
mkdir -p "$OUT"
# The core imports the internal TallyThreads module: built once, instrumented alike.
"$SWIFTC" -sanitize=fuzzer,address -parse-as-library -module-name TallyThreads -package-name tally -O -g \
  -emit-module -emit-module-path "$OUT/TallyThreads.swiftmodule" -emit-library -static -o "$OUT/libTallyThreads.a" \
  Sources/TallyThreads/*.swift 2>&1 | { grep -E "error" || true; }
test -f "$OUT/libTallyThreads.a"
# The core's C kernels (TallyKernels): compiled alike, imported through a module map.
CLANG=${CLANG:-$(dirname "$SWIFTC")/clang}
mkdir -p "$OUT/TallyKernels"
# Every header of the include folder and every .c file, as SwiftPM builds the target
# (a kernel file added later is then fuzzed too, not left undefined at link time).
printf 'module TallyKernels {\n  umbrella "%s/Sources/TallyKernels/include"\n  export *\n}\n' "$PWD" \
  > "$OUT/TallyKernels/module.modulemap"
kernel_objects=()
for c in Sources/TallyKernels/*.c; do
  o="$OUT/TallyKernels-$(basename "$c" .c).o"
  "$CLANG" -O2 -g -fsanitize=fuzzer-no-link,address -ISources/TallyKernels/include -c "$c" -o "$o"
  kernel_objects+=("$o")
done
# A crash report, not an interactive backtrace (the Swift runtime's backtracer
# otherwise holds the process for a long time).
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

for t in "${targets[@]}"; do
  case $t in
    npy) source=Fuzz/FuzzNPY.swift ;;
    update) source=Fuzz/FuzzUpdate.swift ;;
    restore) source=Fuzz/FuzzRestore.swift ;;
    *) echo "fuzz.sh: unknown target $t (npy, update, restore)" >&2; exit 2 ;;
  esac
  echo "== fuzz-$t: build"
  # -O keeps Swift's bounds and overflow checks and runs ~5x more inputs than -Onone.
  "$SWIFTC" -sanitize=fuzzer,address -parse-as-library -module-name TallyFuzz -package-name tally -O -g -use-ld=lld \
    -I "$OUT" -I "$OUT/TallyKernels" "$OUT/libTallyThreads.a" "${kernel_objects[@]}" \
    Sources/Tally/*.swift Fuzz/FuzzSupport.swift "$source" -o "$OUT/fuzz-$t" 2>&1 \
    | { grep -E "error" || true; }
  test -x "$OUT/fuzz-$t"

  mkdir -p "$OUT/corpus-$t"
  # Seeds: the recorded fixtures for the .npy reader.
  [ "$t" = npy ] && cp -n Tests/TallyTests/Fixtures/*.npy "$OUT/corpus-$t/" 2>/dev/null || true
  if compgen -G "Fuzz/regressions/$t/*" >/dev/null; then
    echo "== fuzz-$t: replay $(ls Fuzz/regressions/$t | wc -l) kept inputs"
    "$OUT/fuzz-$t" Fuzz/regressions/$t/* > "$OUT/replay-$t.log" 2>&1 \
      || { tail -40 "$OUT/replay-$t.log"; echo "fuzz-$t: a kept regression input fails again" >&2; exit 1; }
  fi
  if [ -n "${FUZZ_RUNS:-}" ]; then
    # An input of the restore target scores whole states (~100/s, not thousands):
    # a tenth of the runs keeps its time near the others'.
    runs=$FUZZ_RUNS; [ "$t" = restore ] && runs=$((FUZZ_RUNS / 10 + 1))
    budget=(-seed=1 -runs="$runs"); echo "== fuzz-$t: ${runs} inputs from seed 1"
  else
    budget=(-max_total_time="$SECONDS_EACH"); echo "== fuzz-$t: ${SECONDS_EACH}s"
  fi
  if ! (cd "$OUT" && ./fuzz-$t "${budget[@]}" -max_len=4096 -len_control=0 \
          -rss_limit_mb=2048 -print_final_stats=1 "corpus-$t" > "fuzz-$t.log" 2>&1); then
    grep -v '^"' "$OUT/fuzz-$t.log" | tail -60
    echo "fuzz-$t: FOUND A CRASH (input written to $OUT/crash-*)" >&2
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^#[0-9]+ +DONE" "$OUT/fuzz-$t.log" | tail -2
done
echo "fuzz: no findings"

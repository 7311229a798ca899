#!/bin/sh
# Builds TallyNet in release and runs the trainer benchmark against it.
#   bench/trainer/run.sh [threads] [side ...]   (default: 2 threads, sides 64 and 204)
set -e
cd "$(dirname "$0")/../.."
swift build -c release --scratch-path .build-net --target TallyNet >/dev/null
out=.build-net/release
swiftc -O -wmo -module-name TrainerBench bench/trainer/main.swift \
    -I "$out/Modules" -Xcc -fmodule-map-file=Sources/CBLAS/module.modulemap -Xcc -fmodule-map-file="$out/TallyNetKernels.build/module.modulemap" -Xcc -ISources/TallyNetKernels/include \
    -Xcc -fmodule-map-file="$out/TallyKernels.build/module.modulemap" -Xcc -ISources/TallyKernels/include \
    "$out"/TallyNet.build/*.o "$out"/TallyNetKernels.build/*.o "$out"/TallyKernels.build/*.o "$out"/Tally.build/*.o "$out"/TallyThreads.build/*.o -lblis -o "$out/trainer-bench"
exec "$out/trainer-bench" "$@"

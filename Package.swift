// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Tally",
    products: [
        // Exact, streaming, mergeable multi-label metrics. Pure Swift, no Foundation.
        .library(name: "Tally", targets: ["Tally"]),
        // The Swift CNN trainer.
        .library(name: "TallyNet", targets: ["TallyNet"]),
        // The `_tally` CPython extension module: the metrics (built by `pip install .`). Links no BLAS.
        .library(name: "TallyPython", type: .dynamic, targets: ["TallyPython"]),
        // The `_tallynet` CPython extension module: the trainer, loaded by `tally.net` only.
        .library(name: "TallyNetPython", type: .dynamic, targets: ["TallyNetPython"]),
        // `tally report --true y_true.npy --score y_score.npy` over recorded arrays.
        .executable(name: "tally", targets: ["tally-cli"]),
    ],
    targets: [
        .target(name: "Tally", dependencies: ["TallyThreads", "TallyKernels"]),
        .target(name: "TallyNet", dependencies: ["Tally", "TallyThreads", "CBLAS", "TallyNetKernels"], exclude: ["README.md"]),
        .executableTarget(name: "tally-cli", dependencies: ["Tally"]),
        .target(name: "TallyPython", dependencies: ["Tally", "TallyThreads", "TallyPythonBridge", "CPython"]),
        .target(name: "TallyNetPython", dependencies: ["TallyNet", "Tally", "TallyPythonBridge", "CPython"]),

        // Internal: fork-join over pthreads for the core (labels) and TallyNet (batch
        // chunks). No stable API: its declarations are `package`.
        .target(name: "TallyThreads"),
        // Internal: the extension modules' shared plumbing (argument parsing, the error
        // table, buffers, handles, declaration lists); each extension links its own copy.
        // No stable API: its declarations are `package`.
        .target(name: "TallyPythonBridge", dependencies: ["Tally", "CPython"]),
        // Internal: the core's per-row counting and ranking loops in C, built per
        // instruction set and chosen at run time by CPU features. No stable API.
        .target(name: "TallyKernels"),
        // Internal: TallyNet's Winograd transforms in C, built per instruction set (ifunc).
        .target(name: "TallyNetKernels"),
        // Internal: Python.h for the bridge. Never links libpython: an extension
        // module takes its symbols from the interpreter that loads it.
        .systemLibrary(
            name: "CPython",
            path: "CPython",
            pkgConfig: "python3",
            providers: [.apt(["python3-dev"])]
        ),
        // Internal: the Debian BLAS (BLIS) that TallyNet's GEMMs run on.
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            providers: [.apt(["libblis-pthread-dev"])]
        ),

        .testTarget(name: "TallyTests", dependencies: ["Tally", "TallyThreads"], exclude: ["Fixtures"]),
        .testTarget(name: "TallyNetTests", dependencies: ["TallyNet", "Tally"]),
    ]
)

// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Tally",
    products: [
        // Exact, streaming, mergeable multi-label metrics. Pure Swift, no Foundation.
        .library(name: "Tally", targets: ["Tally"]),
        // The Swift CNN trainer.
        .library(name: "TallyNet", targets: ["TallyNet"]),
        // The `_tally` CPython extension module (built by `pip install .`).
        .library(name: "TallyPython", type: .dynamic, targets: ["TallyPython"]),
        // `tally report --true y_true.npy --score y_score.npy` over recorded arrays.
        .executable(name: "tally", targets: ["tally-cli"]),
    ],
    targets: [
        .target(name: "Tally"),
        .target(name: "TallyNet", dependencies: ["Tally", "CBLAS", "TallyNetKernels"], exclude: ["README.md"]),
        // Internal: TallyNet's Winograd transforms in C, built per instruction set (ifunc).
        .target(name: "TallyNetKernels"),
        .executableTarget(name: "tally-cli", dependencies: ["Tally"]),

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
        .target(name: "TallyPython", dependencies: ["Tally", "TallyNet", "CPython"]),

        .testTarget(name: "TallyTests", dependencies: ["Tally"], exclude: ["Fixtures"]),
        .testTarget(name: "TallyNetTests", dependencies: ["TallyNet"]),
    ]
)

import CBLAS
internal import TallyNetKernels
@testable import TallyNet
import XCTest

/// The kernel choice reads the CPU's features, and a CPU with AVX2 or better never runs the
/// GEMMs on BLIS's reference (`generic`) kernels.
final class BackendTests: XCTestCase {
    func testChoiceComesFromFeaturesNotModels() {
        let all: (arch_t) -> Bool = { _ in true }
        // Any x86-64 CPU with AVX2 and FMA gets the AVX2 kernel set, AVX-512 or not, known model or not.
        XCTAssertEqual(blisConfiguration(architecture: "x86_64", avx2: true, fma: true, built: all), BLIS_ARCH_ZEN3)
        // A BLIS built without zen3 falls back to the other AVX2 set.
        XCTAssertEqual(blisConfiguration(architecture: "x86_64", avx2: true, fma: true, built: { $0 == BLIS_ARCH_HASWELL }),
                       BLIS_ARCH_HASWELL)
        XCTAssertNil(blisConfiguration(architecture: "x86_64", avx2: true, fma: true, built: { _ in false }))
        // Without AVX2+FMA there is no faster set to name: BLIS keeps its own choice.
        XCTAssertNil(blisConfiguration(architecture: "x86_64", avx2: true, fma: false, built: all))
        XCTAssertNil(blisConfiguration(architecture: "x86_64", avx2: false, fma: false, built: all))
        XCTAssertNil(blisConfiguration(architecture: "aarch64", avx2: false, fma: false, built: all))
    }

    func testThisBuildOfBLISCarriesTheAVX2KernelSets() {
        #if arch(x86_64)
        XCTAssertEqual(tally_blis_has_config(BLIS_ARCH_ZEN3), 1)
        XCTAssertEqual(tally_blis_has_config(BLIS_ARCH_HASWELL), 1)
        #endif
    }

    func testOwnGEMMLoopsChosenByFeatures() {
        // TallyNet's own GEMM loops wherever the CPU has AVX-512F and FMA (never by model),
        // unless TALLY_GEMM=blis asks for BLIS; the report names the choice.
        let backend = Backend.current
        let asked = ProcessInfo.processInfo.environment["TALLY_GEMM"]
        let features = backend.cpu.features.contains("avx512f") && backend.cpu.features.contains("fma")
        XCTAssertEqual(tk_own_kernels_available() != 0, features)
        XCTAssertEqual(backend.usesOwnKernels, features && asked != "blis", "\(backend)")
        XCTAssertTrue("\(backend)".contains("own GEMM loops: \(backend.ownKernels)"), "\(backend)")
    }

    func testNoReferenceGEMMOnACPUWithAVX2() throws {
        let backend = Backend.current
        // Run a GEMM through TallyNet's wrapper too: the configuration holds for real calls.
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        var c = [Float](repeating: 0, count: 4)
        BLAS.gemm(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: &c, ldc: 2)
        XCTAssertEqual(c, [19, 22, 43, 50])
        XCTAssertEqual(String(cString: bli_arch_string(bli_arch_query_id())), backend.gemmKernels)
        guard backend.cpu.hasAVX2FMA else { throw XCTSkip("no AVX2+FMA on this CPU: \(backend)") }
        XCTAssertFalse(backend.gemmIsReference, "reference GEMM on a CPU with AVX2+FMA: \(backend)")
        XCTAssertNotEqual(backend.gemmKernels, "generic", "\(backend)")
        // A ThreadSanitizer build has no clones to choose from (dispatch.h); every other build must
        // have picked the AVX2 or AVX-512 one here.
        if backend.elementwiseKernels != Backend.unclonedBuild {
            XCTAssertNotEqual(backend.elementwiseKernels, "baseline", "\(backend)")
        }
    }

    func testReportNamesTheCPUTheLibraryAndTheKernels() {
        let backend = Backend.current
        let text = backend.description
        XCTAssertTrue(text.contains("gemm: BLIS "), text)
        XCTAssertTrue(text.contains("kernels \(backend.gemmKernels)"), text)
        XCTAssertTrue(text.contains("element-wise kernels: "), text)
        #if arch(x86_64)
        XCTAssertFalse(backend.cpu.vendor.isEmpty)
        XCTAssertGreaterThan(backend.cpu.family, 0)
        XCTAssertTrue(text.contains("family \(backend.cpu.family) model \(backend.cpu.model)"), text)
        #endif
    }

    func testSummaryNamesEachConvolutionsAlgorithmAndTheBackend() throws {
        let model = try Sequential(inputShape: [8, 8, 3], layers: [
            .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
            .conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
            .maxPooling2D(poolSize: (2, 2)),
            .flatten, .dense(units: 2, activation: .sigmoid),
        ])
        var text = model.summary()
        XCTAssertTrue(text.contains("direct, stacked rows"), text)
        XCTAssertTrue(text.contains("winograd F(4x4,3x3)"), text)
        XCTAssertTrue(text.contains("Threads: \(model.threadCount)"), text)
        XCTAssertTrue(text.contains("gemm: BLIS"), text)
        model.allowsWinograd = false
        text = model.summary()
        XCTAssertFalse(text.contains("winograd"), text)
        XCTAssertTrue(text.contains("direct, shifted GEMMs"), text)
    }
}

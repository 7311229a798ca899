#if canImport(Glibc)
import Glibc
#endif
import CBLAS
internal import TallyNetKernels
internal import TallyThreads

/// What TallyNet runs on and which kernels it chose there (like threadpoolctl's report):
/// the CPU as its instruction set describes it, the GEMM library and its kernel set, and the
/// build of TallyNet's own element-wise kernels.
///
/// Debian's BLIS picks its kernels from a table of known CPU models and falls back to its
/// `generic` reference kernels on a CPU it does not know (seen: AMD Zen 5, 2.5× slower).
/// TallyNet chooses instead from the CPU's features, before BLIS's first call, by naming the
/// sub-configuration in `BLIS_ARCH_TYPE` (BLIS reads it once, at its first call):
///
/// - AVX2 and FMA (also with AVX-512): `zen3` (AVX2 kernels), else `haswell` where the
///   build lacks `zen3`. Measured on the seed's model on Zen 4 and Zen 5: `zen3` 18.9 s
///   per 204×204 epoch, `haswell` 20.0 s, BLIS's AVX-512 `skx` 27.3 s.
/// - anything else: BLIS's own choice (there is no faster BLIS kernel to name).
///
/// A `BLIS_ARCH_TYPE` already in the environment is the user's choice and is kept;
/// `TALLY_BLIS_ARCH=table` leaves BLIS its own CPU-model table (for comparisons).
public struct Backend: Sendable, CustomStringConvertible {
    /// The CPU, from cpuid and the OS's saved-state bits (never from a table of models).
    public struct CPU: Sendable {
        public let architecture: String
        public let vendor: String
        public let brand: String
        public let family: Int
        public let model: Int
        /// The instruction-set features that TallyNet's kernel choice reads, present ones only.
        public let features: [String]

        public var hasAVX2FMA: Bool { features.contains("avx2") && features.contains("fma") }
        public var hasAVX512: Bool { ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(features.contains) }
    }

    public let cpu: CPU
    /// "BLIS 0.9.0".
    public let gemmLibrary: String
    /// The BLIS sub-configuration in use, e.g. "zen3"; "generic" is the reference code.
    public let gemmKernels: String
    /// Whether BLIS's single-precision GEMM micro-kernel there is an optimized one (not the
    /// reference C loop).
    public let gemmMicroKernelOptimized: Bool
    /// How the kernel set was chosen.
    public let gemmChoice: String
    /// The build of TallyNet's C kernels (Winograd transforms, dropout) the loader picked:
    /// "x86-64-v4 (AVX-512)", "x86-64-v3 (AVX2+FMA)" or "baseline" (or `unclonedBuild`).
    public let elementwiseKernels: String
    /// Which GEMMs run on TallyNet's own AVX-512 loops instead of BLIS: the Dense layers'
    /// forward, input gradient and momentum step, and the Winograd blocks' 36 products — where
    /// the CPU has AVX-512F and FMA (`ownKernelsName`), else none. `TALLY_GEMM=blis` in the
    /// environment keeps every GEMM on BLIS (for comparisons and tests).
    public let ownKernels: String
    /// Whether TallyNet runs its own GEMM loops (see `ownKernels`).
    public var usesOwnKernels: Bool { ownKernels == Backend.ownKernelsName }
    static let ownKernelsName = "TallyNet AVX-512 (Dense products, Winograd block products, stacked-row convolutions)"
    /// What a ThreadSanitizer build reports: its C kernels are built once, for baseline x86-64,
    /// because an ifunc resolver cannot run under TSan (see dispatch.h).
    public static let unclonedBuild = "baseline (built without per-ISA clones: ThreadSanitizer)"

    /// Whether the GEMMs run on reference code: never wanted on a CPU with AVX2 or better.
    public var gemmIsReference: Bool { gemmKernels == "generic" || !gemmMicroKernelOptimized }

    /// The thread count a new model starts with (the online processors).
    public static var defaultThreads: Int { coreProcessorCount() }

    /// The backend of this process: the first access configures BLIS (before its first call).
    public static var current: Backend { configuredBackend }

    public var description: String {
        let identity = cpu.vendor.isEmpty ? cpu.architecture
            : "\(cpu.vendor) family \(cpu.family) model \(cpu.model) (\(cpu.brand.isEmpty ? cpu.architecture : cpu.brand))"
        return """
        cpu: \(identity); features: \(cpu.features.isEmpty ? "none of interest" : cpu.features.joined(separator: " "))
        gemm: \(gemmLibrary), kernels \(gemmKernels) (\(gemmMicroKernelOptimized ? "optimized" : "reference") sgemm micro-kernel), chosen by \(gemmChoice)
        element-wise kernels: \(elementwiseKernels); own GEMM loops: \(ownKernels); threads by default: \(Backend.defaultThreads)
        """
    }
}

/// The BLIS sub-configuration for a CPU with these features, or nil to leave BLIS its own
/// choice. `built` says whether this BLIS carries a configuration. Pure, so tests can ask it
/// about CPUs this machine is not.
func blisConfiguration(architecture: String, avx2: Bool, fma: Bool, built: (arch_t) -> Bool) -> arch_t? {
    guard architecture == "x86_64", avx2, fma else { return nil }
    return [BLIS_ARCH_ZEN3, BLIS_ARCH_HASWELL].first(where: built)
}

func queryCPU() -> Backend.CPU {
    var raw = tk_cpu()
    tk_cpu_query(&raw)
    func text<T>(_ field: T) -> String {
        withUnsafeBytes(of: field) { bytes in
            String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self).trimmingSpaces()
        }
    }
    let flags: [(String, Int32)] = [("sse4.2", raw.sse4_2), ("avx", raw.avx), ("avx2", raw.avx2), ("fma", raw.fma),
                                    ("avx512f", raw.avx512f), ("avx512bw", raw.avx512bw), ("avx512dq", raw.avx512dq),
                                    ("avx512vl", raw.avx512vl), ("avx512bf16", raw.avx512bf16), ("neon", raw.neon)]
    return Backend.CPU(architecture: text(raw.architecture), vendor: text(raw.vendor), brand: text(raw.brand),
                       family: Int(raw.family), model: Int(raw.model),
                       features: flags.filter { $0.1 != 0 }.map(\.0))
}

private let configuredBackend: Backend = {
    let cpu = queryCPU()
    var choice: String
    var named: arch_t?
    if let user = getenv("BLIS_ARCH_TYPE") {
        choice = "BLIS_ARCH_TYPE=\(String(cString: user)) in the environment (the user's choice)"
    } else if let mode = getenv("TALLY_BLIS_ARCH"), String(cString: mode) == "table" {
        choice = "BLIS's own CPU-model table (TALLY_BLIS_ARCH=table)"
    } else if let arch = blisConfiguration(architecture: cpu.architecture, avx2: cpu.features.contains("avx2"),
                                           fma: cpu.features.contains("fma"),
                                           built: { tally_blis_has_config($0) != 0 }) {
        named = arch
        setenv("BLIS_ARCH_TYPE", String(arch.rawValue), 1)
        choice = "instruction set (AVX2+FMA\(cpu.hasAVX512 ? ", AVX-512" : ""))"
    } else {
        choice = "BLIS's own CPU table (no AVX2+FMA: no faster kernel set to name)"
    }
    bli_init()  // reads BLIS_ARCH_TYPE once, for the whole process
    let id = bli_arch_query_id()
    if named != nil { unsetenv("BLIS_ARCH_TYPE") }  // not for child processes
    if let named, named != id {
        choice += "; BLIS had already started in this process and kept its own choice"
    }
    let kind = bli_gks_l3_ukr_impl_type(BLIS_GEMM_UKR, BLIS_NAT, BLIS_FLOAT)
    let level = tk_elementwise_level()
    var own = "none, BLIS runs every GEMM (no AVX-512F+FMA)"
    if tk_own_kernels_available() != 0 {
        let asked = getenv("TALLY_GEMM").map { String(cString: $0) }
        own = asked == "blis" ? "none, BLIS runs every GEMM (TALLY_GEMM=blis)" : Backend.ownKernelsName
    }
    return Backend(cpu: cpu, gemmLibrary: "BLIS \(String(cString: bli_info_get_version_str()))",
                   gemmKernels: String(cString: bli_arch_string(id)),
                   gemmMicroKernelOptimized: kind == BLIS_OPTIMIZED_UKERNEL, gemmChoice: choice,
                   elementwiseKernels: level == 4 ? "x86-64-v4 (AVX-512)" : level == 3 ? "x86-64-v3 (AVX2+FMA)"
                       : level < 0 ? Backend.unclonedBuild : "baseline",
                   ownKernels: own)
}()

/// Configures BLIS from the CPU's features before its first call (see `Backend`). Cheap after
/// the first call: every entry to BLIS goes through here.
@inline(__always)
func ensureBackendConfigured() { _ = configuredBackend }

private extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

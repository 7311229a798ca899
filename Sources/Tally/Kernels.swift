internal import TallyKernels

/// The instruction-set level of the core's C kernels (counting and ranking rows), chosen
/// once from the CPU's features: "avx512", "avx2", "neon" or "baseline". The environment
/// variable `TALLY_KERNEL` (read once, before the first kernel call) may ask for a lower one.
public var kernelLevel: String { String(cString: tk_level_name()) }

#if canImport(Glibc)
import Glibc

/// For tests that run every level in one process: asks for level `name` ("baseline",
/// "avx2", "avx512"; nil for the CPU's best) from here on, as `TALLY_KERNEL` does at start
/// (a level the CPU lacks is never used). Returns the level now in use. Not thread-safe:
/// no kernel may run meanwhile.
@discardableResult
func chooseKernelLevel(_ name: String?) -> String {
    if let name { setenv("TALLY_KERNEL", name, 1) } else { unsetenv("TALLY_KERNEL") }
    tk_reset_level()
    return kernelLevel
}
#endif

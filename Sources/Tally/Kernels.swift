internal import TallyKernels

/// The instruction-set level of the core's C kernels (counting and ranking rows), chosen
/// once from the CPU's features: "avx512", "avx2", "neon" or "baseline". The environment
/// variable `TALLY_KERNEL` (read once, before the first kernel call) may ask for a lower one.
public var kernelLevel: String { String(cString: tk_level_name()) }

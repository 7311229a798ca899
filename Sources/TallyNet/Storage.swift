import Glibc
import CBLAS
internal import TallyThreads

/// An owned, fixed-size, zero-initialised run of floats, starting on a cache line.
///
/// Hot loops read `base` into a local and index the pointer: no array
/// uniqueness or exclusivity checks per element.
///
/// From 64 KiB a buffer is its own anonymous mapping: fresh zero pages that become resident
/// only when written (a workspace a model's passes never use costs no memory), and from 4 MiB
/// on a 2 MiB boundary with `MADV_HUGEPAGE`. calloc gave the same lazy zeros but started a large
/// buffer 16 bytes past a page (glibc's chunk header), so every 64-byte vector of the Dense
/// kernel and velocity straddled two cache lines; and on 4 KiB pages those 67–680 MB streams
/// miss the TLB every 64 lines, a two-level page walk in a VM. Paired runs of the 64×64
/// trainer bench: 1.18–1.25 ms per sample before, 1.13–1.23 after (huge pages and alignment
/// each gave part of it); 204×204: 11.8–12.3 → 11.5–12.3 ms, 21 MiB more peak RSS.
final class FloatBuffer {
    let count: Int
    let base: UnsafeMutablePointer<Float>
    /// Bytes of a buffer's own mapping (0 for one from `posix_memalign`), and where in it `base` lies.
    private let mappedBytes: Int, mappingOffset: Int

    /// `resident`: write the zeros now, for state that every step reads before it writes (an
    /// optimizer's slots): its pages then fault once, here, instead of twice in the first step
    /// (a read maps the shared zero page, the write then copies it and flushes the other CPUs' TLBs).
    init(count: Int, resident: Bool = false) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        if bytes >= FloatBuffer.mapThreshold, !FloatBuffer.underAddressSanitizer, let mapped = FloatBuffer.map(bytes) {
            base = (mapped.start + mapped.offset).bindMemory(to: Float.self, capacity: count)
            (mappingOffset, mappedBytes) = (mapped.offset, mapped.size)
        } else {
            var raw: UnsafeMutableRawPointer?
            guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
                fatalError("TallyNet: out of memory allocating \(count) floats")
            }
            memset(raw, 0, bytes)  // written now: `resident` needs nothing more
            base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
            (mappingOffset, mappedBytes) = (0, 0)
        }
        if resident && mappedBytes > 0 { base.update(repeating: 0, count: count) }
    }

    deinit {
        if mappedBytes > 0 { munmap(UnsafeMutableRawPointer(base) - mappingOffset, mappedBytes) } else { free(base) }
    }

    static let mapThreshold = 1 << 16
    /// Under AddressSanitizer every buffer comes from its allocator, which guards the bytes past
    /// the end (a mapping's page rounding would hide an overrun); zeros written at once there.
    static let underAddressSanitizer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil
    private static let hugePage = 1 << 21

    /// Fresh zero pages (resident only when written, as calloc's) on a page boundary, and from
    /// 4 MiB on a 2 MiB boundary with `MADV_HUGEPAGE`; nil where the mapping fails. Below 4 MiB
    /// the buffer starts `offset` bytes in, a whole number of cache lines below 4 KiB drawn from
    /// the mapping's address: buffers that all start on a page put streams that run in step (a
    /// Winograd block's V, its M and dU) on the same L1 sets, which slowed the dU products by a
    /// quarter on one thread in some runs (perf's sample counts). The large ones (the Dense
    /// kernel and velocity) start on their 2 MiB boundary: offsets there measured no better.
    private static func map(_ bytes: Int) -> (start: UnsafeMutableRawPointer, size: Int, offset: Int)? {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let huge = bytes >= 1 << 22
        let align = huge ? max(hugePage, page) : page
        let size = (bytes + (huge ? 0 : 4096) + align - 1) & ~(align - 1)
        let extra = align > page ? align : 0
        guard let raw = mmap(nil, size + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != MAP_FAILED else { return nil }
        guard huge else {
            // 37 is odd: successive 4 KiB pages give every line in turn.
            let line = Int(truncatingIfNeeded: (UInt(bitPattern: raw) >> 12) &* 37) & 63
            return (raw, size, line * 64)
        }
        let address = UInt(bitPattern: raw)
        let aligned = (address + UInt(align - 1)) & ~UInt(align - 1)
        let head = Int(aligned - address), tail = extra - head
        if head > 0 { munmap(raw, head) }
        let start = UnsafeMutableRawPointer(bitPattern: aligned)!
        if tail > 0 { munmap(start + size, tail) }
        madvise(start, size, MADV_HUGEPAGE)
        return (start, size, 0)
    }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }

    func zero() { base.update(repeating: 0, count: count) }
}

/// Where a layer writes the gradient of one parameter: `target = alpha * dL/dθ + beta * target`.
///
/// The optimizer chooses it before each backward pass, so that SGD with momentum
/// can accumulate straight into its velocity (one GEMM, no gradient buffer).
struct GradientTarget {
    var pointer: UnsafeMutablePointer<Float>
    var alpha: Float
    var beta: Float
}

/// A trainable tensor in Keras's layout, with its optimizer state.
final class Parameter {
    let name: String
    let shape: [Int]
    let value: FloatBuffer
    var constraint: KernelConstraint?
    /// Plain gradient storage, allocated only when some optimizer needs it.
    private(set) var gradient: FloatBuffer?
    /// Optimizer slots (velocity, or Adam's m and v).
    var slots: [FloatBuffer] = []
    var target: GradientTarget

    /// Set by a layer that runs `rowUpdate` itself, block by block, in its backward pass.
    var allowsRowUpdates = false
    /// The optimizer's update of this step, by rows, when `allowsRowUpdates`.
    var rowUpdate: RowUpdate?
    /// Set by a layer that honours `pendingScale` in its passes (Dense: y = (x·W)·diag(s)),
    /// so that the max-norm rescale needs no pass of its own over a large kernel.
    var allowsDeferredScale = false
    /// Whether the true value is `value` with each column j multiplied by `pendingScale[j]`.
    var hasPendingScale = false
    private var scaleBuffer: FloatBuffer?

    init(name: String, shape: [Int], constraint: KernelConstraint? = nil) {
        self.name = name
        self.shape = shape
        self.constraint = constraint
        value = FloatBuffer(count: shape.reduce(1, *))
        target = GradientTarget(pointer: value.base, alpha: 0, beta: 1) // no-op until an optimizer or test picks one
    }

    var count: Int { value.count }

    /// Makes layers write the raw gradient (`alpha = 1, beta = 0`) into `gradient`.
    @discardableResult
    func targetGradientBuffer() -> FloatBuffer {
        let g = gradient ?? FloatBuffer(count: count, resident: true)
        gradient = g
        target = GradientTarget(pointer: g.base, alpha: 1, beta: 0)
        return g
    }

    func releaseGradientBuffer() { gradient = nil }

    /// Per-column factors (`shape.last` of them) of the max-norm constraint.
    func pendingScaleBuffer() -> FloatBuffer {
        let b = scaleBuffer ?? FloatBuffer(count: shape.last ?? 1)
        scaleBuffer = b
        return b
    }

    /// The pending column factors, if any.
    var pendingScale: UnsafeMutablePointer<Float>? { hasPendingScale ? scaleBuffer?.base : nil }

    /// Multiplies the columns by the pending factors (or by the buffer's factors when
    /// `force`), so that `value` holds the true weights.
    func applyPendingScale(threads: Int, force: Bool = false) {
        guard hasPendingScale || force, let f = scaleBuffer?.base else { return }
        hasPendingScale = false
        let width = shape.last ?? 1, rows = count / max(width, 1), w = value.base
        forEachChunk(rows, threads: count > 1 << 16 ? threads : 1) { _, range in
            for r in range {
                let row = w + r &* width
                for j in 0..<width { row[j] *= f[j] }
            }
        }
    }
}

/// Thin wrappers over CBLAS (row-major everywhere).
enum BLAS {
    /// C = alpha * op(A) op(B) + beta * C, row-major.
    @inline(__always)
    static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                     alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int,
                     beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        ensureBackendConfigured()
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C = alpha * op(A) op(B) + beta * C with explicit row strides (unit column strides),
    /// through BLIS's typed API. Unlike CBLAS, a row stride may be smaller than the row
    /// length: the rows of A may overlap, so that the patches of a padded image are rows
    /// of A without copying them (`rowStrideA` = channels, `k` = kernel width × channels).
    @inline(__always)
    static func gemm(transA: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, rowStrideA: Int, b: UnsafePointer<Float>, rowStrideB: Int,
                     beta: Float = 0, c: UnsafeMutablePointer<Float>, rowStrideC: Int) {
        if m == 0 || n == 0 { return }
        ensureBackendConfigured()
        var alpha = alpha, beta = beta
        bli_sgemm(transA ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, dim_t(m), dim_t(n), dim_t(k),
                  &alpha, UnsafeMutablePointer(mutating: a), inc_t(rowStrideA), 1,
                  UnsafeMutablePointer(mutating: b), inc_t(rowStrideB), 1, &beta, c, inc_t(rowStrideC), 1)
    }

    /// Row-major C = alpha · op(A) op(B) + beta · C on one thread through `bli_sgemm_ex`,
    /// with BLIS's runtime options for this call: `packA`/`packB` make its small/skinny
    /// ("sup") path pack that operand; `sup: false` takes the conventional packed path.
    static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, mode: GemmMode) {
        if m == 0 || n == 0 { return }
        ensureBackendConfigured()
        var alpha = alpha, beta = beta
        var rntm = rntm_t()
        bli_rntm_init_from_global(&rntm)
        bli_rntm_set_num_threads(1, &rntm)
        bli_rntm_set_pack_a(mode.packA, &rntm)
        bli_rntm_set_pack_b(mode.packB, &rntm)
        bli_rntm_set_l3_sup(mode.sup, &rntm)
        bli_sgemm_ex(transA ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, transB ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
                     dim_t(m), dim_t(n), dim_t(k), &alpha, UnsafeMutablePointer(mutating: a), inc_t(lda), 1,
                     UnsafeMutablePointer(mutating: b), inc_t(ldb), 1, &beta, c, inc_t(ldc), 1, nil, &rntm)
    }

    /// BLIS runtime options for one GEMM (see `gemm(…, mode:)`).
    struct GemmMode {
        var packA = false, packB = false, sup = true
        /// Measured on the seed model's Dense (332928 → 512, batch 32, one thread per block run):
        /// forward X·W with W packed ≈ 10 % faster; dW = Xᵀ·dY with both packed ≈ 10 % faster;
        /// dX = dY·Wᵀ no better with any packing.
        static let packB = GemmMode(packB: true)
        static let packAB = GemmMode(packA: true, packB: true)
        /// BLIS's own choice of path, on this thread only (called from inside `forEachChunk`).
        static let singleThread = GemmMode()
    }

    /// Threads the next BLAS calls may use (BLIS's global setting).
    static func setThreads(_ n: Int) {
        ensureBackendConfigured()
        bli_thread_set_num_threads(dim_t(max(1, n)))
    }
}

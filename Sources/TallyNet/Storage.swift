import Glibc
import CBLAS
internal import TallyThreads

/// An owned, fixed-size, zero-initialised run of floats.
///
/// Hot loops read `base` into a local and index the pointer: no array
/// uniqueness or exclusivity checks per element.
final class FloatBuffer {
    let count: Int
    let base: UnsafeMutablePointer<Float>

    /// `resident`: write the zeros now, for state that every step reads before it writes (an
    /// optimizer's slots): its pages then fault once, here, instead of twice in the first step
    /// (a read maps the shared zero page, the write then copies it and flushes the other CPUs' TLBs).
    init(count: Int, resident: Bool = false) {
        self.count = count
        // calloc: a large buffer comes as fresh zero pages that become resident only when written,
        // so a workspace that a model's passes never use costs no memory.
        guard let raw = calloc(max(count, 1), MemoryLayout<Float>.stride) else {
            fatalError("TallyNet: out of memory allocating \(count) floats")
        }
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        if resident { base.update(repeating: 0, count: count) }
    }

    deinit { free(base) }

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

/// Keras `Dense` over flat inputs: `y = act(x W + b)`, W of shape (in, units).
final class Dense: ActivatedLayer {
    let name: String
    let inputShape: [Int]
    let outputShape: [Int]
    let units: Int
    var activation: Activation
    let kernel: Parameter
    let bias: Parameter?

    init(name: String, inputShape: [Int], units: Int, activation: Activation, useBias: Bool,
         constraint: KernelConstraint?) {
        self.name = name
        self.inputShape = inputShape
        self.units = units
        outputShape = [units]
        self.activation = activation
        kernel = Parameter(name: "\(name)/kernel", shape: [inputShape.reduce(1, *), units], constraint: constraint)
        bias = useBias ? Parameter(name: "\(name)/bias", shape: [units]) : nil
    }

    var kind: String { "Dense" }
    var parameters: [Parameter] { bias.map { [kernel, $0] } ?? [kernel] }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, context: RunContext) {
        let n = inputCount, u = units
        BLAS.setThreads(context.threads)
        BLAS.gemm(m: batch, n: u, k: n, a: x, lda: n, b: kernel.value.base, ldb: u, c: y, ldc: u)
        if let bias {
            let b = bias.value.base
            for r in 0..<batch {
                let row = y + r &* u
                for j in 0..<u { row[j] += b[j] }
            }
        }
        activation.apply(y, rows: batch, width: u)
    }

    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int, context: RunContext) {
        let n = inputCount, u = units
        activation.backward(y: y, dy: dy, rows: batch, width: u)
        BLAS.setThreads(context.threads)
        if let dx {
            BLAS.gemm(transB: true, m: batch, n: n, k: u, a: dy, lda: u, b: kernel.value.base, ldb: u, c: dx, ldc: n)
        }
        // dW = xᵀ dy, straight into the optimizer's target (e.g. the momentum buffer).
        let t = kernel.target
        BLAS.gemm(transA: true, m: n, n: u, k: batch, alpha: t.alpha, a: x, lda: n, b: dy, ldb: u,
                  beta: t.beta, c: t.pointer, ldc: u)
        if let bias {
            let bt = bias.target
            let p = bt.pointer
            for j in 0..<u {
                var s: Float = 0
                for r in 0..<batch { s += dy[r &* u &+ j] }
                p[j] = bt.beta == 0 ? bt.alpha * s : bt.alpha * s + bt.beta * p[j]
            }
        }
    }
}

/// Keras `Flatten`: the output is the input's memory.
final class Flatten: Layer {
    let name: String
    let inputShape: [Int]
    var outputShape: [Int] { [inputShape.reduce(1, *)] }
    init(name: String, inputShape: [Int]) {
        self.name = name
        self.inputShape = inputShape
    }
    var kind: String { "Flatten" }
    var parameters: [Parameter] { [] }
    var aliasesInput: Bool { true }
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, context: RunContext) {}
    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int, context: RunContext) {}
}

#if canImport(Glibc)
import Glibc
#endif
internal import TallyThreads

/// Activation functions, named as Keras names them.
public enum Activation: String, CaseIterable, Sendable {
    case linear, relu, sigmoid, softmax
}

/// Numerically stable logistic function.
@inline(__always)
func stableSigmoid(_ z: Float) -> Float {
    if z >= 0 { return 1 / (1 + expf(-z)) }
    let e = expf(z)
    return e / (1 + e)
}

extension Activation {
    /// Whether each output depends on its own input alone (all but softmax): what a layer needs
    /// to apply it, or its derivative, to any part of a tensor (a pooled value, a block of columns).
    var isElementWise: Bool { self != .softmax }

    /// Applies the activation in place to `rows` rows of `width` values
    /// (softmax normalises each row; the others are element-wise).
    func apply(_ p: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        let n = rows &* width
        switch self {
        case .linear:
            return
        case .relu:
            for i in 0..<n { p[i] = max(p[i], 0) }
        case .sigmoid:
            for i in 0..<n { p[i] = stableSigmoid(p[i]) }
        case .softmax:
            for r in 0..<rows {
                let row = p + r &* width
                var m = -Float.infinity
                for j in 0..<width { m = max(m, row[j]) }
                var s: Float = 0
                for j in 0..<width {
                    let e = expf(row[j] - m)
                    row[j] = e
                    s += e
                }
                let inv = 1 / s
                for j in 0..<width { row[j] *= inv }
            }
        }
    }

    /// Turns `dy` (gradient w.r.t. the activation's output `y`) into the
    /// gradient w.r.t. its input, in place.
    func backward(y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        let n = rows &* width
        switch self {
        case .linear:
            return
        case .relu:
            // Multiply by a 0/1 factor loaded first: a conditional select does not vectorise.
            for i in 0..<n {
                let keep: Float = y[i] > 0 ? 1 : 0
                dy[i] *= keep
            }
        case .sigmoid:
            for i in 0..<n { dy[i] *= y[i] * (1 - y[i]) }
        case .softmax:
            for r in 0..<rows {
                let o = r &* width
                var dot: Float = 0
                for j in 0..<width { dot += dy[o &+ j] * y[o &+ j] }
                for j in 0..<width { dy[o &+ j] = y[o &+ j] * (dy[o &+ j] - dot) }
            }
        }
    }
}

/// A stand-alone activation layer (Keras `Activation`).
final class ActivationLayer: ActivatedLayer {
    let name: String
    let inputShape: [Int]
    var outputShape: [Int] { inputShape }
    var activation: Activation
    var parameters: [Parameter] { [] }

    init(name: String, activation: Activation, inputShape: [Int]) {
        self.name = name
        self.activation = activation
        self.inputShape = inputShape
    }

    var kind: String { "Activation" }
    var backwardWorksInPlace: Bool { true }

    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, context: RunContext) {
        let width = inputShape.last ?? 1
        let perSample = inputShape.reduce(1, *)
        y.update(from: x, count: batch &* perSample)
        let activation = self.activation
        forEachChunk(batch, threads: context.threads) { _, range in
            activation.apply(y + range.lowerBound &* perSample, rows: range.count &* perSample / width, width: width)
        }
    }

    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, batch: Int, context: RunContext) {
        guard let dx else { return }
        let width = inputShape.last ?? 1
        let perSample = inputShape.reduce(1, *)
        let activation = self.activation
        forEachChunk(batch, threads: context.threads) { _, range in
            let o = range.lowerBound &* perSample
            activation.backward(y: y + o, dy: dy + o, rows: range.count &* perSample / width, width: width)
        }
        if dx != dy { dx.update(from: dy, count: batch &* perSample) }
    }
}

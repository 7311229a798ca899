import Tally
internal import TallyNetKernels

extension Sequential {
    /// Keras-style names of the weight arrays, in `get_weights()` order
    /// (`conv2d/kernel`, `conv2d/bias`, ...).
    public var weightNames: [String] { parameters.map(\.name) }

    /// Shapes of the weight arrays in Keras's layout: Conv2D kernel `(kh, kw, cin, cout)`,
    /// Dense kernel `(in, units)`, biases `(units,)`.
    public var weightShapes: [[Int]] { parameters.map(\.shape) }

    /// Total number of trainable values.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Copies of the weight arrays, in Keras's `get_weights()` order and layout.
    public func weights() -> [[Float]] {
        materializeWeights()
        return parameters.map { Array($0.value.buffer) }
    }

    /// Applies pending max-norm factors, so that every `value` holds the true weights.
    func materializeWeights() {
        for p in parameters { p.applyPendingScale(threads: threadCount) }
    }

    /// Replaces every weight array (Keras's `set_weights`). Optimizer state is kept.
    ///
    /// - Throws: `TallyError.invalidValue` when the count or a size does not match, or a
    ///   value is not finite; nothing is changed then.
    public func setWeights(_ arrays: [[Float]]) throws {
        try withUnsafeBufferPointers(arrays) { try setWeights($0) }
    }

    /// `setWeights(_:)` from buffers the caller owns (a bridge's numpy arrays).
    public func setWeights(_ arrays: [UnsafeBufferPointer<Float>]) throws {
        let params = parameters
        guard arrays.count == params.count else {
            throw TallyError.invalidValue("Expected \(params.count) weight arrays, but got \(arrays.count)")
        }
        try checkArrays(arrays, names: params.map(\.name), shapes: params.map(\.shape)) { "weights[\($0)]" }
        for (p, a) in zip(params, arrays) {
            p.hasPendingScale = false
            p.value.base.update(from: a.baseAddress!, count: p.count)
        }
    }

    /// Calls `body` with weight array `index` in place (read or write, no copy), for a
    /// bridge that fills or exposes numpy arrays directly.
    public func withUnsafeMutableWeights<R>(at index: Int,
                                            _ body: (UnsafeMutableBufferPointer<Float>) throws -> R) throws -> R {
        let params = parameters
        guard params.indices.contains(index) else {
            throw TallyError.invalidValue("Expected a weight index in 0..<\(params.count), but got \(index)")
        }
        params[index].applyPendingScale(threads: threadCount)
        return try body(params[index].value.buffer)
    }

    /// A Keras-like table of the layers, their output shapes and parameter counts.
    public func summary() -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        var lines = ["Model: \"sequential\"", pad("Layer (type)", 30) + pad("Output Shape", 26) + pad("Param #", 16) + "Algorithm"]
        for (i, layer) in layers.enumerated() {
            var kind = layer.kind
            if i == layers.count - 1, outputActivation != .linear { kind += ", \(outputActivation.rawValue)" }
            let shape = "(None, " + layer.outputShape.map(String.init).joined(separator: ", ") + ")"
            var line = pad("\(layer.name) (\(kind))", 30) + pad(shape, 26) + String(layer.parameters.reduce(0) { $0 + $1.count })
            if let conv = layer as? Conv2D { line = pad(line, 72) + conv.algorithm }
            lines.append(line)
        }
        lines.append("Total params: \(parameterCount)")
        lines.append("Threads: \(threadCount)")
        lines.append(contentsOf: Backend.current.description.split(separator: "\n").map(String.init))
        return lines.joined(separator: "\n")
    }
}

/// The index of the first value of `values` that is not finite (nan or ±inf), or nil: the one
/// check of float32 inputs (samples, weight and optimizer arrays), in C vectors
/// (`tk_first_nonfinite`: 2.0 ms over 62 MB, against 5.5 for a Swift `firstIndex` loop).
func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
    guard let base = values.baseAddress else { return nil }
    let i = tk_first_nonfinite(base, values.count)
    return i >= 0 ? i : nil
}

/// Checks that array k holds `shapes[k]`'s number of values, all finite; the messages name it
/// as `label(k)` and `names[k]`. Setters call it on every array before they change anything.
func checkArrays(_ arrays: [UnsafeBufferPointer<Float>], names: [String], shapes: [[Int]],
                 label: (Int) -> String) throws {
    for (k, a) in arrays.enumerated() {
        let count = shapes[k].reduce(1, *)
        guard a.count == count else {
            throw TallyError.invalidValue("Expected \(label(k)) (\(names[k]), shape \(shapeText(shapes[k]))) to have \(count) values, but got \(a.count)")
        }
        if let i = firstNonFinite(a) {
            throw TallyError.invalidValue("Expected \(label(k)) (\(names[k])) to hold finite numbers, but got \(a[i]) at \(i)")
        }
    }
}

/// Padding of a convolution or pooling window, as Keras names it.
public enum Padding: String, Sendable {
    /// No padding: `out = (in - kernel) / stride + 1` (floor).
    case valid
    /// Zero padding (or ignored cells, for pooling) so that `out = ceil(in / stride)`;
    /// the odd cell goes at the bottom/right, as in TensorFlow.
    case same
}

/// A kernel constraint applied after each optimizer update.
public enum KernelConstraint: Equatable, Sendable {
    /// Keras `MaxNorm(maxValue, axis)`: `w *= clip(norm, 0, maxValue) / (1e-7 + norm)`,
    /// norms taken over `axes` of the kernel. `axes: nil` means all axes but the last
    /// (one norm per output unit or filter; Keras's `axis=0` for Dense, `[0, 1, 2]`
    /// for Conv2D). Keras's own default `axis=0` on a Conv2D kernel is `axes: [0]`.
    case maxNorm(Float, axes: [Int]? = nil)
}

/// One layer of a `Sequential` model, mirroring the Keras constructor arguments.
///
/// ```swift
/// let layers: [LayerSpec] = [
///     .conv2D(filters: 32, kernelSize: (3, 3), padding: .same, activation: .relu, kernelConstraint: .maxNorm(3)),
///     .dropout(rate: 0.2),
///     .maxPooling2D(poolSize: (2, 2)),
///     .flatten,
///     .dense(units: 39, activation: .sigmoid),
/// ]
/// ```
public enum LayerSpec: Sendable {
    /// Keras `Conv2D` (NHWC, kernel `(kh, kw, cin, filters)`, Glorot-uniform kernel, zero bias).
    case conv2D(filters: Int, kernelSize: (Int, Int), strides: (Int, Int) = (1, 1), padding: Padding = .valid,
                activation: Activation = .linear, useBias: Bool = true, kernelConstraint: KernelConstraint? = nil)
    /// Keras `MaxPooling2D`; `strides: nil` means `poolSize`.
    case maxPooling2D(poolSize: (Int, Int) = (2, 2), strides: (Int, Int)? = nil, padding: Padding = .valid)
    /// Keras `Dropout`: inverted dropout, active only in training.
    case dropout(rate: Float)
    /// Keras `Flatten` (free: the next layer reads the same memory).
    case flatten
    /// Keras `Dense` on a flat input (kernel `(in, units)`, Glorot-uniform kernel, zero bias).
    case dense(units: Int, activation: Activation = .linear, useBias: Bool = true,
               kernelConstraint: KernelConstraint? = nil)
    /// Keras `Activation`.
    case activation(Activation)
}

/// A loss, as Keras names it; the mean over labels and samples.
public enum Loss: Sendable, Equatable {
    /// Keras `binary_crossentropy`. With `fromLogits: false` the last layer must end in
    /// a sigmoid, which is fused into the loss (computed from the logits: stable).
    /// Targets may be soft (any value in [0, 1]); `labelSmoothing` (in [0, 1]) trains on
    /// `y · (1 - s) + 0.5 · s`, as Keras's `BinaryCrossentropy(label_smoothing=s)`.
    case binaryCrossentropy(fromLogits: Bool = false, labelSmoothing: Float = 0)
    /// Keras `categorical_crossentropy` over one-hot (or soft) rows; with `fromLogits: false`
    /// the last layer must end in a softmax, which is fused into the loss. `labelSmoothing`
    /// trains on `y · (1 - s) + s / classes`, as Keras's.
    case categoricalCrossentropy(fromLogits: Bool = false, labelSmoothing: Float = 0)

    /// The label smoothing factor of either loss.
    var labelSmoothing: Float {
        switch self {
        case .binaryCrossentropy(_, let s), .categoricalCrossentropy(_, let s): return s
        }
    }
}

/// An optimizer, with Keras's arguments and update rules.
public enum OptimizerSpec: Sendable, Equatable {
    /// Keras `SGD`: `v = momentum * v - lr_t * g; w += v` (nesterov: `w += momentum * v - lr_t * g`),
    /// with legacy time-based decay `lr_t = lr / (1 + decay * iterations)`.
    case sgd(learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false, decay: Float = 0)
    /// Keras 3 `Adam` (bias correction folded into the step size, epsilon outside the root),
    /// with the same optional time-based decay of the learning rate.
    case adam(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999,
              epsilon: Float = 1e-7, decay: Float = 0)
}

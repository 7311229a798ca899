import Tally
internal import TallyThreads

/// A stack of layers trained with one loss and one optimizer, as Keras `Sequential`.
///
/// ```swift
/// let model = try Sequential(inputShape: [64, 64, 3], layers: [
///     .conv2D(filters: 32, kernelSize: (3, 3), padding: .same, activation: .relu, kernelConstraint: .maxNorm(3)),
///     .maxPooling2D(),
///     .flatten,
///     .dense(units: 39, activation: .sigmoid),
/// ], seed: 1)
/// try model.compile(optimizer: .sgd(learningRate: 0.01, momentum: 0.9), loss: .binaryCrossentropy())
/// let history = try model.fit(LabeledData(x: xs, shape: [n, 64, 64, 3], y: ys), epochs: 5, batchSize: 32)
/// ```
///
/// The object is not thread-safe: call one method at a time (the Python bridge holds
/// a lock). Internally `fit`, `evaluate` and `predict` use `threadCount` threads.
public final class Sequential {
    /// The shape of one input sample, e.g. `[204, 204, 3]` (NHWC without N).
    public let inputShape: [Int]
    /// The shape of one output sample, e.g. `[39]`.
    public var outputShape: [Int] { layers.last?.outputShape ?? inputShape }
    /// Threads for per-sample work and dense GEMMs (default: the online processors).
    /// Results are deterministic for a given seed and thread count.
    public var threadCount: Int {
        didSet { threadCount = max(1, threadCount) }
    }

    /// Whether 3×3 convolutions that qualify run as Winograd F(4×4, 3×3) (default `true`):
    /// a quarter of the multiplies of a direct convolution, results within ≈ 5e-6 of a tensor's
    /// largest value of the direct path's. `false` makes every convolution direct (shifted-row
    /// or im2col GEMMs), e.g. to compare with another framework's direct convolution.
    public var allowsWinograd = true {
        didSet {
            for case let conv as Conv2D in layers { conv.usesWinograd = allowsWinograd && conv.winogradEligible }
        }
    }

    let layers: [Layer]
    /// The last layer's sigmoid/softmax, taken out of the layer and fused into the
    /// loss (training) or applied to the logits (`predict`).
    let outputActivation: Activation
    private(set) var optimizer: Optimizer?
    private(set) var loss: Loss?

    // Preallocated per batch capacity (see `reserve(batchSize:)`).
    private var capacity = 0
    private var inputBatch = FloatBuffer(count: 0)
    private var outputs: [FloatBuffer?] = []
    private var gradientA = FloatBuffer(count: 0)
    private var backwardSteps: [(layer: Int, dy: GradientSlot, dx: GradientSlot?)] = []
    /// The bottom layers that backpropagate sample by sample (`0...top`), with their dy slot.
    private var sampleSegment: (top: Int, dy: GradientSlot)?
    /// Two per-thread gradient buffers of one sample each, for the sample-by-sample layers.
    private var sampleGradients: [(FloatBuffer, FloatBuffer)] = []
    /// The layers whose outputs have no batch buffer (see `recomputedLayers`), and per thread
    /// one sample's values for each of their buffers, by owning layer.
    private var recomputed: Set<Int> = []
    /// Per layer, the layer whose buffer holds its output (see `outputOwners`).
    private var owners: [Int?] = []
    private var sampleValues: [[Int: FloatBuffer]] = []
    /// Whether the layers under the top of the sample-by-sample run keep no batch-wide output and
    /// are computed again in the backward pass (tests compare both ways).
    var recomputesSampleValues = true {
        didSet { capacity = 0 }
    }
    /// Whether a Dense layer on top of the sample-by-sample run writes dX over its input (see
    /// `denseGradientTarget`; tests compare both ways).
    var writesDenseGradientOverInput = true {
        didSet { capacity = 0 }
    }
    private var gradientB = FloatBuffer(count: 0)
    /// Lets layers overwrite their input where that is exact (tests compare both ways).
    var allowsInPlace = true {
        didSet { capacity = 0 }
    }
    var targetBatch = FloatBuffer(count: 0)
    /// The 0/1 labels that soft targets stand for (`y >= 0.5`), for the exact counts.
    var truthBatch = FloatBuffer(count: 0)
    var probabilityBatch = FloatBuffer(count: 0)

    /// Builds the layers with Glorot-uniform kernels and zero biases.
    ///
    /// - Parameters:
    ///   - inputShape: one sample's shape: `[height, width, channels]` or `[features]`.
    ///   - layers: the layer specifications, in order.
    ///   - seed: seeds the initial weights (and each Dropout layer's stream).
    /// - Throws: `TallyError.invalidValue` for an impossible stack (a window larger than
    ///   its input, a Dense on an unflattened input, a rate outside [0, 1), ...).
    public init(inputShape: [Int], layers specs: [LayerSpec], seed: UInt64 = 0) throws {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw TallyError.invalidValue("Expected `input_shape` to be positive sizes, but got \(shapeText(inputShape))")
        }
        self.inputShape = inputShape
        threadCount = coreProcessorCount()
        var built: [Layer] = []
        var shape = inputShape
        var nameCounts: [String: Int] = [:]
        func nextName(_ base: String) -> String {
            let k = nameCounts[base, default: 0]
            nameCounts[base] = k + 1
            return k == 0 ? base : "\(base)_\(k)"
        }
        for (index, spec) in specs.enumerated() {
            let layer = try Sequential.makeLayer(spec, inputShape: shape, index: index, seed: seed, name: nextName)
            built.append(layer)
            shape = layer.outputShape
        }
        var activation = Activation.linear
        if let last = built.last as? ActivatedLayer, last.activation == .softmax, last.outputShape.count > 1 {
            // The final activation is fused into the loss over each sample's whole output; Keras's
            // softmax runs over the last axis alone (per pixel), so that would be a different model.
            throw TallyError.invalidValue("Expected a 1-D output for a final softmax (flatten first: TallyNet fuses the last softmax into the loss over the whole output, Keras applies it per pixel), but got output shape \(shapeText(last.outputShape))")
        }
        if let last = built.last as? ActivatedLayer, last.activation == .sigmoid || last.activation == .softmax {
            activation = last.activation
            last.activation = .linear
        }
        outputActivation = activation
        self.layers = built
        initializeWeights(seed: seed)
    }

    static func makeLayer(_ spec: LayerSpec, inputShape shape: [Int], index: Int, seed: UInt64,
                          name: (String) -> String) throws -> Layer {
        func positive(_ values: [Int], _ what: String) throws {
            guard values.allSatisfy({ $0 > 0 }) else {
                throw TallyError.invalidValue("Expected `\(what)` to be positive, but got \(values.map(String.init).joined(separator: ", "))")
            }
        }
        func image(_ kind: String) throws {
            guard shape.count == 3 else {
                throw TallyError.invalidValue("Expected the input of \(kind) (layer \(index)) to be (height, width, channels), but got \(shapeText(shape))")
            }
        }
        func window(_ kind: String, _ k: (Int, Int), _ s: (Int, Int), _ padding: Padding) throws {
            let h = windowGeometry(input: shape[0], kernel: k.0, stride: s.0, padding: padding).output
            let w = windowGeometry(input: shape[1], kernel: k.1, stride: s.1, padding: padding).output
            guard h > 0 && w > 0 else {
                throw TallyError.invalidValue("Expected the \(k.0)×\(k.1) window of \(kind) (layer \(index)) to fit its input \(shapeText(shape)), but got an empty output")
            }
        }
        func constraint(_ c: KernelConstraint?, rank: Int) throws {
            guard case .maxNorm(let v, let axes)? = c else { return }
            guard v >= 0 else { throw TallyError.invalidValue("Expected `max_value` of max_norm to be >= 0, but got \(v)") }
            if let axes, axes.contains(where: { $0 < 0 || $0 >= rank }) || Set(axes).count != axes.count {
                throw TallyError.invalidValue("Expected the max_norm axes to be distinct axes of a rank-\(rank) kernel, but got \(axes)")
            }
        }
        switch spec {
        case let .conv2D(filters, kernelSize, strides, padding, activation, useBias, kernelConstraint):
            try image("Conv2D")
            try positive([filters, kernelSize.0, kernelSize.1, strides.0, strides.1], "filters, kernel_size and strides")
            try window("Conv2D", kernelSize, strides, padding)
            try constraint(kernelConstraint, rank: 4)
            return Conv2D(name: name("conv2d"), inputShape: shape, filters: filters, kernelSize: kernelSize,
                          strides: strides, padding: padding, activation: activation, useBias: useBias,
                          constraint: kernelConstraint)
        case let .maxPooling2D(poolSize, strides, padding):
            try image("MaxPooling2D")
            let s = strides ?? poolSize
            try positive([poolSize.0, poolSize.1, s.0, s.1], "pool_size and strides")
            try window("MaxPooling2D", poolSize, s, padding)
            return MaxPooling2D(name: name("max_pooling2d"), inputShape: shape, poolSize: poolSize, strides: s, padding: padding)
        case .dropout(let rate):
            guard rate >= 0 && rate < 1 else {
                throw TallyError.invalidValue("Expected the Dropout `rate` to be in [0, 1), but got \(rate)")
            }
            return Dropout(name: name("dropout"), inputShape: shape, rate: rate,
                           layerSeed: SplitMix64.mix(seed, 0xD0, UInt64(index)))
        case .flatten:
            return Flatten(name: name("flatten"), inputShape: shape)
        case let .dense(units, activation, useBias, kernelConstraint):
            try positive([units], "units")
            guard shape.count == 1 else {
                throw TallyError.invalidValue("Expected the input of Dense (layer \(index)) to be flat (add .flatten before it), but got \(shapeText(shape))")
            }
            try constraint(kernelConstraint, rank: 2)
            return Dense(name: name("dense"), inputShape: shape, units: units, activation: activation,
                         useBias: useBias, constraint: kernelConstraint)
        case .activation(let activation):
            return ActivationLayer(name: name("activation"), activation: activation, inputShape: shape)
        }
    }

    /// Glorot-uniform kernels (Keras's fans: receptive field × channels) and zero biases.
    func initializeWeights(seed: UInt64) {
        for (index, layer) in layers.enumerated() {
            for (k, p) in layer.parameters.enumerated() {
                let w = p.value.base
                guard p.shape.count >= 2 else { p.value.zero(); continue }
                let receptive = p.shape.dropLast(2).reduce(1, *)
                let fanIn = p.shape[p.shape.count - 2] * receptive, fanOut = p.shape[p.shape.count - 1] * receptive
                let limit = (6 / Float(fanIn + fanOut)).squareRoot()
                var g = SplitMix64(seed: SplitMix64.mix(seed, 0x61, UInt64(index), UInt64(k)))
                for i in 0..<p.count { w[i] = (2 * g.nextUnitFloat() - 1) * limit }
            }
        }
    }

    var parameters: [Parameter] { layers.flatMap(\.parameters) }

    /// Chooses the loss and a fresh optimizer (state and `iterations` reset).
    ///
    /// - Throws: `TallyError.invalidValue` when the loss does not match the last
    ///   layer's activation (e.g. `binaryCrossentropy()` needs a final sigmoid).
    public func compile(optimizer spec: OptimizerSpec, loss: Loss) throws {
        let smoothing = loss.labelSmoothing
        guard smoothing.isFinite, smoothing >= 0, smoothing <= 1 else {
            throw TallyError.invalidValue("Expected `label_smoothing` to be a number in [0, 1], but got \(smoothing)")
        }
        switch loss {
        case .binaryCrossentropy(let fromLogits, _):
            let expected: Activation = fromLogits ? .linear : .sigmoid
            guard outputActivation == expected else {
                throw TallyError.invalidValue("Expected the last layer's activation to be '\(expected.rawValue)' for binary_crossentropy(from_logits=\(fromLogits)), but got '\(outputActivation.rawValue)'")
            }
        case .categoricalCrossentropy(let fromLogits, _):
            let expected: Activation = fromLogits ? .linear : .softmax
            guard outputActivation == expected else {
                throw TallyError.invalidValue("Expected the last layer's activation to be '\(expected.rawValue)' for categorical_crossentropy(from_logits=\(fromLogits)), but got '\(outputActivation.rawValue)'")
            }
        }
        switch spec {
        case .sgd(let lr, let momentum, _, let decay):
            guard lr >= 0, momentum >= 0, decay >= 0 else {
                throw TallyError.invalidValue("Expected SGD's learning_rate, momentum and decay to be >= 0, but got \(lr), \(momentum), \(decay)")
            }
        case .adam(let lr, let b1, let b2, let eps, let decay):
            guard lr >= 0, (0..<1).contains(b1), (0..<1).contains(b2), eps >= 0, decay >= 0 else {
                throw TallyError.invalidValue("Expected Adam's learning_rate, epsilon, decay >= 0 and beta_1, beta_2 in [0, 1), but got \(lr), \(eps), \(decay), \(b1), \(b2)")
            }
        }
        self.loss = loss
        materializeWeights()
        optimizer = Optimizer(spec: spec, parameters: parameters)
    }

    /// Optimizer updates done since `compile` (Keras's `optimizer.iterations`).
    public var iterations: Int { optimizer?.iterations ?? 0 }

    /// The learning rate of the next update, after decay.
    public var learningRate: Float? { optimizer?.currentLearningRate }

    // MARK: Buffers and passes

    /// Allocates every activation, gradient and workspace for batches of up to
    /// `batchSize` samples, once; smaller batches reuse them.
    func reserve(batchSize: Int) {
        for layer in layers { layer.reserve(threads: threadCount) }
        defer { reserveSampleGradients() }
        guard batchSize > capacity else { return }
        capacity = batchSize
        owners = outputOwners(batchSize: batchSize)
        recomputed = recomputedLayers(owners: owners)
        // With recomputed values, the run's bottom layer reads each sample where it is: no gathered batch.
        inputBatch = FloatBuffer(count: recomputed.isEmpty ? batchSize * inputShape.reduce(1, *) : 0)
        outputs = []
        for (i, owner) in owners.enumerated() {
            if let owner, !recomputed.contains(i) {
                outputs.append(owner == i ? FloatBuffer(count: batchSize * storedOutputCount(layers[i])) : outputs[owner])
            } else {
                outputs.append(nil)
            }
        }
        sampleValues = []
        // Each gradient buffer is as wide as the widest gradient the plan puts in it.
        var widths = [outputShape.reduce(1, *), 0]
        (backwardSteps, sampleSegment) = backwardPlan()
        // A Dense layer that writes dX over its input applies the activation below it.
        for layer in layers {
            (layer as? Dense)?.inputActivation = nil
            (layer as? Conv2D)?.gradientIncludesActivation = false
        }
        for step in backwardSteps {
            guard case .output(let j)? = step.dx, let dense = layers[step.layer] as? Dense, let owner = owners[j],
                  let conv = layers[owner] as? Conv2D else { continue }
            dense.inputActivation = conv.activation
            conv.gradientIncludesActivation = true
        }
        sampleGradients = []
        for step in backwardSteps {
            // In place (dx is dy): nothing new (a fused pooling passes its pooled gradient through).
            if case .buffer(let k)? = step.dx, step.dx != step.dy { widths[k] = max(widths[k], layers[step.layer].inputCount) }
        }
        gradientA = FloatBuffer(count: batchSize * widths[0])
        gradientB = FloatBuffer(count: batchSize * widths[1])
        targetBatch = FloatBuffer(count: batchSize * outputShape.reduce(1, *))
        truthBatch = FloatBuffer(count: batchSize * outputShape.reduce(1, *))
        probabilityBatch = FloatBuffer(count: batchSize * outputShape.reduce(1, *))
    }

    /// For each layer, the layer whose batch buffer holds its output: its own index, an earlier
    /// layer's (a fused pooling writes into its convolution's pooled buffer, an in-place
    /// dropout into its input), or nil (Flatten: the input itself). Sets the layers' fusion
    /// flags (`Conv2D.fusedPool`, `MaxPooling2D.fusedIntoConvolution`, `Dropout.backwardFromOutput`,
    /// `Dropout.foldedIntoConvolution` with `Conv2D.foldedDropout`).
    private func outputOwners(batchSize: Int) -> [Int?] {
        var owners: [Int?] = []
        for (i, layer) in layers.enumerated() {
            let pool = i > 0 ? layer as? MaxPooling2D : nil
            pool?.fusedIntoConvolution = false
            (layer as? Conv2D)?.foldedDropout = nil
            (layer as? Dropout)?.foldedIntoConvolution = false
            if let pool, let conv = layers[i - 1] as? Conv2D, conv.fusedPool === pool, let shared = owners[i - 1] {
                owners.append(shared)
                pool.fusedIntoConvolution = true
            } else if layer.aliasesInput {
                owners.append(nil)
            } else if let conv = layer as? Conv2D, let pool = fusablePool(after: i) {
                // The convolution pools as it goes: its output buffer is the pooled one.
                conv.fusedPool = pool
                conv.reserveFusedPool(batch: batchSize)
                owners.append(i)
            } else if runsInPlace(i), let previous = owners[i - 1] {
                owners.append(previous)
                if let dropout = layer as? Dropout {
                    dropout.backwardFromOutput = (layers[i - 1] as? ActivatedLayer)?.activation == .relu
                    // A shifted-row relu convolution right below applies this dropout as it stores
                    // its output and, backward, with relu's derivative (both read the shared output).
                    if dropout.backwardFromOutput, let conv = layers[i - 1] as? Conv2D, conv.usesShiftedRows,
                       conv.fusedPool == nil {
                        conv.foldedDropout = dropout
                        dropout.foldedIntoConvolution = true
                    }
                }
            } else {
                owners.append(i)
                (layer as? Dropout)?.backwardFromOutput = false
                (layer as? Conv2D)?.fusedPool = nil
            }
        }
        return owners
    }

    /// The layers under the top of the sample-by-sample run whose outputs need no batch
    /// buffer (`Layer.forwardsBySample`): the forward pass carries each sample through the whole
    /// run, and the backward pass computes those values again for the sample it backpropagates.
    /// Saves the largest activation of the seed model (its first convolution's output: 170 MB at
    /// 204×204, batch 32) for one more pass of that convolution.
    private func recomputedLayers(owners: [Int?]) -> Set<Int> {
        guard recomputesSampleValues, let top = sampleSegmentTop(), let kept = owners[top],
              layers[...top].allSatisfy({ $0.aliasesInput || $0.forwardsBySample }) else { return [] }
        return Set((0..<top).filter { owners[$0].map { $0 != kept } ?? false })
    }

    /// The max-pooling after convolution `i` if the convolution can pool its own output
    /// while it is in cache: the shifted-row path, an element-wise activation, and windows
    /// that tile the image. Saves the convolution's full-size output buffer (170 MB for the
    /// seed model at 204×204, batch 32) and the pooling passes over it.
    func fusablePool(after i: Int) -> MaxPooling2D? {
        guard allowsInPlace, i + 1 < layers.count, let conv = layers[i] as? Conv2D, conv.usesShiftedRows,
              conv.activation.isElementWise, let pool = layers[i + 1] as? MaxPooling2D, pool.tilesInput else { return nil }
        return pool
    }

    /// Whether layer `i` overwrites its input instead of writing a buffer of its own.
    ///
    /// A Dropout after a relu or linear layer does: that layer's backward reads its
    /// output only for the sign (relu) or not at all, the masked values have the same
    /// sign where they are kept, and where they are dropped the gradient is zero anyway.
    /// Saves one activation buffer (170 MB for the seed model at 204×204, batch 32).
    func runsInPlace(_ i: Int) -> Bool {
        guard allowsInPlace, i > 0, layers[i] is Dropout, let previous = layers[i - 1] as? ActivatedLayer,
              !previous.aliasesInput else { return false }
        return previous.activation == .relu || previous.activation == .linear
    }

    var inputBatchPointer: UnsafeMutablePointer<Float> { inputBatch.base }
    /// Whether the passes can read a batch's samples in place, as rows of a larger array
    /// (`forwardPass(_:batch:context:rows:)`): the bottom layers run sample by sample and keep
    /// no batch buffer, so nothing needs the batch contiguous.
    var readsInputRows: Bool { !recomputed.isEmpty }
    /// The layers whose outputs are computed again in the backward pass (for tests).
    var recomputedLayerIndices: Set<Int> { recomputed }
    /// Whether layer `i` has a batch-wide output buffer of its own or shared (for tests).
    func hasBatchOutput(_ i: Int) -> Bool { outputs.indices.contains(i) && outputs[i] != nil }

    /// Runs every layer on `batch` samples at `x`; returns the logits (before
    /// `outputActivation`). The pointer stays valid until the next pass.
    /// With `rows` (only where `readsInputRows`), sample s of the batch is row `rows[s]` of `x`.
    func forwardPass(_ x: UnsafePointer<Float>, batch: Int, context: RunContext,
                     rows: UnsafePointer<Int>? = nil) -> UnsafeMutablePointer<Float> {
        precondition(rows == nil || readsInputRows, "this model reads its batch contiguous")
        var current = UnsafeMutablePointer(mutating: x)
        var first = 0
        if !recomputed.isEmpty, let plan = sampleSegmentPlan(x, rows: rows) {
            // The bottom run sample by sample: only its top writes a batch buffer.
            for i in plan.chain { layers[i].beginSampleForward(threads: context.threads) }
            forEachChunk(batch, threads: context.threads) { t, samples in
                for s in samples { plan.forward(sample: s, thread: t, layers: plan.chain.count, context: context) }
            }
            current = outputs[plan.top]!.base
            first = plan.top + 1
        }
        for i in first..<layers.count {
            guard let out = outputs[i] else { continue }
            layers[i].forward(current, out.base, batch: batch, context: context)
            current = out.base
        }
        return current
    }

    /// The buffer the loss writes its gradient into (logits' shape).
    var outputGradientPointer: UnsafeMutablePointer<Float> { gradientA.base }

    /// Backpropagates from `outputGradientPointer`; each layer writes its parameters'
    /// gradients to their targets.
    /// Where a gradient lives during the backward pass.
    enum GradientSlot: Equatable {
        /// Gradient buffer A (0, where the loss writes) or B (1).
        case buffer(Int)
        /// The output buffer of layer i, dead once that layer's backward has read it.
        case output(Int)
    }

    /// For each layer that runs backward, from the last: where its `dy` is and where its
    /// `dx` goes (nil: no layer below has parameters). An element-wise layer writes `dx`
    /// over `dy`; a layer that reads each sample's output before writing that sample's
    /// input gradient (the shifted-row convolution) writes it over its own output; the
    /// others write to the gradient buffer that does not hold `dy`. So the seed model needs
    /// one gradient buffer of the widest activation instead of two.
    func gradientPlan() -> [(layer: Int, dy: GradientSlot, dx: GradientSlot?)] { backwardPlan().steps }

    /// Two one-sample gradient buffers per thread for the sample-by-sample layers (also after
    /// `threadCount` grew).
    private func reserveSampleGradients() {
        guard let top = sampleSegment?.top else { return }
        let width = layers[...top].reduce(0) { max($0, $1.inputCount, storedOutputCount($1)) }
        while sampleGradients.count < threadCount {
            sampleGradients.append((FloatBuffer(count: width), FloatBuffer(count: width)))
        }
        // One sample's values per recomputed buffer (an in-place dropout or a fused pooling
        // shares its layer's), by the layer that owns it.
        let owned = Set(recomputed.compactMap { owners[$0] })
        while sampleValues.count < threadCount {
            sampleValues.append(Dictionary(uniqueKeysWithValues: owned.map { ($0, FloatBuffer(count: storedOutputCount(layers[$0]))) }))
        }
    }

    /// Values per sample in a layer's output buffer (pooled, for a convolution that pools).
    func storedOutputCount(_ layer: Layer) -> Int {
        (layer as? Conv2D)?.fusedPool?.outputCount ?? layer.outputCount
    }

    /// The batch-wise steps (`gradientPlan`) and, when the bottom layers can all run backward
    /// one sample at a time (`Layer.backwardsBySample`; Flatten aside), the top of that run
    /// and where its dy is: those layers then backpropagate sample by sample with per-thread
    /// buffers — no batch-wide gradient of the widest activation at all.
    func backwardPlan() -> (steps: [(layer: Int, dy: GradientSlot, dx: GradientSlot?)], segment: (top: Int, dy: GradientSlot)?) {
        let top = sampleSegmentTop() ?? -1
        let steps = batchPlan(above: top)
        guard top >= 0 else { return (steps, nil) }
        return (steps, (top, steps.last.flatMap { $0.dx } ?? .buffer(0)))
    }

    /// The top of the bottom run of layers that can backpropagate sample by sample (Flatten
    /// aside), or nil.
    func sampleSegmentTop() -> Int? {
        var top = -1
        while allowsInPlace, top + 1 < layers.count, layers[top + 1].aliasesInput || layers[top + 1].backwardsBySample { top += 1 }
        while top >= 0 && layers[top].aliasesInput { top -= 1 }
        return top >= 0 ? top : nil
    }

    private func batchPlan(above bottom: Int) -> [(layer: Int, dy: GradientSlot, dx: GradientSlot?)] {
        var plan: [(layer: Int, dy: GradientSlot, dx: GradientSlot?)] = []
        var dy = GradientSlot.buffer(0)
        var hasParametersBelow = layers.map { _ in false }
        for i in layers.indices.dropFirst() {
            hasParametersBelow[i] = hasParametersBelow[i - 1] || !layers[i - 1].parameters.isEmpty
        }
        for i in layers.indices.reversed() where !layers[i].aliasesInput && i > bottom {
            let layer = layers[i]
            guard hasParametersBelow[i] else {
                plan.append((i, dy, nil))
                continue
            }
            let dx: GradientSlot
            if let j = denseGradientTarget(i, bottom: bottom) {
                dx = .output(j)
            } else if allowsInPlace, layer.backwardWorksInPlace {
                dx = dy
            } else if allowsInPlace, layer.inputGradientMayOverwriteOutput, layer.inputCount == layer.outputCount, outputs.indices.contains(i),
                      outputs[i] != nil, dy != .output(i) {
                dx = .output(i)
            } else if case .buffer(let k) = dy {
                dx = .buffer(1 - k)
            } else {
                dx = .buffer(0)
            }
            plan.append((i, dy, dx))
            dy = dx
        }
        return plan
    }

    /// The bottom sample-by-sample run's plan for a batch whose input is at `x` (nil without a run).
    private func sampleSegmentPlan(_ x: UnsafePointer<Float>, rows: UnsafePointer<Int>?) -> SampleSegmentPlan? {
        guard let top = sampleSegment?.top else { return nil }
        let chain = (0...top).filter { !layers[$0].aliasesInput }
        func values(of i: Int) -> SampleSegmentPlan.Values {
            if recomputed.contains(i), let owner = owners[i] { return .recomputed(owner) }
            return .batch(outputs[i]!.base, storedOutputCount(layers[i]))
        }
        let inputs = chain.map { i -> SampleSegmentPlan.Values in
            guard let below = (0..<i).last(where: { !layers[$0].aliasesInput }) else { return .input(x, inputShape.reduce(1, *), rows) }
            return values(of: below)
        }
        return SampleSegmentPlan(chain: chain, top: top, inputs: inputs, outputs: chain.map(values), layers: layers,
                                 threadValues: sampleValues.map { $0.mapValues(\.base) })
    }

    /// Where Dense layer `i` may write its dX over its own input: the buffer of the top of the
    /// sample-by-sample run (`bottom`), when that is the (pooled) output of a shifted-row
    /// convolution with an element-wise activation, which then reads only its gradient
    /// (`Dense.inputActivation`, `Conv2D.gradientIncludesActivation`). Nil otherwise.
    private func denseGradientTarget(_ i: Int, bottom: Int) -> Int? {
        guard writesDenseGradientOverInput, allowsInPlace, bottom >= 0, layers[i] is Dense,
              (0..<i).last(where: { !layers[$0].aliasesInput }) == bottom, owners.indices.contains(bottom),
              let owner = owners[bottom], let conv = layers[owner] as? Conv2D, conv.usesShiftedRows,
              conv.activation.isElementWise, outputs.indices.contains(bottom),
              outputs[bottom] != nil else { return nil }
        return bottom
    }

    func backwardPass(_ x: UnsafePointer<Float>, batch: Int, context: RunContext, rows: UnsafePointer<Int>? = nil) {
        precondition(rows == nil || readsInputRows, "this model reads its batch contiguous")
        func pointer(_ slot: GradientSlot) -> UnsafeMutablePointer<Float> {
            switch slot {
            case .buffer(let k): return k == 0 ? gradientA.base : gradientB.base
            case .output(let i): return outputs[i]!.base
            }
        }
        for step in backwardSteps {
            let i = step.layer
            var input = x
            var j = i - 1
            while j >= 0 {
                if let o = outputs[j] { input = UnsafePointer(o.base); break }
                j -= 1
            }
            layers[i].backward(x: input, y: outputs[i]!.base, dy: pointer(step.dy), dx: step.dx.map(pointer),
                               batch: batch, context: context)
        }
        guard let segment = sampleSegment, let plan = sampleSegmentPlan(x, rows: rows) else { return }
        // The bottom layers, sample by sample: each thread carries its samples through all of them.
        let threads = min(max(context.threads, 1), max(batch, 1))
        let chainLayers = plan.chain.map { layers[$0] }
        // The recomputation reuses what this batch's forward pass prepared (`beginSampleForward` on at
        // least as many threads; no kernel of the run changes before `finishSampleBackward`).
        let recomputedCount = plan.chain.filter { recomputed.contains($0) }.count
        for layer in chainLayers { layer.beginSampleBackward(threads: threads) }
        let hasParametersBelow = plan.chain.map { i in layers[..<i].contains { !$0.parameters.isEmpty } }
        let topDy = pointer(segment.dy), topCount = storedOutputCount(layers[segment.top])
        let buffers = sampleGradients.map { ($0.0.base, $0.1.base) }
        forEachChunk(batch, threads: threads) { t, samples in
            let (first, second) = buffers[t]
            for s in samples {
                // The sample's values that no batch buffer kept, computed again.
                plan.forward(sample: s, thread: t, layers: recomputedCount, context: context)
                var dy = topDy + s &* topCount
                for k in stride(from: chainLayers.count - 1, through: 0, by: -1) {
                    let layer = chainLayers[k]
                    var dx: UnsafeMutablePointer<Float>?
                    if hasParametersBelow[k] {
                        dx = layer.backwardWorksInPlace ? dy : (dy == first ? second : first)
                    }
                    layer.backwardSample(x: plan.input(k, sample: s, thread: t), y: plan.output(k, sample: s, thread: t),
                                         dy: dy, dx: dx, sample: s, thread: t, context: context)
                    if let dx { dy = dx }
                }
            }
        }
        for layer in chainLayers { layer.finishSampleBackward(threads: threads) }
    }
}

/// Where each layer of the bottom sample-by-sample run reads and writes one sample's values:
/// the network's input, a batch buffer, or the thread's buffer of recomputed values.
struct SampleSegmentPlan {
    enum Values {
        /// The network's input: sample s at row s, or at row `rows[s]`, of `count` values each.
        case input(UnsafePointer<Float>, Int, UnsafePointer<Int>?)
        case batch(UnsafeMutablePointer<Float>, Int)
        case recomputed(Int)
    }

    /// The run's layers that do work (Flatten aside), bottom first, and the run's top.
    let chain: [Int]
    let top: Int
    let inputs: [Values], outputs: [Values]
    let layers: [Layer]
    /// Per thread: the recomputed buffers by the index of the layer that owns them.
    let threadValues: [[Int: UnsafeMutablePointer<Float>]]

    func pointer(_ v: Values, sample s: Int, thread t: Int) -> UnsafeMutablePointer<Float> {
        switch v {
        case .input(let base, let count, let rows): return UnsafeMutablePointer(mutating: base + (rows?[s] ?? s) &* count)
        case .batch(let base, let count): return base + s &* count
        case .recomputed(let owner): return threadValues[t][owner]!
        }
    }

    func input(_ k: Int, sample s: Int, thread t: Int) -> UnsafeMutablePointer<Float> { pointer(inputs[k], sample: s, thread: t) }
    func output(_ k: Int, sample s: Int, thread t: Int) -> UnsafeMutablePointer<Float> { pointer(outputs[k], sample: s, thread: t) }

    /// Runs the first `count` layers of the chain forward on sample `s`, on thread `t`.
    func forward(sample s: Int, thread t: Int, layers count: Int, context: RunContext) {
        for k in 0..<count {
            layers[chain[k]].forwardSample(input(k, sample: s, thread: t), output(k, sample: s, thread: t), sample: s,
                                           thread: t, context: context)
        }
    }
}

func shapeText(_ shape: [Int]) -> String {
    shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
}


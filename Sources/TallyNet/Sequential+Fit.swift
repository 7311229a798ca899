#if canImport(Glibc)
import Glibc
#endif
import Tally
internal import TallyThreads

/// Samples, their labels and optional per-sample weights, read in place (nothing is
/// copied but the labels and the weights).
public struct LabeledData {
    /// C-ordered float32 samples.
    public var x: UnsafeBufferPointer<Float>
    /// `[n] + model.inputShape`, e.g. `[1269, 204, 204, 3]`.
    public var shape: [Int]
    /// (n × labels) 0/1 labels or soft targets in [0, 1], of any `ElementType` (bool, uint8,
    /// float32, ...). The exact counts read a soft target as the label `y >= 0.5`.
    public var y: MatrixView
    /// One finite weight >= 0 per sample (Keras's `sample_weight`), or nil for all 1.
    /// A sample's loss is multiplied by its weight and the batch loss is Keras's
    /// `sum_over_batch_size`: `Σ w_i · loss_i / batch size` (not divided by `Σ w_i`).
    /// The confusion counts are then weighted sums, as Keras weights its metrics.
    public var sampleWeight: [Double]?
    /// One finite weight >= 0 per (sample, label), row-major, or nil: in place of
    /// `sampleWeight`, each entry's binary cross-entropy is weighted by its own weight
    /// (the batch loss `Σ w_ij · loss_ij / (batch size · labels)`), and the counts take
    /// them as element weights. 0 marks a missing label: its `y` is not read (it may
    /// be -1 or nan) and it adds nothing to the loss, the gradient or the counts.
    public var elementWeight: [Double]?

    public init(x: UnsafeBufferPointer<Float>, shape: [Int], y: MatrixView, sampleWeight: [Double]? = nil,
                elementWeight: [Double]? = nil) {
        self.x = x
        self.shape = shape
        self.y = y
        self.sampleWeight = sampleWeight
        self.elementWeight = elementWeight
    }
}

/// What `onBatchEnd` sees after each optimizer step.
public struct BatchLogs: Sendable {
    public let epoch: Int
    /// The batch index within the epoch.
    public let batch: Int
    /// Samples in this batch.
    public let size: Int
    /// This batch's loss: `Σ w_i · loss_i / size` (the mean without sample weights).
    public let loss: Double
    /// The loss over the epoch so far, `Σ w_i · loss_i / samples seen` (Keras's logged `loss`).
    public let epochLoss: Double
}

/// What `onEpochEnd` sees, and what `History` keeps, for each epoch.
public struct EpochLogs: Sendable {
    public let epoch: Int
    /// Training loss over the epoch: `Σ w_i · loss_i / n` (the mean without sample
    /// weights; Keras's logged `loss`, batches weighted by their size).
    public let loss: Double
    /// Exact confusion counts of the predictions made during the epoch's training
    /// steps (dropout on, weights changing), as Keras's training metrics; weighted
    /// sums when the data has sample weights.
    public let counts: ConfusionCounts
    public let validationLoss: Double?
    public let validationCounts: ConfusionCounts?
    /// The learning rate of the epoch's last update.
    public let learningRate: Float
    /// Wall-clock seconds of the epoch, validation included.
    public let seconds: Double

    /// F1 of the training predictions (`average: nil` per label → use `counts` directly).
    public func f1(average: Average = .macro, validation: Bool = false) throws -> Double {
        guard let c = validation ? validationCounts : counts else {
            throw TallyError.invalidValue("Expected validation data in fit(), but got none")
        }
        return try c.precisionRecallFScore(beta: 1, average: average, zeroDivision: .zero).fScore[0]
    }
}

/// The result of `fit`.
public struct History: Sendable {
    public var epochs: [EpochLogs] = []
    /// True when a callback asked to stop before the last epoch.
    public var stopped = false
}

extension Sequential {
    // MARK: Checks

    func checkSamples(_ x: UnsafeBufferPointer<Float>, shape: [Int], argument: String = "x") throws -> Int {
        let expected = "(n, " + inputShape.map(String.init).joined(separator: ", ") + ")"
        guard shape.count == inputShape.count + 1, shape[0] >= 0, Array(shape.dropFirst()) == inputShape else {
            throw TallyError.invalidValue("Expected `\(argument)` to have shape \(expected), but got \(shapeText(shape))")
        }
        let n = shape[0]
        guard x.count == n * inputShape.reduce(1, *) else {
            throw TallyError.invalidValue("Expected `\(argument)` to hold \(n * inputShape.reduce(1, *)) values for shape \(shapeText(shape)), but got \(x.count)")
        }
        if let i = firstNonFinite(x) {
            throw TallyError.invalidValue("Expected `\(argument)` to hold finite numbers, but got \(x[i]) in sample \(i / max(inputShape.reduce(1, *), 1))")
        }
        return n
    }

    /// Training targets as float32, checked: 0/1 labels or soft targets in [0, 1] (as Keras
    /// trains on). `soft` says whether any value is neither 0 nor 1.
    struct Targets {
        var values: [Float]
        var soft: Bool
    }

    /// Validates targets (0/1 labels or soft targets in [0, 1]) and returns them as float32;
    /// entries whose `elementWeight` is 0 are missing: not checked, and read as 0.
    func checkLabels(_ y: MatrixView, rows: Int, argument: String = "y", elementWeight: [Double]? = nil) throws -> Targets {
        let width = outputShape.reduce(1, *)
        guard y.rows == rows, y.columns == width else {
            throw TallyError.invalidValue("Expected `\(argument)` to have shape (\(rows), \(width)), but got (\(y.rows), \(y.columns))")
        }
        var out = [Float](repeating: 0, count: y.count)
        guard let base = y.base else { return Targets(values: out, soft: false) }
        func read<T>(_ type: T.Type, _ value: (T) -> Double) {
            let p = base.assumingMemoryBound(to: T.self)
            for i in 0..<y.count { out[i] = Float(value(p[i])) }
        }
        switch y.elementType {
        case .bool: read(UInt8.self) { $0 != 0 ? 1 : 0 }
        case .uint8: read(UInt8.self) { Double($0) }
        case .int8: read(Int8.self) { Double($0) }
        case .uint16: read(UInt16.self) { Double($0) }
        case .int16: read(Int16.self) { Double($0) }
        case .uint32: read(UInt32.self) { Double($0) }
        case .int32: read(Int32.self) { Double($0) }
        case .uint64: read(UInt64.self) { Double($0) }
        case .int64: read(Int64.self) { Double($0) }
        case .float32: read(Float.self) { Double($0) }
        case .float64: read(Double.self) { $0 }
        }
        if let known = elementWeight {
            for i in out.indices where known[i] == 0 { out[i] = 0 }
        }
        // `!(v >= 0 && v <= 1)` also catches NaN.
        if let i = out.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
            throw TallyError.invalidValue("Expected `\(argument)` to hold 0/1 labels or soft targets in [0, 1], but got \(out[i]) at (\(i / width), \(i % width))")
        }
        return Targets(values: out, soft: out.contains { $0 != 0 && $0 != 1 })
    }

    /// The truth that the exact counts read for a batch of targets: the targets themselves
    /// when they are 0/1, else the labels that soft targets stand for, `y >= 0.5` (Tally's
    /// `>=` rule; label smoothing never changes them, it acts inside the loss only).
    func countingTruth(_ targets: UnsafePointer<Float>, count: Int, soft: Bool) -> UnsafePointer<Float> {
        guard soft else { return targets }
        let truth = truthBatch.base
        for i in 0..<count { truth[i] = targets[i] >= 0.5 ? 1 : 0 }
        return UnsafePointer(truth)
    }

    /// Validates the weights of `data`: per sample (one per sample) or per element (one per
    /// sample and label, binary cross-entropy only), finite, >= 0; not both.
    func checkWeights(_ data: LabeledData, rows: Int, argument: String = "sample_weight") throws {
        try checkSampleWeights(data.sampleWeight, rows: rows, argument: argument)
        guard let cells = data.elementWeight else { return }
        let width = outputShape.reduce(1, *)
        guard data.sampleWeight == nil else {
            throw TallyError.invalidValue("Expected either a 1-D or a 2-D `\(argument)`, but got both")
        }
        if case .categoricalCrossentropy = loss ?? .binaryCrossentropy(fromLogits: true) {
            throw TallyError.invalidValue("Expected a 1-D `\(argument)` (one weight per sample) with categorical cross-entropy, but got a 2-D one (per label)")
        }
        guard cells.count == rows * width else {
            throw TallyError.invalidValue("Expected a 2-D `\(argument)` to have shape (\(rows), \(width)), but got \(cells.count) values")
        }
        if let i = cells.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
            throw TallyError.invalidValue("Expected `\(argument)` to hold finite numbers >= 0, but got \(cells[i]) at (\(i / width), \(i % width))")
        }
    }

    /// Validates per-sample weights: one per sample, finite, >= 0.
    func checkSampleWeights(_ weights: [Double]?, rows: Int, argument: String = "sample_weight") throws {
        guard let weights else { return }
        guard weights.count == rows else {
            throw TallyError.invalidValue("Expected `\(argument)` to have \(rows) values (one per sample), but got \(weights.count)")
        }
        if let i = weights.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
            throw TallyError.invalidValue("Expected `\(argument)` to hold finite numbers >= 0, but got \(weights[i]) at index \(i)")
        }
    }

    /// The summed loss `Σ_r w_r · loss_r` of `batch` rows of logits against `targetBatch`
    /// (each row's loss is its mean over the labels for binary cross-entropy, as Keras's);
    /// writes probabilities to `probabilityBatch` and, when `gradient` is given,
    /// dLoss/dlogits of Keras's `sum_over_batch_size` loss, `Σ_r w_r · loss_r / batch`.
    /// `elementWeights` (one per value, binary cross-entropy only) takes the place of `sampleWeights`.
    func lossAndGradient(logits: UnsafePointer<Float>, batch: Int, gradient: UnsafeMutablePointer<Float>?,
                         sampleWeights: UnsafePointer<Float>? = nil, elementWeights: UnsafePointer<Float>? = nil) -> Double {
        let width = outputShape.reduce(1, *)
        let lossSpec = loss ?? .binaryCrossentropy(fromLogits: outputActivation == .linear)
        switch lossSpec {
        case .binaryCrossentropy:
            let scale = 1 / Float(batch * width)
            return binaryCrossentropyFromLogits(logits: logits, targets: targetBatch.base, count: batch * width,
                                                probabilities: probabilityBatch.base, gradient: gradient,
                                                gradientScale: scale, sampleWeights: sampleWeights,
                                                width: width, labelSmoothing: lossSpec.labelSmoothing,
                                                elementWeights: elementWeights) / Double(width)
        case .categoricalCrossentropy:
            return categoricalCrossentropyFromLogits(logits: logits, targets: targetBatch.base, rows: batch, width: width,
                                                     probabilities: probabilityBatch.base, gradient: gradient,
                                                     gradientScale: 1 / Float(batch), sampleWeights: sampleWeights,
                                                     labelSmoothing: lossSpec.labelSmoothing)
        }
    }

    // MARK: Training

    /// Trains epochs `initialEpoch..<epochs`, as Keras `fit(shuffle=True)`. This is the
    /// one epoch loop: `tally.net`'s `fit` runs it too, its callbacks called from here.
    ///
    /// - Parameters:
    ///   - data: the training samples, 0/1 labels and optional sample weights (read in place).
    ///   - epochs: the index of the epoch to stop before (Keras's `epochs`).
    ///   - initialEpoch: the first epoch's index (Keras's `initial_epoch`, to resume a run).
    ///   - batchSize: samples per optimizer step (the last batch may be smaller).
    ///   - validation: evaluated after each epoch (loss and counts), as `validation_data`.
    ///   - shuffle: reshuffle the order each epoch.
    ///   - seed: the run's seed (see `runSeed(_:run:)`). Epoch `e`'s shuffle and dropout
    ///     masks depend only on `seed` and `e`, so `fit(epochs: 1)` then
    ///     `fit(epochs: 2, initialEpoch: 1)` trains exactly as `fit(epochs: 2)`.
    ///   - threshold: turns probabilities into 0/1 predictions for the counts.
    ///   - onEpochBegin: called with the epoch's index before its first step.
    ///   - onBatchEnd: called after each step; return true to stop after this batch
    ///     (the epoch still ends with validation and `onEpochEnd`, as Keras's
    ///     `stop_training`).
    ///   - onEpochEnd: called after each epoch; return true to stop.
    /// - Returns: one `EpochLogs` per epoch run.
    /// - Throws: `TallyError.invalidValue` for a wrong shape, targets outside [0, 1],
    ///   non-finite pixels, sample weights that are not one finite number >= 0 per
    ///   sample, or a model that was not compiled; nothing has changed then. An error
    ///   thrown by a callback stops the run at once (after a whole optimizer step) and is
    ///   rethrown; the epochs finished before it are lost with the `History`.
    ///
    /// Each epoch starts by applying pending max-norm factors to the kernels (one pass over
    /// them), so that reading the weights between epochs changes nothing: a run continued
    /// from `weights()` and `optimizerState()` (with the same seeds) repeats bit for bit.
    /// - Complexity: O(epochs × n × FLOPs per sample); memory is allocated once per
    ///   batch size, not per batch.
    public func fit(_ data: LabeledData, epochs: Int = 1, initialEpoch: Int = 0, batchSize: Int = 32,
                    validation: LabeledData? = nil, shuffle: Bool = true, seed: UInt64 = 0,
                    threshold: Threshold = .scalar(0.5),
                    onEpochBegin: ((Int) throws -> Void)? = nil,
                    onBatchEnd: ((BatchLogs) throws -> Bool)? = nil,
                    onEpochEnd: ((EpochLogs) throws -> Bool)? = nil) throws -> History {
        guard let optimizer else {
            throw TallyError.invalidValue("Expected a compiled model (call compile(optimizer:loss:) before fit), but got an uncompiled one")
        }
        guard epochs >= 0 else { throw TallyError.invalidValue("Expected `epochs` >= 0, but got \(epochs)") }
        guard initialEpoch >= 0 else { throw TallyError.invalidValue("Expected `initial_epoch` >= 0, but got \(initialEpoch)") }
        guard batchSize >= 1 else { throw TallyError.invalidValue("Expected `batch_size` >= 1, but got \(batchSize)") }
        let n = try checkSamples(data.x, shape: data.shape)
        try checkWeights(data, rows: n)
        let labels = try checkLabels(data.y, rows: n, elementWeight: data.elementWeight)
        var validationLabels = Targets(values: [], soft: false)
        if let validation {
            let m = try checkSamples(validation.x, shape: validation.shape, argument: "validation x")
            try checkWeights(validation, rows: m, argument: "validation sample_weight")
            validationLabels = try checkLabels(validation.y, rows: m, argument: "validation y",
                                               elementWeight: validation.elementWeight)
        }
        let width = outputShape.reduce(1, *)
        var counts = try ConfusionCounts(labelCount: width, threshold: threshold)
        var history = History()
        guard n > 0 else { return history }

        reserve(batchSize: min(batchSize, n))
        optimizer.threads = threadCount
        let sampleSize = inputShape.reduce(1, *)
        var order = [Int](repeating: 0, count: n)
        let stepsPerEpoch = (n + batchSize - 1) / batchSize
        // The batch's weights: float32 for the loss (as Keras's), float64 for the counts;
        // per sample, or per (sample, label) with element weights.
        let weights = data.sampleWeight, cells = data.elementWeight
        let weightsPerRow = cells == nil ? 1 : width
        var lossWeights = [Float](repeating: 1, count: weights == nil && cells == nil ? 0 : min(batchSize, n) * weightsPerRow)
        var countWeights = [Double](repeating: 1, count: lossWeights.count)
        // The batch's rows of `data.x`, for a model that reads its samples where they are.
        var batchRows = [Int](repeating: 0, count: min(batchSize, n))
        for epoch in initialEpoch..<max(initialEpoch, epochs) {
            try onEpochBegin?(epoch)
            let start = monotonicSeconds()
            // Pending max-norm factors left by the last epoch would otherwise be applied by whichever
            // comes first (this epoch's first backward pass, or `weights()` and a save in between),
            // with different roundings of the first forward pass.
            materializeWeights()
            // Each epoch starts from the data's order, so that it depends on no earlier epoch.
            for i in 0..<n { order[i] = i }
            if shuffle {
                var g = SplitMix64(seed: SplitMix64.mix(seed, 0x5F, UInt64(epoch)))
                for i in stride(from: n - 1, to: 0, by: -1) {
                    order.swapAt(i, Int(g.next() % UInt64(i + 1)))
                }
            }
            counts.reset()
            var lossSum = 0.0
            var seen = 0
            var stop = false
            var batchIndex = 0
            var b0 = 0
            while b0 < n {
                let b = min(batchSize, n - b0)
                let tb = targetBatch.base
                // Gather the shuffled batch (the only copy of the samples), unless the model reads
                // each sample in place (`readsInputRows`).
                let xs = data.x.baseAddress!, inPlace = readsInputRows
                let xb = inPlace ? xs : UnsafePointer(inputBatchPointer)
                order.withUnsafeBufferPointer { idx in
                    labels.values.withUnsafeBufferPointer { ys in
                        for r in 0..<b {
                            let k = idx[b0 + r]
                            batchRows[r] = k
                            if !inPlace { (inputBatchPointer + r * sampleSize).update(from: xs + k * sampleSize, count: sampleSize) }
                            (tb + r * width).update(from: ys.baseAddress! + k * width, count: width)
                        }
                    }
                    if let weights {
                        for r in 0..<b {
                            countWeights[r] = weights[idx[b0 + r]]
                            lossWeights[r] = Float(countWeights[r])
                        }
                    } else if let cells {
                        for r in 0..<b {
                            let k = idx[b0 + r]
                            for j in 0..<width {
                                countWeights[r * width + j] = cells[k * width + j]
                                lossWeights[r * width + j] = Float(cells[k * width + j])
                            }
                        }
                    }
                }
                let context = RunContext(training: true, threads: threadCount, stepSeed: stepSeed(seed, step: epoch * stepsPerEpoch + batchIndex))
                let logits = batchRows.withUnsafeBufferPointer {
                    forwardPass(xb, batch: b, context: context, rows: inPlace ? $0.baseAddress : nil)
                }
                let batchLoss = lossWeights.isEmpty
                    ? lossAndGradient(logits: logits, batch: b, gradient: outputGradientPointer)
                    : lossWeights.withUnsafeBufferPointer {
                        cells == nil
                            ? lossAndGradient(logits: logits, batch: b, gradient: outputGradientPointer, sampleWeights: $0.baseAddress)
                            : lossAndGradient(logits: logits, batch: b, gradient: outputGradientPointer, elementWeights: $0.baseAddress)
                    }
                let truth = MatrixView(base: countingTruth(tb, count: b * width, soft: labels.soft),
                                       elementType: .float32, rows: b, columns: width)
                let predicted = MatrixView(base: probabilityBatch.base, elementType: .float32, rows: b, columns: width)
                if cells != nil {
                    try countWeights.withUnsafeBufferPointer {
                        try counts.update(truth: truth, prediction: predicted,
                                          elementWeights: MatrixView(base: $0.baseAddress, elementType: .float64, rows: b, columns: width))
                    }
                } else if weights == nil {
                    try counts.update(truth: truth, prediction: predicted)
                } else {
                    try countWeights.withUnsafeBufferPointer {
                        try counts.update(truth: truth, prediction: predicted, sampleWeight: UnsafeBufferPointer(rebasing: $0[0..<b]))
                    }
                }
                optimizer.beginStep()
                batchRows.withUnsafeBufferPointer { backwardPass(xb, batch: b, context: context, rows: inPlace ? $0.baseAddress : nil) }
                optimizer.finishStep()
                lossSum += batchLoss
                seen += b
                if let onBatchEnd, try onBatchEnd(BatchLogs(epoch: epoch, batch: batchIndex, size: b,
                                                        loss: batchLoss / Double(b), epochLoss: lossSum / Double(seen))) {
                    stop = true
                }
                batchIndex += 1
                b0 += b
                if stop { break }
            }
            var validationLoss: Double?
            var validationCounts: ConfusionCounts?
            if let validation {
                let r = try evaluateChecked(validation, labels: validationLabels, batchSize: batchSize, threshold: threshold)
                validationLoss = r.loss
                validationCounts = r.counts
            }
            let logs = EpochLogs(epoch: epoch, loss: lossSum / Double(max(seen, 1)), counts: counts,
                                 validationLoss: validationLoss, validationCounts: validationCounts,
                                 learningRate: optimizer.currentLearningRate, seconds: monotonicSeconds() - start)
            history.epochs.append(logs)
            if let onEpochEnd, try onEpochEnd(logs) { stop = true }
            if stop {
                history.stopped = epoch < epochs - 1 || batchIndex < stepsPerEpoch
                break
            }
        }
        return history
    }

    // MARK: Seeds

    /// The seed of training run `run` (say, the n-th `fit` call) of a model seeded with
    /// `seed`, so that successive runs draw different shuffles and dropout masks.
    /// Every seed TallyNet trains with is derived here or in `fit`, from SplitMix64.
    public static func runSeed(_ seed: UInt64, run: Int) -> UInt64 {
        SplitMix64.mix(seed, 0x52, UInt64(run))
    }

    /// The dropout seed of the optimizer step `step` of a run (counted from epoch 0).
    func stepSeed(_ seed: UInt64, step: Int) -> UInt64 { SplitMix64.mix(seed, 0x57, UInt64(step)) }

    // MARK: Inference

    /// The loss and the exact confusion counts of the model on `data` (inference mode:
    /// no dropout). With sample weights the loss is `Σ w_i · loss_i / n` (Keras's
    /// `evaluate`) and the counts are weighted sums.
    public func evaluate(_ data: LabeledData, batchSize: Int = 32,
                         threshold: Threshold = .scalar(0.5)) throws -> (loss: Double, counts: ConfusionCounts) {
        guard batchSize >= 1 else { throw TallyError.invalidValue("Expected `batch_size` >= 1, but got \(batchSize)") }
        let n = try checkSamples(data.x, shape: data.shape)
        try checkWeights(data, rows: n)
        let labels = try checkLabels(data.y, rows: n, elementWeight: data.elementWeight)
        return try evaluateChecked(data, labels: labels, batchSize: batchSize, threshold: threshold)
    }

    func evaluateChecked(_ data: LabeledData, labels: Targets, batchSize: Int,
                         threshold: Threshold) throws -> (loss: Double, counts: ConfusionCounts) {
        let n = data.shape[0], width = outputShape.reduce(1, *), sampleSize = inputShape.reduce(1, *)
        var counts = try ConfusionCounts(labelCount: width, threshold: threshold)
        guard n > 0, let x = data.x.baseAddress else { return (0, counts) }
        reserve(batchSize: min(batchSize, n))
        let context = RunContext(training: false, threads: threadCount)
        let lossWeights = data.sampleWeight?.map { Float($0) }
        let cellLossWeights = data.elementWeight?.map { Float($0) }
        var total = 0.0
        var b0 = 0
        while b0 < n {
            let b = min(batchSize, n - b0)
            let logits = forwardPass(x + b0 * sampleSize, batch: b, context: context)
            labels.values.withUnsafeBufferPointer { targetBatch.base.update(from: $0.baseAddress! + b0 * width, count: b * width) }
            let truth = MatrixView(base: countingTruth(targetBatch.base, count: b * width, soft: labels.soft),
                                   elementType: .float32, rows: b, columns: width)
            let predicted = MatrixView(base: probabilityBatch.base, elementType: .float32, rows: b, columns: width)
            if let cellLossWeights, let cells = data.elementWeight {
                total += cellLossWeights.withUnsafeBufferPointer {
                    lossAndGradient(logits: logits, batch: b, gradient: nil, elementWeights: $0.baseAddress! + b0 * width)
                }
                try cells.withUnsafeBufferPointer {
                    try counts.update(truth: truth, prediction: predicted,
                                      elementWeights: MatrixView(base: $0.baseAddress! + b0 * width, elementType: .float64, rows: b, columns: width))
                }
            } else if let lossWeights, let countWeights = data.sampleWeight {
                total += lossWeights.withUnsafeBufferPointer {
                    lossAndGradient(logits: logits, batch: b, gradient: nil, sampleWeights: $0.baseAddress! + b0)
                }
                try countWeights.withUnsafeBufferPointer {
                    try counts.update(truth: truth, prediction: predicted, sampleWeight: UnsafeBufferPointer(rebasing: $0[b0..<(b0 + b)]))
                }
            } else {
                total += lossAndGradient(logits: logits, batch: b, gradient: nil)
                try counts.update(truth: truth, prediction: predicted)
            }
            b0 += b
        }
        return (total / Double(n), counts)
    }

    /// Writes the model's outputs (after the last activation: probabilities for a
    /// sigmoid or softmax model) for `x` into `output`, without other copies.
    ///
    /// - Parameters:
    ///   - x: C-ordered float32 samples of shape `shape` (`[n] + inputShape`).
    ///   - output: room for `n × outputShape` floats.
    public func predict(x: UnsafeBufferPointer<Float>, shape: [Int], batchSize: Int = 32,
                        into output: UnsafeMutableBufferPointer<Float>) throws {
        guard batchSize >= 1 else { throw TallyError.invalidValue("Expected `batch_size` >= 1, but got \(batchSize)") }
        let n = try checkSamples(x, shape: shape)
        let width = outputShape.reduce(1, *), sampleSize = inputShape.reduce(1, *)
        guard output.count == n * width else {
            throw TallyError.invalidValue("Expected the output buffer to hold \(n * width) values, but got \(output.count)")
        }
        guard n > 0, let xs = x.baseAddress, let out = output.baseAddress else { return }
        reserve(batchSize: min(batchSize, n))
        let context = RunContext(training: false, threads: threadCount)
        var b0 = 0
        while b0 < n {
            let b = min(batchSize, n - b0)
            let logits = forwardPass(xs + b0 * sampleSize, batch: b, context: context)
            let o = out + b0 * width
            o.update(from: logits, count: b * width)
            outputActivation.apply(o, rows: b, width: width)
            b0 += b
        }
    }

    /// The model's outputs for `x` as a new (n × outputShape) array.
    public func predict(x: UnsafeBufferPointer<Float>, shape: [Int], batchSize: Int = 32) throws -> [Float] {
        let n = shape.first ?? 0
        var out = [Float](repeating: 0, count: max(n, 0) * outputShape.reduce(1, *))
        try out.withUnsafeMutableBufferPointer { try predict(x: x, shape: shape, batchSize: batchSize, into: $0) }
        return out
    }
}

import CPython
import Tally
import TallyNet
import TallyPythonBridge

#if canImport(Glibc)
import Glibc
#endif

// `tally.net`'s bridge to TallyNet (the `_tallynet` module): build, compile, train
// (TallyNet's epoch loop, which calls back into Python), evaluate, predict, and move
// weights. It validates and converts; the training loop, the seeds and every number
// come from TallyNet. `python/tally/net` is the public face: it runs the Keras-style
// callbacks that the loop calls.
//
// Counts leave as `ConfusionCounts.serialized()` bytes, which `tally.Tally`
// restores in `_tally`: a Swift object of one extension module cannot cross into
// the other (each has its own copy of the Swift runtime).

/// A TallyNet model owned by Python, with the lock that serialises calls into it.
final class NetBox: @unchecked Sendable {
    let model: Sequential
    let mutex = Mutex()
    /// The thread that is inside `net_fit_epoch` (its batch callback may run Python).
    /// Written by that thread while it holds `mutex`; compared only with the caller's own id.
    var trainingThread: pthread_t?

    init(_ model: Sequential) { self.model = model }

    /// Runs `body` on the model with the GIL released and the model locked.
    ///
    /// A batch callback that calls back into the same model (e.g. `predict` from
    /// `on_batch_end`) would wait forever on the lock its own thread holds: it
    /// gets an error instead. Other threads wait their turn.
    func locked<R>(_ body: (Sequential) throws -> R) throws -> R {
        if let t = trainingThread, pthread_equal(t, pthread_self()) != 0 {
            throw PythonError(kind: .runtime, message: "Expected no call into the model from a batch callback while it trains, but got one; call it from on_epoch_end or after fit()")
        }
        return try withoutGIL { try mutex.locked { try body(model) } }
    }
}

extension Arguments {
    func net(_ i: Int) throws -> NetBox { try handle(i, as: NetBox.self, "model") }
}

// MARK: Conversions

/// The items of a Python sequence (a new tuple keeps them alive), as `Arguments`.
func withItems<R>(_ object: PyPtr?, name: String, _ body: (Arguments) throws -> R) throws -> R {
    guard let object, PySequence_Check(object) != 0, tally_unicode_check(object) == 0 else {
        throw PythonError.type("Expected `\(name)` to be a tuple or list, but got \(typeName(object))")
    }
    let t = try check(PySequence_Tuple(object))
    defer { Py_DecRef(t) }
    let n = PyTuple_Size(t)
    let items: [PyPtr?] = (0..<n).map { PyTuple_GetItem(t, $0) }
    return try items.withUnsafeBufferPointer {
        try body(Arguments(unchecked: $0.baseAddress, count: n, function: name))
    }
}

extension Arguments {
    /// Items of a sequence already unpacked (no arity check).
    init(unchecked args: UnsafePointer<PyPtr?>?, count: Int, function: String) {
        // The arity range always holds `count`, so this cannot throw.
        try! self.init(args, count, function: function, expected: count...count)
    }

    func ints(_ i: Int, _ name: String) throws -> [Int] {
        try withItems(self[i], name: name) { items in try (0..<items.count).map { try items.int($0, name) } }
    }

    func float32Samples(_ buffer: HeldBuffer, _ name: String) throws -> UnsafeBufferPointer<Float> {
        guard buffer.elementType == .float32 else {
            throw PythonError.type("Expected `\(name)` to have dtype float32, but got \(buffer.elementType.rawValue)")
        }
        let n = buffer.shape.reduce(1, *)
        return UnsafeBufferPointer(start: n == 0 ? nil : buffer.view.buf?.assumingMemoryBound(to: Float.self), count: n)
    }

    func threshold(_ i: Int) throws -> Threshold {
        guard let t = optional(i) else { return .scalar(0.5) }
        if tally_float_check(t) != 0 || tally_long_check(t) != 0 { return .scalar(try double(i, "threshold")) }
        let buffer = try HeldBuffer(t, name: "threshold", dimensions: 1...1)
        return .perLabel(Array(try buffer.float64Elements(name: "threshold")))
    }

    func activation(_ i: Int) throws -> Activation {
        guard optional(i) != nil else { return .linear }
        let name = try string(i, "activation")
        guard let a = Activation(rawValue: name) else {
            let known = Activation.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            throw PythonError.value("Expected `activation` to be one of None, \(known), but got '\(name)'")
        }
        return a
    }

    func padding(_ i: Int) throws -> Padding {
        let name = try string(i, "padding")
        guard let p = Padding(rawValue: name) else {
            throw PythonError.value("Expected `padding` to be 'valid' or 'same', but got '\(name)'")
        }
        return p
    }

    /// `max_value, axes` at `i`, `i + 1` (None: no constraint; axes None: TallyNet's default).
    func maxNorm(_ i: Int) throws -> KernelConstraint? {
        guard optional(i) != nil else { return nil }
        let value = Float(try double(i, "max_value"))
        let axes = try optional(i + 1).map { _ in try ints(i + 1, "axis") }
        return .maxNorm(value, axes: axes)
    }
}

/// One layer from the tuple `net.py` sends: `(kind, arguments...)`.
func layerSpec(_ layer: Arguments, index: Int) throws -> LayerSpec {
    guard layer.count >= 1 else { throw PythonError.value("Expected layer \(index) to be (kind, ...), but got an empty tuple") }
    let kind = try layer.string(0, "layer kind")
    func arity(_ n: Int) throws {
        guard layer.count == n else {
            throw PythonError.value("Expected the '\(kind)' layer tuple (layer \(index)) to have \(n) items, but got \(layer.count)")
        }
    }
    switch kind {
    case "conv2d":
        // (kind, filters, kh, kw, sh, sw, padding, activation, use_bias, max_value, axes)
        try arity(11)
        return .conv2D(filters: try layer.int(1, "filters"),
                       kernelSize: (try layer.int(2, "kernel_size"), try layer.int(3, "kernel_size")),
                       strides: (try layer.int(4, "strides"), try layer.int(5, "strides")),
                       padding: try layer.padding(6), activation: try layer.activation(7),
                       useBias: layer.bool(8), kernelConstraint: try layer.maxNorm(9))
    case "max_pooling2d":
        // (kind, ph, pw, sh, sw, padding)
        try arity(6)
        return .maxPooling2D(poolSize: (try layer.int(1, "pool_size"), try layer.int(2, "pool_size")),
                             strides: (try layer.int(3, "strides"), try layer.int(4, "strides")),
                             padding: try layer.padding(5))
    case "dropout":
        try arity(2)
        return .dropout(rate: Float(try layer.double(1, "rate")))
    case "flatten":
        try arity(1)
        return .flatten
    case "dense":
        // (kind, units, activation, use_bias, max_value, axes)
        try arity(6)
        return .dense(units: try layer.int(1, "units"), activation: try layer.activation(2),
                      useBias: layer.bool(3), kernelConstraint: try layer.maxNorm(4))
    case "activation":
        try arity(2)
        return .activation(try layer.activation(1))
    default:
        throw PythonError.value("Expected a layer kind among conv2d, max_pooling2d, dropout, flatten, dense, activation, but got '\(kind)'")
    }
}

func pyInts(_ values: [Int]) throws -> PyPtr {
    try tuple(try values.map { try check(PyLong_FromLongLong(Int64($0))) })
}

/// A writable, C-contiguous float32 buffer of exactly `count` elements, for results
/// written straight into a numpy array the Python side allocated.
func withWritableFloats<R>(_ object: PyPtr?, name: String, count: Int,
                           _ body: (UnsafeMutableBufferPointer<Float>) throws -> R) throws -> R {
    guard let object, PyObject_CheckBuffer(object) != 0 else {
        throw PythonError.type("Expected `\(name)` to be a writable float32 array, but got \(typeName(object))")
    }
    var view = Py_buffer()
    guard PyObject_GetBuffer(object, &view, PyBUF_STRIDES | PyBUF_WRITABLE | PyBUF_FORMAT) == 0 else {
        PyErr_Clear()
        throw PythonError.value("Expected `\(name)` to be a writable array, but its buffer is read-only")
    }
    defer { PyBuffer_Release(&view) }
    let type = view.format.flatMap { ElementType(bufferFormat: UnsafePointer($0)) }
    guard type == .float32, view.itemsize == 4 else {
        throw PythonError.type("Expected `\(name)` to have dtype float32, but got buffer format '\(view.format.map { String(cString: $0) } ?? "B")'")
    }
    guard PyBuffer_IsContiguous(&view, CChar(UInt8(ascii: "C"))) != 0 else {
        throw PythonError.value("Expected `\(name)` to be C-contiguous")
    }
    guard view.len == count * 4 else {
        throw PythonError.value("Expected `\(name)` to hold \(count) float32 values, but got \(view.len / 4)")
    }
    return try body(UnsafeMutableBufferPointer(start: count == 0 ? nil : view.buf?.assumingMemoryBound(to: Float.self),
                                               count: count))
}

// MARK: Functions

/// net_new(input_shape, layers, seed) -> handle
func netNew(_ args: Arguments) throws -> PyPtr? {
    let shape = try args.ints(0, "input_shape")
    let specs = try withItems(args[1], name: "layers") { layers in
        try (0..<layers.count).map { i in
            try withItems(layers[i], name: "layer \(i)") { try layerSpec($0, index: i) }
        }
    }
    let seed = UInt64(bitPattern: Int64(try args.int(2, "seed")))
    let model = try withoutGIL { try Sequential(inputShape: shape, layers: specs, seed: seed) }
    return try makeHandle(NetBox(model))
}

/// net_compile(model, optimizer, learning_rate, momentum, nesterov, beta_1, beta_2, epsilon, decay, loss, from_logits)
func netCompile(_ args: Arguments) throws -> PyPtr? {
    let box = try args.net(0)
    let kind = try args.string(1, "optimizer")
    let lr = Float(try args.double(2, "learning_rate"))
    let decay = Float(try args.double(8, "decay"))
    let optimizer: OptimizerSpec
    switch kind {
    case "sgd":
        optimizer = .sgd(learningRate: lr, momentum: Float(try args.double(3, "momentum")),
                         nesterov: args.bool(4), decay: decay)
    case "adam":
        optimizer = .adam(learningRate: lr, beta1: Float(try args.double(5, "beta_1")),
                          beta2: Float(try args.double(6, "beta_2")),
                          epsilon: Float(try args.double(7, "epsilon")), decay: decay)
    default:
        throw PythonError.value("Expected `optimizer` to be 'sgd' or 'adam', but got '\(kind)'")
    }
    let lossName = try args.string(9, "loss")
    let fromLogits = args.bool(10)
    let smoothing = args.optional(11) == nil ? 0 : Float(try args.double(11, "label_smoothing"))
    let loss: Loss
    switch lossName {
    case "binary_crossentropy": loss = .binaryCrossentropy(fromLogits: fromLogits, labelSmoothing: smoothing)
    case "categorical_crossentropy": loss = .categoricalCrossentropy(fromLogits: fromLogits, labelSmoothing: smoothing)
    default:
        throw PythonError.value("Expected `loss` to be 'binary_crossentropy' or 'categorical_crossentropy', but got '\(lossName)'")
    }
    try box.locked { try $0.compile(optimizer: optimizer, loss: loss) }
    return tally_none()
}

/// Samples (float32, C-contiguous, `[n] + input_shape`), 0/1 labels (any dtype, 2-D) and
/// optional sample weights at `w` (None, or float64: 1-D per sample, or 2-D per sample and
/// label, 0 marking a missing label; TallyNet checks their values).
struct HeldData {
    let x: HeldBuffer
    let y: HeldBuffer
    let data: LabeledData

    init(_ args: Arguments, _ i: Int, _ j: Int, weights w: Int? = nil, prefix: String = "") throws {
        x = try HeldBuffer(args[i]!, name: prefix + "x", dimensions: 2...8)
        y = try HeldBuffer(args[j]!, name: prefix + "y", dimensions: 2...2)
        var weights: [Double]?, cells: [Double]?
        if let w, args.count > w, let object = args.optional(w) {
            let held = try HeldBuffer(object, name: prefix + "sample_weight", dimensions: 1...2)
            let values = Array(try held.float64Elements(name: prefix + "sample_weight"))
            if held.shape.count == 2 { cells = values } else { weights = values }
        }
        data = LabeledData(x: try args.float32Samples(x, prefix + "x"), shape: x.shape, y: y.matrix,
                           sampleWeight: weights, elementWeight: cells)
    }
}

/// A callable argument, or nil for None.
func callback(_ args: Arguments, _ i: Int, _ name: String) throws -> PyPtr? {
    guard let f = args.optional(i) else { return nil }
    guard PyCallable_Check(f) != 0 else {
        throw PythonError.type("Expected `\(name)` to be callable or None, but got \(typeName(f))")
    }
    return f
}

/// Calls `f(*items)` (the items' references are taken) and returns whether the result is
/// true; a Python exception is left set and thrown as `AlreadySet`.
func callTruth(_ f: PyPtr, _ items: [PyPtr]) throws -> Bool {
    let a = try tuple(items)
    defer { Py_DecRef(a) }
    let result = try check(PyObject_CallObject(f, a))
    defer { Py_DecRef(result) }
    let truth = PyObject_IsTrue(result)
    if truth < 0 { throw AlreadySet() }
    return truth == 1
}

/// net_fit(model, x, y, batch_size, epochs, initial_epoch, shuffle, seed, run, threshold,
///         on_batch_end, on_epoch_begin, on_epoch_end, sample_weight=None,
///         x_val=None, y_val=None, val_sample_weight=None) -> stopped
///
/// Runs TallyNet's epoch loop (`Sequential.fit`) without the GIL, on the run seed
/// `Sequential.runSeed(seed, run:)`. The GIL is taken back to call
/// `on_epoch_begin(epoch)`, after each batch to check for Ctrl-C and to call
/// `on_batch_end(batch, size, loss, epoch_loss)` (true: stop after this batch), and
/// `on_epoch_end(epoch, loss, counts bytes, val_loss | None, val counts bytes | None)`
/// (true: stop). The epoch callbacks may call into the model (save, read or set its
/// weights): it is unlocked while they run. An exception or a signal stops the run at
/// once, after a whole optimizer step, and is raised here.
func netFit(_ args: Arguments) throws -> PyPtr? {
    let box = try args.net(0)
    let held = try HeldData(args, 1, 2, weights: 13)
    let validation = try args.optional(14).map { _ in try HeldData(args, 14, 15, weights: 16, prefix: "validation ") }
    let batchSize = try args.int(3, "batch_size")
    let (epochs, initialEpoch) = (try args.int(4, "epochs"), try args.int(5, "initial_epoch"))
    let shuffle = args.bool(6)
    let seed = Sequential.runSeed(UInt64(bitPattern: Int64(try args.int(7, "seed"))), run: try args.int(8, "run"))
    let threshold = try args.threshold(9)
    let onBatchEnd = try callback(args, 10, "on_batch_end")
    let onEpochBegin = try callback(args, 11, "on_epoch_begin")
    let onEpochEnd = try callback(args, 12, "on_epoch_end")
    if let t = box.trainingThread, pthread_equal(t, pthread_self()) != 0 {
        throw PythonError(kind: .runtime, message: "Expected no call into the model from a batch callback while it trains, but got fit()")
    }
    var saved = PyEval_SaveThread()
    /// Runs `body` with the GIL; with `releasingModel`, the model is unlocked meanwhile.
    func withPython<R>(releasingModel: Bool, _ body: () throws -> R) throws -> R {
        func call() throws -> R {
            PyEval_RestoreThread(saved)
            defer { saved = PyEval_SaveThread() }
            if PyErr_CheckSignals() != 0 { throw AlreadySet() }
            return try body()
        }
        guard releasingModel else { return try call() }
        // Taken back after the GIL is dropped again: a thread never waits for the model holding the GIL.
        box.trainingThread = nil
        defer { box.trainingThread = pthread_self() }
        return try box.mutex.unlocked { try call() }
    }
    let history: History
    do {
        history = try box.mutex.locked {
            // Set under the lock: a thread waiting for its turn must not mark itself.
            box.trainingThread = pthread_self()
            defer { box.trainingThread = nil }
            return try box.model.fit(
                held.data, epochs: epochs, initialEpoch: initialEpoch, batchSize: batchSize,
                validation: validation?.data, shuffle: shuffle, seed: seed, threshold: threshold,
                onEpochBegin: { epoch in
                    try withPython(releasingModel: true) {
                        if let onEpochBegin { _ = try callTruth(onEpochBegin, [try pyInt(epoch)]) }
                    }
                },
                onBatchEnd: { logs in
                    try withPython(releasingModel: false) {
                        guard let onBatchEnd else { return false }
                        return try callTruth(onBatchEnd, [try pyInt(logs.batch), try pyInt(logs.size),
                                                          try pyFloat(logs.loss), try pyFloat(logs.epochLoss)])
                    }
                },
                onEpochEnd: { logs in
                    try withPython(releasingModel: true) {
                        guard let onEpochEnd else { return false }
                        return try callTruth(onEpochEnd, [
                            try pyInt(logs.epoch), try pyFloat(logs.loss), try bytesObject(logs.counts.serialized()),
                            try logs.validationLoss.map(pyFloat) ?? tally_none(),
                            try logs.validationCounts.map { try bytesObject($0.serialized()) } ?? tally_none()])
                    }
                })
        }
    } catch {
        PyEval_RestoreThread(saved)
        throw error
    }
    PyEval_RestoreThread(saved)
    return pyBool(history.stopped)
}

/// net_evaluate(model, x, y, batch_size, threshold, sample_weight=None) -> (loss, counts bytes)
func netEvaluate(_ args: Arguments) throws -> PyPtr? {
    let box = try args.net(0)
    let held = try HeldData(args, 1, 2, weights: 5)
    let batchSize = try args.int(3, "batch_size")
    let threshold = try args.threshold(4)
    let r = try box.locked { try $0.evaluate(held.data, batchSize: batchSize, threshold: threshold) }
    return try tuple([try pyFloat(r.loss), try bytesObject(r.counts.serialized())])
}

/// net_predict(model, x, batch_size, out): writes probabilities into `out` (float32, n × output).
func netPredict(_ args: Arguments) throws -> PyPtr? {
    let box = try args.net(0)
    let x = try HeldBuffer(args[1]!, name: "x", dimensions: 2...8)
    let samples = try args.float32Samples(x, "x")
    let batchSize = try args.int(2, "batch_size")
    let width = box.model.outputShape.reduce(1, *)
    let shape = x.shape
    try withWritableFloats(args[3], name: "out", count: shape[0] * width) { out in
        try box.locked { try $0.predict(x: samples, shape: shape, batchSize: batchSize, into: out) }
    }
    return tally_none()
}

/// net_info(model) -> (input_shape, output_shape, weight names, weight shapes, iterations,
///                     learning_rate | None, thread_count)
func netInfo(_ args: Arguments) throws -> PyPtr? {
    let box = try args.net(0)
    let m = box.model
    let (names, shapes, iterations, lr, threads) = try box.locked { m in
        (m.weightNames, m.weightShapes, m.iterations, m.learningRate, m.threadCount)
    }
    return try tuple([try pyInts(m.inputShape), try pyInts(m.outputShape),
                      try tuple(try names.map(pyString)), try tuple(try shapes.map(pyInts)),
                      try check(PyLong_FromLongLong(Int64(iterations))),
                      try lr.map { try pyFloat(Double($0)) } ?? tally_none(),
                      try check(PyLong_FromLongLong(Int64(threads)))])
}

/// Copies array `index` (argument 1) of the model into `out` (argument 2, float32 of its size):
/// `shapes` lists the arrays, `inPlace` lends one of them without a copy.
private func readArray(_ args: Arguments, what: String, shapes: (Sequential) throws -> [[Int]],
                       inPlace: (Sequential, Int, (UnsafeBufferPointer<Float>) -> Void) throws -> Void) throws -> PyPtr? {
    let box = try args.net(0)
    let index = try args.int(1, "index")
    let shapes = try box.locked(shapes)
    guard shapes.indices.contains(index) else {
        throw PythonError.value("Expected \(what) index in 0..<\(shapes.count), but got \(index)")
    }
    try withWritableFloats(args[2], name: "out", count: shapes[index].reduce(1, *)) { out in
        try box.locked { m in
            try inPlace(m, index) { a in
                if let o = out.baseAddress, let s = a.baseAddress { o.update(from: s, count: a.count) }
            }
        }
    }
    return tally_none()
}

/// net_read_weight(model, index, out): copies weight `index` into `out` (float32, its size).
func netReadWeight(_ args: Arguments) throws -> PyPtr? {
    try readArray(args, what: "a weight", shapes: { $0.weightShapes }) { m, k, body in
        try m.withUnsafeMutableWeights(at: k) { body(UnsafeBufferPointer($0)) }
    }
}

/// net_write_weights(model, arrays): replaces every weight (float32, C-contiguous, each of its
/// weight's size); checks all of them (sizes, finite values) before changing any.
func netWriteWeights(_ args: Arguments) throws -> PyPtr? {
    let box = try args.net(0)
    let buffers: [HeldBuffer] = try withItems(args[1], name: "weights") { items in
        try (0..<items.count).map { try HeldBuffer(items[$0]!, name: "weights[\($0)]", dimensions: 0...8) }
    }
    let values = try buffers.enumerated().map { (k, b) in try args.float32Samples(b, "weights[\(k)]") }
    try box.locked { try $0.setWeights(values) }   // checks the count, sizes and values before changing any
    return tally_none()
}

/// net_optimizer_info(model) -> (iterations, slot names, slot shapes); nothing before compile.
func netOptimizerInfo(_ args: Arguments) throws -> PyPtr? {
    let box = try args.net(0)
    let (iterations, names, shapes) = try box.locked { m in (m.iterations, m.optimizerSlotNames, m.optimizerSlotShapes) }
    return try tuple([try check(PyLong_FromLongLong(Int64(iterations))),
                      try tuple(try names.map(pyString)), try tuple(try shapes.map(pyInts))])
}

/// net_read_optimizer_slot(model, index, out): copies optimizer slot `index` into `out` (float32, its size).
func netReadOptimizerSlot(_ args: Arguments) throws -> PyPtr? {
    try readArray(args, what: "an optimizer slot", shapes: { $0.optimizerSlotShapes }) { m, k, body in
        try m.withUnsafeOptimizerSlot(at: k, body)
    }
}

/// net_write_optimizer_state(model, iterations, arrays): replaces the optimizer's iteration
/// count and every slot (float32, C-contiguous); TallyNet checks all of them before changing any.
func netWriteOptimizerState(_ args: Arguments) throws -> PyPtr? {
    let box = try args.net(0)
    let iterations = try args.int(1, "iterations")
    let buffers: [HeldBuffer] = try withItems(args[2], name: "slots") { items in
        try (0..<items.count).map { try HeldBuffer(items[$0]!, name: "slots[\($0)]", dimensions: 0...8) }
    }
    let slots = try buffers.enumerated().map { (k, b) in try args.float32Samples(b, "slots[\(k)]") }
    try box.locked { try $0.setOptimizerState(iterations: iterations, slots: slots) }
    return tally_none()
}

/// net_summary(model) -> str
func netSummary(_ args: Arguments) throws -> PyPtr? {
    let box = try args.net(0)
    return try pyString(try box.locked { $0.summary() })
}

/// net_backend() -> (architecture, vendor, brand, family, model, features, gemm_library,
///                   gemm_kernels, gemm_optimized, gemm_chosen_by, elementwise_kernels, default_threads,
///                   report, own_kernels)
/// The first call configures BLIS from the CPU's features (see `Backend`).
func netBackend(_ args: Arguments) throws -> PyPtr? {
    let b = Backend.current
    return try tuple([try pyString(b.cpu.architecture), try pyString(b.cpu.vendor), try pyString(b.cpu.brand),
                      try check(PyLong_FromLongLong(Int64(b.cpu.family))), try check(PyLong_FromLongLong(Int64(b.cpu.model))),
                      try tuple(try b.cpu.features.map(pyString)), try pyString(b.gemmLibrary), try pyString(b.gemmKernels),
                      pyBool(b.gemmMicroKernelOptimized), try pyString(b.gemmChoice),
                      try pyString(b.elementwiseKernels), try check(PyLong_FromLongLong(Int64(Backend.defaultThreads))),
                      try pyString(b.description), try pyString(b.ownKernels)])
}

/// net_set_threads(model, n)
func netSetThreads(_ args: Arguments) throws -> PyPtr? {
    let box = try args.net(0)
    let n = try args.int(1, "threads")
    guard n >= 1 else { throw PythonError.value("Expected `threads` >= 1, but got \(n)") }
    try box.locked { $0.threadCount = n }
    return tally_none()
}

/// net_allows_winograd(model[, flag]) -> bool (the setting after the call)
func netAllowsWinograd(_ args: Arguments) throws -> PyPtr? {
    let box = try args.net(0)
    let flag: Bool? = args.optional(1) != nil ? args.bool(1) : nil
    return pyBool(try box.locked { model in
        if let flag { model.allowsWinograd = flag }
        return model.allowsWinograd
    })
}

nonisolated(unsafe) let netFunctions: [Declaration] = [
    Declaration("net_new", 3...3, "net_new(input_shape, layers, seed) -> model handle", netNew),
    Declaration("net_compile", 11...12, "net_compile(model, optimizer, lr, momentum, nesterov, beta_1, beta_2, epsilon, decay, loss, from_logits[, label_smoothing])", netCompile),
    Declaration("net_fit", 13...17, "net_fit(model, x, y, batch_size, epochs, initial_epoch, shuffle, seed, run, threshold, on_batch_end, on_epoch_begin, on_epoch_end, sample_weight=None, x_val=None, y_val=None, val_sample_weight=None) -> stopped", netFit),
    Declaration("net_evaluate", 5...6, "net_evaluate(model, x, y, batch_size, threshold, sample_weight=None) -> (loss, counts bytes)", netEvaluate),
    Declaration("net_predict", 4...4, "net_predict(model, x, batch_size, out)", netPredict),
    Declaration("net_info", 1...1, "net_info(model) -> (input_shape, output_shape, names, shapes, iterations, lr, threads)", netInfo),
    Declaration("net_read_weight", 3...3, "net_read_weight(model, index, out)", netReadWeight),
    Declaration("net_write_weights", 2...2, "net_write_weights(model, arrays)", netWriteWeights),
    Declaration("net_optimizer_info", 1...1, "net_optimizer_info(model) -> (iterations, slot names, slot shapes)", netOptimizerInfo),
    Declaration("net_read_optimizer_slot", 3...3, "net_read_optimizer_slot(model, index, out)", netReadOptimizerSlot),
    Declaration("net_write_optimizer_state", 3...3, "net_write_optimizer_state(model, iterations, slots)", netWriteOptimizerState),
    Declaration("net_summary", 1...1, "net_summary(model) -> str", netSummary),
    Declaration("net_backend", 0...0, "net_backend() -> (cpu fields, gemm library, kernels, optimized, chosen by, element-wise kernels, threads, report)", netBackend),
    Declaration("net_set_threads", 2...2, "net_set_threads(model, n)", netSetThreads),
    Declaration("net_allows_winograd", 1...2, "net_allows_winograd(model[, flag]) -> bool", netAllowsWinograd),
]

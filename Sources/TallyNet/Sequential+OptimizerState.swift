import Tally

/// The optimizer's state: what a training run needs, besides the weights, to continue
/// bit for bit (Keras's `optimizer.iterations` and its slot variables).
public struct OptimizerState: Sendable, Equatable {
    /// Updates done since `compile` (drives the learning-rate `decay` and Adam's bias correction).
    public var iterations: Int
    /// The slot arrays in `Sequential.optimizerSlotNames` order, each in its parameter's
    /// Keras layout: SGD's velocity (`momentum`, none without momentum), Adam's first
    /// and second moments (`momentum`, `velocity`).
    public var slots: [[Float]]

    public init(iterations: Int, slots: [[Float]]) {
        self.iterations = iterations
        self.slots = slots
    }
}

extension Sequential {
    /// Names of the optimizer's slot arrays: `<weight name>/<Keras slot name>`, e.g.
    /// `dense/kernel/momentum`, for each weight in `weightNames` order (empty before
    /// `compile` and for SGD without momentum).
    public var optimizerSlotNames: [String] {
        guard let optimizer else { return [] }
        return optimizer.parameters.flatMap { p in optimizer.slotNames.map { "\(p.name)/\($0)" } }
    }

    /// Shapes of the optimizer's slot arrays (each its weight's shape).
    public var optimizerSlotShapes: [[Int]] {
        guard let optimizer else { return [] }
        return optimizer.parameters.flatMap { p in optimizer.slotNames.map { _ in p.shape } }
    }

    private var slotBuffers: [FloatBuffer] { optimizer?.parameters.flatMap(\.slots) ?? [] }

    private func requireOptimizer(_ call: String) throws -> Optimizer {
        guard let optimizer else {
            throw TallyError.invalidValue("Expected a compiled model (call compile(optimizer:loss:) before \(call)), but got an uncompiled one")
        }
        return optimizer
    }

    /// A copy of the optimizer's state.
    ///
    /// - Throws: `TallyError.invalidValue` for a model that was not compiled.
    public func optimizerState() throws -> OptimizerState {
        let optimizer = try requireOptimizer("optimizerState()")
        return OptimizerState(iterations: optimizer.iterations, slots: slotBuffers.map { Array($0.buffer) })
    }

    /// Calls `body` with optimizer slot array `index` in place (no copy), for a bridge
    /// that writes it straight into a file or a numpy array.
    public func withUnsafeOptimizerSlot<R>(at index: Int, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        _ = try requireOptimizer("withUnsafeOptimizerSlot(at:)")
        let buffers = slotBuffers
        guard buffers.indices.contains(index) else {
            throw TallyError.invalidValue("Expected an optimizer slot index in 0..<\(buffers.count), but got \(index)")
        }
        return try body(UnsafeBufferPointer(buffers[index].buffer))
    }

    /// Replaces the optimizer's state, e.g. with one saved after an earlier epoch: with
    /// the same weights (`setWeights`), the next `fit` continues that run exactly.
    ///
    /// - Throws: `TallyError.invalidValue` for an uncompiled model, a negative
    ///   `iterations`, a wrong number of slots, a slot of the wrong size or one holding a
    ///   non-finite value; nothing is changed then.
    public func setOptimizerState(_ state: OptimizerState) throws {
        try withUnsafeBufferPointers(state.slots) { try setOptimizerState(iterations: state.iterations, slots: $0) }
    }

    /// `setOptimizerState(_:)` from buffers the caller owns (a bridge's numpy arrays).
    public func setOptimizerState(iterations: Int, slots: [UnsafeBufferPointer<Float>]) throws {
        let optimizer = try requireOptimizer("setOptimizerState")
        guard iterations >= 0 else {
            throw TallyError.invalidValue("Expected optimizer `iterations` >= 0, but got \(iterations)")
        }
        let names = optimizerSlotNames, shapes = optimizerSlotShapes, buffers = slotBuffers
        guard slots.count == buffers.count else {
            let list = names.isEmpty ? "none for this optimizer" : names.joined(separator: ", ")
            throw TallyError.invalidValue("Expected \(buffers.count) optimizer slot arrays (\(list)), but got \(slots.count)")
        }
        try checkArrays(slots, names: names, shapes: shapes) { "optimizer slot \($0)" }
        for (slot, buffer) in zip(slots, buffers) where buffer.count > 0 {
            buffer.base.update(from: slot.baseAddress!, count: buffer.count)
        }
        optimizer.iterations = iterations
    }
}

/// Calls `body` with a buffer over each array (nested scopes, no copies).
func withUnsafeBufferPointers<R>(_ arrays: [[Float]], _ body: ([UnsafeBufferPointer<Float>]) throws -> R) throws -> R {
    var pointers: [UnsafeBufferPointer<Float>] = []
    func nest(_ k: Int) throws -> R {
        guard k < arrays.count else { return try body(pointers) }
        return try arrays[k].withUnsafeBufferPointer { p in
            pointers.append(p)
            return try nest(k + 1)
        }
    }
    return try nest(0)
}

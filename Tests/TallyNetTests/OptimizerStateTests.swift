import XCTest
@testable import TallyNet
import Tally

/// Reading and writing the optimizer's state: a run continued in a fresh model from the
/// weights and the optimizer state repeats bit for bit; bad states are refused.
final class OptimizerStateTests: XCTestCase {
    let side = 6, channels = 2, labels = 3

    /// Dropout and binding max-norm constraints (pending factors on the Dense kernels).
    func model(_ optimizer: OptimizerSpec) throws -> Sequential {
        let model = try Sequential(inputShape: [side, side, channels], layers: [
            .conv2D(filters: 4, kernelSize: (3, 3), padding: .same, activation: .relu, kernelConstraint: .maxNorm(0.5)),
            .dropout(rate: 0.2),
            .maxPooling2D(),
            .flatten,
            .dense(units: 16, activation: .relu, kernelConstraint: .maxNorm(0.3)),
            .dropout(rate: 0.3),
            .dense(units: labels, activation: .sigmoid, kernelConstraint: .maxNorm(0.4)),
        ], seed: 3)
        model.threadCount = 2
        try model.compile(optimizer: optimizer, loss: .binaryCrossentropy())
        return model
    }

    func testNamesAndShapesFollowTheWeights() throws {
        let sgd = try model(.sgd(learningRate: 0.1, momentum: 0.9))
        XCTAssertEqual(sgd.optimizerSlotNames, sgd.weightNames.map { "\($0)/momentum" })
        XCTAssertEqual(sgd.optimizerSlotShapes, sgd.weightShapes)
        let adam = try model(.adam())
        XCTAssertEqual(adam.optimizerSlotNames.prefix(2), ["conv2d/kernel/momentum", "conv2d/kernel/velocity"])
        XCTAssertEqual(adam.optimizerSlotShapes.count, 2 * adam.weightShapes.count)
        let plain = try model(.sgd(learningRate: 0.1))
        XCTAssertEqual(plain.optimizerSlotNames, [])
        XCTAssertEqual(try plain.optimizerState(), OptimizerState(iterations: 0, slots: []))
    }

    func testRunContinuedInAFreshModelRepeatsBitForBit() throws {
        let data = templateData(count: 40, side: side, channels: channels, labels: labels, seed: 1)
        for spec in [OptimizerSpec.sgd(learningRate: 0.3, momentum: 0.9, decay: 0.01),
                     .sgd(learningRate: 0.3, momentum: 0.9, nesterov: true),
                     .adam(learningRate: 0.05, decay: 0.01)] {
            let whole = try model(spec)
            _ = try whole.fit(x: data.x, y: data.y, count: 40, epochs: 1, batchSize: 8, seed: 21)
            _ = try whole.fit(x: data.x, y: data.y, count: 40, epochs: 1, batchSize: 8, seed: 22)

            let first = try model(spec)
            _ = try first.fit(x: data.x, y: data.y, count: 40, epochs: 1, batchSize: 8, seed: 21)
            let resumed = try model(spec)   // fresh weights and state, replaced below
            try resumed.setWeights(first.weights())
            try resumed.setOptimizerState(try first.optimizerState())
            XCTAssertEqual(resumed.iterations, 5)
            XCTAssertEqual(resumed.learningRate, first.learningRate)
            _ = try resumed.fit(x: data.x, y: data.y, count: 40, epochs: 1, batchSize: 8, seed: 22)
            XCTAssertEqual(resumed.weights(), whole.weights(), "\(spec)")
            XCTAssertEqual(try resumed.optimizerState(), try whole.optimizerState(), "\(spec)")
        }
    }

    func testReadingWeightsAfterAnEpochDoesNotChangeTheRun() throws {
        // Pending max-norm factors are applied at the start of each epoch, or first by a reader:
        // the same values at the same point of the run.
        let data = templateData(count: 40, side: side, channels: channels, labels: labels, seed: 1)
        let quiet = try model(.sgd(learningRate: 0.3, momentum: 0.9))
        _ = try quiet.fit(x: data.x, y: data.y, count: 40, epochs: 3, batchSize: 8, seed: 2)
        let reader = try model(.sgd(learningRate: 0.3, momentum: 0.9))
        _ = try reader.fit(x: data.x, y: data.y, count: 40, epochs: 3, batchSize: 8, seed: 2,
                           onEpochEnd: { _ in _ = reader.weights(); return false })
        XCTAssertEqual(quiet.weights(), reader.weights())
    }

    func testBadStatesAreRefusedAndChangeNothing() throws {
        let m = try model(.adam())
        let good = try m.optimizerState()
        func message(_ state: OptimizerState) -> String? {
            do { try m.setOptimizerState(state); return nil } catch let e as TallyError { return e.message } catch { return "\(error)" }
        }
        var state = good
        state.slots.removeLast()
        XCTAssertEqual(message(state)?.hasPrefix("Expected 12 optimizer slot arrays (conv2d/kernel/momentum, conv2d/kernel/velocity, "), true)
        XCTAssertEqual(message(state)?.hasSuffix("), but got 11"), true)
        state = good
        state.slots[4] = [1, 2, 3]
        XCTAssertEqual(message(state), "Expected optimizer slot 4 (dense/kernel/momentum, shape (36, 16)) to have 576 values, but got 3")
        state = good
        state.slots[1][7] = .nan
        state.iterations = 9
        XCTAssertEqual(message(state), "Expected optimizer slot 1 (conv2d/kernel/velocity) to hold finite numbers, but got nan at 7")
        state = good
        state.iterations = -1
        XCTAssertEqual(message(state), "Expected optimizer `iterations` >= 0, but got -1")
        XCTAssertEqual(try m.optimizerState(), good)
        let uncompiled = try Sequential(inputShape: [4], layers: [.dense(units: 2, activation: .sigmoid)])
        XCTAssertThrowsError(try uncompiled.setOptimizerState(good)) { error in
            XCTAssertEqual((error as? TallyError)?.message,
                           "Expected a compiled model (call compile(optimizer:loss:) before setOptimizerState), but got an uncompiled one")
        }
        XCTAssertThrowsError(try m.withUnsafeOptimizerSlot(at: 12) { _ in })
    }
}

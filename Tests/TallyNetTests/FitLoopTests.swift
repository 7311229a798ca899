import XCTest
@testable import TallyNet
import Tally

/// `fit` is the one epoch loop (the Python bridge runs it too) and the one place where a
/// run's seeds are derived: epoch `e`'s shuffle and dropout masks depend only on the run's
/// seed and `e`, so a run resumed at `initialEpoch` trains exactly as one that never stopped.
final class FitLoopTests: XCTestCase {
    let side = 6, channels = 2, labels = 3, count = 36

    /// Dropout (the step seeds matter) and binding max-norm constraints.
    func model() throws -> Sequential {
        let model = try Sequential(inputShape: [side, side, channels], layers: [
            .conv2D(filters: 4, kernelSize: (3, 3), padding: .same, activation: .relu, kernelConstraint: .maxNorm(0.5)),
            .dropout(rate: 0.3),
            .maxPooling2D(),
            .flatten,
            .dense(units: 8, activation: .relu),
            .dropout(rate: 0.3),
            .dense(units: labels, activation: .sigmoid),
        ], seed: 5)
        model.threadCount = 2
        try model.compile(optimizer: .sgd(learningRate: 0.3, momentum: 0.9), loss: .binaryCrossentropy())
        return model
    }

    /// Runs `body` with the test data (batches of 8: the last of 4).
    func withData<R>(_ body: (LabeledData) throws -> R) throws -> R {
        let data = templateData(count: count, side: side, channels: channels, labels: labels, seed: 4)
        return try data.x.withUnsafeBufferPointer { xp in
            try data.y.withMatrixView(rows: count, columns: labels) { yv in
                try body(LabeledData(x: xp, shape: [count, side, side, channels], y: yv))
            }
        }
    }

    func testARunResumedAtAnEpochTrainsAsOneThatNeverStopped() throws {
        let seed = Sequential.runSeed(11, run: 1)
        let whole = try model(), resumed = try model()
        var begun: [Int] = []
        let history = try withData { data -> History in
            let h = try whole.fit(data, epochs: 3, batchSize: 8, seed: seed)
            _ = try resumed.fit(data, epochs: 1, batchSize: 8, seed: seed)
            _ = try resumed.fit(data, epochs: 3, initialEpoch: 1, batchSize: 8, seed: seed,
                                onEpochBegin: { begun.append($0) })
            return h
        }
        XCTAssertEqual(history.epochs.map(\.epoch), [0, 1, 2])
        XCTAssertEqual(begun, [1, 2])
        XCTAssertEqual(resumed.weights(), whole.weights())
        XCTAssertEqual(try resumed.optimizerState(), try whole.optimizerState())
    }

    func testEachEpochDrawsItsOwnShuffleAndMasks() throws {
        // Two epochs from epoch 0 and from epoch 1 of the same run differ: the epoch
        // index reaches the shuffle and the dropout masks.
        let a = try model(), b = try model()
        try withData { data in
            _ = try a.fit(data, epochs: 1, batchSize: 8, seed: 7)
            _ = try b.fit(data, epochs: 2, initialEpoch: 1, batchSize: 8, seed: 7)
        }
        XCTAssertNotEqual(a.weights(), b.weights())
        XCTAssertNotEqual(Sequential.runSeed(7, run: 1), Sequential.runSeed(7, run: 2))
    }

    func testAnErrorFromACallbackStopsTheRunAtOnce() throws {
        struct Interrupted: Error {}
        let model = try model()
        var batches = 0, epochsEnded = 0
        XCTAssertThrowsError(try withData { data in
            try model.fit(data, epochs: 3, batchSize: 8, seed: 1,
                          onBatchEnd: { logs in
                              batches += 1
                              if logs.epoch == 1 && logs.batch == 2 { throw Interrupted() }
                              return false
                          },
                          onEpochEnd: { _ in epochsEnded += 1; return false })
        }) { XCTAssert($0 is Interrupted) }
        // 5 steps in epoch 0, 3 in epoch 1; the interrupted epoch is neither validated nor logged.
        XCTAssertEqual(batches, 8)
        XCTAssertEqual(epochsEnded, 1)
        XCTAssertEqual(model.iterations, 8)
    }
}

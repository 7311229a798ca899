import XCTest
import Tally

/// An example of gating a model in a Swift test suite: load `y_true.npy` and
/// `y_score.npy` recorded from a training run (`np.save`), count, and assert a
/// minimum per-label score. A failure names the label and its scores.
final class ModelGateExampleTests: XCTestCase {
    func counts(_ truthPath: String, _ scorePath: String) throws -> ConfusionCounts {
        let truth = try NPYArray(contentsOf: truthPath)
        let scores = try NPYArray(contentsOf: scorePath)
        var counts = try ConfusionCounts(labelCount: truth.shape[1], threshold: .scalar(0.5))
        try counts.update(truth: truth, prediction: scores)
        return counts
    }

    func testRecordedModelClearsItsGate() throws {
        let counts = try counts(fixtures + "case0_y_true.npy", fixtures + "case0_y_score.npy")
        // The fixture's scores are random: precision sits near each label's frequency.
        // A real model's gate would be higher.
        let gate = ScoreGate(minimum: [.precision: 0.15], minimumSupport: 5)
        let failures = try gate.failures(counts)
        XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
    }

    func testFailuresNameTheLabelAndTheScores() throws {
        let counts = try counts(fixtures + "case0_y_true.npy", fixtures + "case0_y_score.npy")
        let names = ["zero", "one", "two", "three", "four", "five", "six"]
        let failures = try ScoreGate(minimum: [.f1: 0.9]).failures(counts, names: names)
        // Label 0 has no positives (support 0): not gated.
        XCTAssertFalse(failures.contains { $0.hasPrefix("label 'zero'") })
        let r = try counts.precisionRecallFScore(zeroDivision: .value(0))
        XCTAssertEqual(failures[0], "label 'one': f1 \(formatFixed(r.fScore[1], digits: 3)) < 0.900 "
            + "(precision \(formatFixed(r.precision[1], digits: 3)), recall \(formatFixed(r.recall[1], digits: 3)), "
            + "support \(Int(r.support![1])))")
        XCTAssertEqual(failures.count, 6)
    }
}

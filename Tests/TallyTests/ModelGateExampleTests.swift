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
        // Written out from scikit-learn's precision_recall_fscore_support(y_true, y_score >= 0.5,
        // average=None, zero_division=0) on the same fixture, formatted "%.3f".
        // Label 0 has no positives (support 0): not gated.
        XCTAssertEqual(failures, [
            "label 'one': f1 0.041 < 0.900 (precision 1.000, recall 0.021, support 48)",
            "label 'two': f1 0.343 < 0.900 (precision 0.276, recall 0.453, support 53)",
            "label 'three': f1 0.288 < 0.900 (precision 0.241, recall 0.357, support 56)",
            "label 'four': f1 0.333 < 0.900 (precision 0.261, recall 0.460, support 50)",
            "label 'five': f1 0.373 < 0.900 (precision 0.304, recall 0.483, support 58)",
            "label 'six': f1 0.302 < 0.900 (precision 0.244, recall 0.396, support 48)",
        ])
        // Two minimums: one message per score below its own, in precision, recall, f1 order.
        let two = try ScoreGate(minimum: [.precision: 0.3, .recall: 0.45], minimumSupport: 50).failures(counts, names: names)
        XCTAssertEqual(two, [
            "label 'two': precision 0.276 < 0.300 (precision 0.276, recall 0.453, support 53)",
            "label 'three': precision 0.241 < 0.300 (precision 0.241, recall 0.357, support 56)",
            "label 'three': recall 0.357 < 0.450 (precision 0.241, recall 0.357, support 56)",
            "label 'four': precision 0.261 < 0.300 (precision 0.261, recall 0.460, support 50)",
        ])
    }
}

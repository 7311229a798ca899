import XCTest
@testable import Tally

final class ClassificationReportTests: XCTestCase {
    func testNumbersFormatAsPythonFormatsThem() throws {
        let text = String(decoding: try readFile(fixtures + "number_formats.txt"), as: UTF8.self)
        var checked = 0
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            let x = Double(bitPattern: UInt64(f[0], radix: 16)!)
            for (i, digits) in [0, 2, 4].enumerated() where f[1 + i] != "-" {
                XCTAssertEqual(formatFixed(x, digits: digits), f[1 + i], "format(\(f[4]), '.\(digits)f')")
            }
            XCTAssertEqual(pythonRepr(x), f[4])
            checked += 1
        }
        XCTAssertGreaterThan(checked, 600)
    }

    func testNumpySumMatchesPairwiseOrder() {
        // 0.1 added 1000 times: pairwise and sequential sums differ in the last bits.
        let values = [Double](repeating: 0.1, count: 1000)
        XCTAssertEqual(numpySum(values[...]), 100.00000000000001)  // np.full(1000, 0.1).sum()
        XCTAssertEqual(numpySum(values[0..<100]), 9.999999999999998)  // np.full(100, 0.1).sum()
        XCTAssertEqual(numpySum(values[0..<20]), 2.0000000000000004)
        XCTAssertEqual(numpySum([1, 2, 3][...]), 6)
        XCTAssertEqual(numpySum([][...]), 0)
    }

    func counts(case k: Int) throws -> ConfusionCounts {
        let truth = try NPYArray(contentsOf: fixtures + "case\(k)_y_true.npy")
        let scores = try NPYArray(contentsOf: fixtures + "case\(k)_y_score.npy")
        let weights = (try? NPYArray(contentsOf: fixtures + "case\(k)_weight.npy"))?.doubles()
        var counts = try ConfusionCounts(labelCount: truth.shape[1])
        try counts.update(truth: truth, prediction: scores, sampleWeight: weights)
        return counts
    }

    func testTextIsScikitLearnsCharacterForCharacter() throws {
        for k in [0, 1, 2] {
            let report = try ClassificationReport(counts(case: k), zeroDivision: .zero)
            for digits in [2, 4] {
                let expected = String(decoding: try readFile(fixtures + "case\(k)_report_\(digits).txt"), as: UTF8.self)
                XCTAssertEqual(report.text(digits: digits), expected, "case \(k), digits \(digits)")
            }
        }
    }

    func testNamesSubsetsJSONAndMarkdown() throws {
        let counts = try makeCounts([1, 0, 1, 1], [0.9, 0.1, 0.2, 0.8], labels: 2)
        let report = try ClassificationReport(counts, names: ["cat", "d|og"], zeroDivision: .zero)
        XCTAssertTrue(report.text().contains("         cat       1.00      0.50      0.67         2\n"))
        XCTAssertTrue(report.markdown().contains("| d\\|og | 1.00 | 1.00 | 1.00 | 1 |\n"))
        XCTAssertTrue(report.json().hasPrefix("{\"cat\": {\"precision\": 1.0, \"recall\": 0.5, \"f1-score\": 0.6666666666666666, \"support\": 2}"))
        let subset = try ClassificationReport(counts, names: ["second"], labels: [1], zeroDivision: .zero)
        XCTAssertEqual(subset.averages.map(\.name), ["micro avg", "macro avg", "weighted avg"])
        XCTAssertThrowsError(try ClassificationReport(counts, names: ["one"])) {
            XCTAssertEqual(($0 as? TallyError)?.message, "Expected 2 label names (one per reported label), but got 1")
        }
    }
}

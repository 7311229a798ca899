import XCTest
@testable import Tally

/// The report layouts, for reports built from rows (the Python package's binary and
/// multi-class targets). Expected text: scikit-learn 1.9's
/// `classification_report([0, 1, 2, 2], [0, 2, 2, 1], zero_division=0)`, copied.
final class ReportFormattingTests: XCTestCase {
    func multiclass() -> ClassificationReport {
        let rows = [("0", 1.0, 1.0, 1.0, 1.0), ("1", 0, 0, 0, 1), ("2", 0.5, 0.5, 0.5, 2)].map {
            ClassificationReport.Row(name: $0.0, precision: $0.1, recall: $0.2, f1: $0.3, support: $0.4)
        }
        let averages = [
            ClassificationReport.Row(name: "accuracy", precision: 0.5, recall: 0.5, f1: 0.5, support: 4, isAccuracy: true),
            ClassificationReport.Row(name: "macro avg", precision: 0.5, recall: 0.5, f1: 0.5, support: 4),
            ClassificationReport.Row(name: "weighted avg", precision: 0.5, recall: 0.5, f1: 0.5, support: 4),
        ]
        return ClassificationReport(labels: rows, averages: averages, weighted: false)
    }

    func testTextWithAccuracyLineIsScikitLearns() {
        let expected = "              precision    recall  f1-score   support\n\n           0       1.00      1.00      1.00         1\n           1       0.00      0.00      0.00         1\n           2       0.50      0.50      0.50         2\n\n    accuracy                           0.50         4\n   macro avg       0.50      0.50      0.50         4\nweighted avg       0.50      0.50      0.50         4\n"
        XCTAssertEqual(multiclass().formatted(.text), expected)
    }

    func testMarkdownHTMLAndJSON() {
        let report = multiclass()
        XCTAssertEqual(report.formatted(.markdown).split(separator: "\n").map(String.init), [
            "| label | precision | recall | f1-score | support |", "|---|---:|---:|---:|---:|",
            "| 0 | 1.00 | 1.00 | 1.00 | 1 |", "| 1 | 0.00 | 0.00 | 0.00 | 1 |", "| 2 | 0.50 | 0.50 | 0.50 | 2 |",
            "| accuracy |  |  | 0.50 | 4 |", "| macro avg | 0.50 | 0.50 | 0.50 | 4 |", "| weighted avg | 0.50 | 0.50 | 0.50 | 4 |",
        ])
        let html = report.formatted(.html, digits: 1, caption: "a <b> & 'c'")
        XCTAssertTrue(html.hasPrefix("<table class=\"tally-report\"><caption>a &lt;b&gt; &amp; &#x27;c&#x27;</caption><thead><tr><th></th><th>precision</th>"))
        XCTAssertTrue(html.contains("<tr><th>2</th><td>0.5</td><td>0.5</td><td>0.5</td><td>2</td></tr>"))
        XCTAssertTrue(html.contains("<tr class=\"average\"><th>accuracy</th><td></td><td></td><td>0.5</td><td>4</td></tr>"))
        XCTAssertTrue(html.hasSuffix("</tr></tbody></table>"))
        XCTAssertTrue(report.formatted(.json).contains("\"accuracy\": 0.5, \"macro avg\": {\"precision\": 0.5"))
    }

    /// Supports print as integers while unweighted and as Python floats when weighted,
    /// in every layout.
    func testWeightedSupportsPrintAsFloats() {
        let row = ClassificationReport.Row(name: "a", precision: 1, recall: 1, f1: 1, support: 2.5)
        let report = ClassificationReport(labels: [row], averages: [], weighted: true)
        XCTAssertTrue(report.formatted(.text).contains("       2.5\n"))
        XCTAssertTrue(report.formatted(.markdown).contains("| 2.5 |"))
        XCTAssertTrue(report.formatted(.html).contains("<td>2.5</td>"))
    }
}

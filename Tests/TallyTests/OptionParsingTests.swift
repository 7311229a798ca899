import XCTest
@testable import Tally

/// The core's parsers for the names users type: what they accept, and the exact
/// message for what they refuse (the message Python users see as ValueError).
final class OptionParsingTests: XCTestCase {
    func message(_ body: () throws -> Any?) -> String? {
        do { _ = try body(); return nil } catch { return (error as? TallyError)?.message }
    }

    func testZeroDivisionAcceptsExactlyWarnZeroOneNan() throws {
        XCTAssertEqual(try ZeroDivision(keyword: "warn"), .warn)
        XCTAssertEqual(try ZeroDivision(number: 0), .zero)
        XCTAssertEqual(try ZeroDivision(number: -0.0), .zero)
        XCTAssertEqual(try ZeroDivision(number: 1), .one)
        XCTAssertEqual(try ZeroDivision(number: .nan), .nan)
        for (text, want) in [("warn", ZeroDivision.warn), ("0", .zero), ("0.0", .zero), ("1", .one), ("1.0", .one),
                             ("nan", .nan), ("NaN", .nan)] {
            XCTAssertEqual(try ZeroDivision(parsing: text), want, text)
        }
        XCTAssertEqual(ZeroDivision.warn.replacement, 0)
        XCTAssertEqual(ZeroDivision.one.replacement, 1)
        XCTAssertTrue(ZeroDivision.nan.replacement.isNaN)
    }

    func testZeroDivisionRefusals() {
        XCTAssertEqual(message { try ZeroDivision(number: 0.5) },
                       "Expected `zero_division` to be \"warn\", 0, 1 or nan, but got 0.5")
        XCTAssertEqual(message { try ZeroDivision(number: .infinity) },
                       "Expected `zero_division` to be \"warn\", 0, 1 or nan, but got inf")
        XCTAssertEqual(message { try ZeroDivision(keyword: "0") },
                       "Expected `zero_division` to be \"warn\", 0, 1 or nan, but got '0'")
        XCTAssertEqual(message { try ZeroDivision(parsing: "Warn") },
                       "Expected `zero_division` to be \"warn\", 0, 1 or nan, but got 'Warn'")
    }

    func testAverageParsing() throws {
        XCTAssertEqual(try Average(parsing: "macro"), .macro)
        XCTAssertNil(try Average(parsingOptional: nil))
        XCTAssertEqual(try Average(parsingOptional: "samples"), .samples)
        XCTAssertEqual(message { try Average(parsingOptional: "mean") },
                       "Expected `average` to be one of None, 'micro', 'macro', 'weighted', 'samples', but got 'mean'")
        XCTAssertEqual(message { try Average(parsingOptional: "samples", allowed: [.micro, .macro, .weighted]) },
                       "Expected `average` to be one of None, 'micro', 'macro', 'weighted', but got 'samples'")
        XCTAssertEqual(message { try Average(parsing: "binary") },
                       "Expected `average` to be one of 'micro', 'macro', 'weighted', 'samples', but got 'binary'")
    }

    /// No name means "the other one": each unknown name is refused.
    func testMetricNamesRefuseUnknownNames() throws {
        XCTAssertEqual(try NegativeClassMetric(parsing: "npv"), .negativePredictiveValue)
        XCTAssertEqual(message { try NegativeClassMetric(parsing: "sensitivity") },
                       "Expected `metric` to be one of 'specificity', 'npv', but got 'sensitivity'")
        XCTAssertEqual(try CurveKind(parsing: "pr"), .precisionRecall)
        XCTAssertEqual(message { try CurveKind(parsing: "det") }, "Expected `kind` to be one of 'roc', 'pr', but got 'det'")
        XCTAssertEqual(message { try RankingScore(parsing: "auc") },
                       "Expected `metric` to be one of 'roc_auc', 'average_precision', but got 'auc'")
        XCTAssertEqual(try RankingMetric(parsing: "ranking_loss"), .rankingLoss)
        XCTAssertNotNil(message { try RankingMetric(parsing: "lraps") })
        XCTAssertEqual(message { try ReportFormat(parsing: "latex") },
                       "Expected `format` to be one of 'text', 'json', 'markdown', 'html', but got 'latex'")
        XCTAssertEqual(try SummedCounts.RowScore(parsing: "fbeta"), .fBeta)
    }

    /// The negative-class entry point by name gives the named metric.
    func testNegativeClassByName() throws {
        // label 0: tn 1, fp 1, fn 0 → specificity 1/2, NPV 1.
        let counts = try makeCounts([1, 0, 0], [1, 1, 0], labels: 1, kind: .labels)
        XCTAssertEqual(try counts.negativeClassScore(.specificity).values, [0.5])
        XCTAssertEqual(try counts.negativeClassScore(.negativePredictiveValue).values, [1])
    }
}

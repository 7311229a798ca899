import XCTest
@testable import Tally

/// A seeded generator (SplitMix64) so random tests repeat exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Counts from row-major 0/1 truth and scores (or predictions).
func makeCounts(_ truth: [UInt8], _ scores: [Double], labels: Int, weights: [Double]? = nil,
                threshold: Threshold = .scalar(0.5), kind: PredictionKind = .scores) throws -> ConfusionCounts {
    var counts = try ConfusionCounts(labelCount: labels, threshold: threshold)
    try counts.add(truth, scores, labels: labels, weights: weights, kind: kind)
    return counts
}

extension ConfusionCounts {
    mutating func add(_ truth: [UInt8], _ scores: [Double], labels: Int, weights: [Double]? = nil,
                      kind: PredictionKind = .scores) throws {
        let rows = labels == 0 ? 0 : truth.count / labels
        try truth.withMatrixView(rows: rows, columns: labels) { t in
            try scores.withMatrixView(rows: rows, columns: labels) { s in
                try weights.withOptionalBuffer { try update(truth: t, prediction: s, sampleWeight: $0, kind: kind) }
            }
        }
    }
}

/// Equal as numbers, nan equal to nan.
func assertClose(_ a: [Double], _ b: [Double], tolerance: Double = 1e-12, _ message: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "length " + message, file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() {
        if x.isNaN || y.isNaN {
            XCTAssertTrue(x.isNaN && y.isNaN, "[\(i)] \(x) vs \(y) " + message, file: file, line: line)
        } else {
            XCTAssertEqual(x, y, accuracy: tolerance, "[\(i)] " + message, file: file, line: line)
        }
    }
}

/// The folder of recorded arrays beside this file.
let fixtures: String = {
    let here = "\(#filePath)"
    return String(here[..<here.lastIndex(of: "/")!]) + "/Fixtures/"
}()

/// Calls `body` with each batch of `batchSize` rows of a recorded (bool truth, float32
/// scores) pair as matrix views, with that batch's sample weights when there are any.
func forEachRecordedBatch(truth: NPYArray, scores: NPYArray, weights: [Double]?, batchSize: Int,
                          _ body: (MatrixView, MatrixView, UnsafeBufferPointer<Double>?) throws -> Void) throws {
    XCTAssertEqual(truth.elementType, .bool)
    XCTAssertEqual(scores.elementType, .float32)
    let rows = truth.shape[0], labels = truth.shape[1]
    try truth.bytes.withUnsafeBytes { t in
        try scores.bytes.withUnsafeBytes { s in
            var start = 0
            while start < rows {
                let n = min(batchSize, rows - start)
                let tv = MatrixView(base: t.baseAddress! + start * labels, elementType: .bool, rows: n, columns: labels)
                let sv = MatrixView(base: s.baseAddress! + 4 * start * labels, elementType: .float32, rows: n, columns: labels)
                if let w = weights {
                    try Array(w[start..<(start + n)]).withUnsafeBufferPointer { try body(tv, sv, $0) }
                } else {
                    try body(tv, sv, nil)
                }
                start += n
            }
        }
    }
}

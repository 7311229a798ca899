// The arrays every command reads: --true, --score, --weights and --ignore-value. With
// --ignore-value the entries of y_true equal to it (and nan) are unknown: the core's
// `MissingLabels` turns them into element weights of 0, and each label is scored on
// the rows where it is known (README "Missing labels"), as in the Python script.

import Tally

struct RecordedBatch {
    let truth: NPYArray
    let scores: NPYArray
    let rowWeights: [Double]?
    /// Row-major (rows × labels) weights, 0 where unknown; nil when nothing is unknown
    /// (the batch then takes the unmasked path and gives the unmasked result exactly).
    let elementWeights: [Double]?

    init(truePath: String, scorePath: String, weightsPath: String?, ignoreValue: Double?) throws {
        let truth = try NPYArray(contentsOf: truePath)
        self.truth = truth
        scores = try NPYArray(contentsOf: scorePath)
        guard truth.shape.count == 2 else {
            throw TallyError.invalidValue("Expected y_true to be 2-D (n, labels), but got shape \(truth.shape)")
        }
        let weights = try weightsPath.map { try NPYArray(contentsOf: $0).doubles() }
        rowWeights = weights
        let missing = try ignoreValue.map { try MissingLabels(ignoreValue: $0) }
        elementWeights = try missing.flatMap { m in
            try truth.withMatrixView { t in try weights.withOptionalBuffer { try m.elementWeights(truth: t, sampleWeight: $0) } }
        }
    }

    var labelCount: Int { truth.shape[1] }

    /// Calls `rows` with the arrays and their row weights, or `elements` with the arrays
    /// and their element weights when --ignore-value marked an entry unknown.
    func apply(rows: (MatrixView, MatrixView, UnsafeBufferPointer<Double>?) throws -> Void,
               elements: (MatrixView, MatrixView, MatrixView) throws -> Void) throws {
        try truth.withMatrixView { t in
            try scores.withMatrixView { s in
                if let e = elementWeights {
                    try e.withMatrixView(rows: t.rows, columns: t.columns) { try elements(t, s, $0) }
                } else {
                    try rowWeights.withOptionalBuffer { try rows(t, s, $0) }
                }
            }
        }
    }

    /// Adds the batch to a score accumulator (score store, calibration sums).
    func add<A: ElementWeightedScoreAccumulator>(to accumulator: inout A) throws {
        try apply(rows: { try accumulator.update(truth: $0, scores: $1, sampleWeight: $2) },
                  elements: { try accumulator.update(truth: $0, scores: $1, elementWeights: $2) })
    }
}

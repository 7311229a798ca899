/// What the score-based accumulators share (`ScoreStore`, `BinnedScores`,
/// `RankingSums`): batches of (truth, scores, weights), exact merging, and a byte
/// form that restores only states an update could reach.
public protocol ScoreAccumulator: Equatable, Sendable {
    var labelCount: Int { get }
    /// Adds a batch; a call that throws changes nothing.
    mutating func update(truth: MatrixView, scores: MatrixView, sampleWeight: UnsafeBufferPointer<Double>?) throws
    /// Adds another accumulator of the same configuration; a call that throws changes nothing.
    mutating func merge(_ other: Self) throws
    func serialized() -> [UInt8]
    init(serialized bytes: [UInt8]) throws
}

extension ScoreStore: ScoreAccumulator {}
extension BinnedScores: ScoreAccumulator {}
extension RankingSums: ScoreAccumulator {}

/// A score accumulator that also takes a weight per (row, label), 0 marking an unknown
/// entry (ScoreAccumulator+ElementWeights.swift).
public protocol ElementWeightedScoreAccumulator: ScoreAccumulator {
    /// Adds a batch with element weights; a call that throws changes nothing.
    mutating func update(truth: MatrixView, scores: MatrixView, elementWeights: MatrixView) throws
}

extension ScoreStore: ElementWeightedScoreAccumulator {}
extension BinnedScores: ElementWeightedScoreAccumulator {}
extension RankingSums: ElementWeightedScoreAccumulator {}

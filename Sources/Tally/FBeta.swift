/// The F-beta score's one definition, for per-label, micro and per-row counts:
/// (1 + β²)·tp / ((1 + β²)·tp + β²·fn + fp), written with the predicted (tp + fp)
/// and actual (tp + fn) counts as (1 + β²)·tp / (β²·actual + predicted).
///
/// Edge cases, as scikit-learn: β = 0 is precision (tp / predicted); β = ∞ is
/// recall (tp / actual); for other β the score is undefined only when
/// tp + fp + fn = 0 (its denominator is then 0).
///
///     let f = try FBeta(beta: 2)
///     f.fraction(truePositives: 1, predicted: 2, actual: 1)   // (5, 6): F2 = 5/6
public struct FBeta: Equatable, Sendable {
    public let beta: Double

    /// - Throws: `TallyError.invalidValue` unless `beta` is a number ≥ 0 (∞ allowed).
    public init(beta: Double) throws {
        guard beta >= 0 else {
            throw TallyError.invalidValue("Expected `beta` to be a number >= 0, but got \(pythonRepr(beta))")
        }
        self.beta = beta
    }

    /// For a `beta` its caller has already checked (≥ 0).
    init(checked beta: Double) {
        assert(beta >= 0, "FBeta(checked:) needs beta >= 0")
        self.beta = beta
    }

    /// Whether the score is precision (β = 0) or recall (β = ∞), so that an
    /// undefined value has already been reported as precision's or recall's.
    public var isPrecisionOrRecall: Bool { beta == 0 || beta == .infinity }

    /// The score's numerator and denominator; the score is undefined where the
    /// denominator is 0.
    @inline(__always)
    public func fraction(truePositives tp: Double, predicted: Double, actual: Double) -> (numerator: Double, denominator: Double) {
        if beta == .infinity { return (tp, actual) }
        if beta == 0 { return (tp, predicted) }
        let beta2 = beta * beta
        return ((1 + beta2) * tp, beta2 * actual + predicted)
    }
}

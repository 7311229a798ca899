/// Minimum per-label scores a model must reach: how a Swift test suite gates a
/// model on arrays recorded from a Keras or TallyNet run.
///
///     let gate = ScoreGate(minimum: [.f1: 0.8, .recall: 0.7])
///     let failures = try gate.failures(counts, names: names)
///     XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
///     // label 'digit 3': f1 0.712 < 0.800 (precision 0.650, recall 0.790, support 41)
public struct ScoreGate: Sendable {
    public enum Score: String, CaseIterable, Sendable { case precision, recall, f1 }

    /// The least each score may be, for every label.
    public var minimum: [Score: Double]
    /// Labels whose support is below this are not gated (too few examples to judge).
    public var minimumSupport: Double
    /// The value of an undefined score.
    public var zeroDivision: ZeroDivision

    public init(minimum: [Score: Double], minimumSupport: Double = 1, zeroDivision: ZeroDivision = .zero) {
        self.minimum = minimum
        self.minimumSupport = minimumSupport
        self.zeroDivision = zeroDivision
    }

    /// One message per label and score below its minimum; empty when the model passes.
    public func failures(_ counts: ConfusionCounts, names: [String]? = nil) throws -> [String] {
        let names = names ?? (0..<counts.labelCount).map { "\($0)" }
        guard names.count == counts.labelCount else {
            throw TallyError.invalidValue("Expected \(counts.labelCount) label names, but got \(names.count)")
        }
        let r = try counts.precisionRecallFScore(average: nil, zeroDivision: zeroDivision)
        let support = r.support ?? []
        var out: [String] = []
        for j in 0..<counts.labelCount where support[j] >= minimumSupport {
            let values: [Score: Double] = [.precision: r.precision[j], .recall: r.recall[j], .f1: r.fScore[j]]
            for score in Score.allCases {
                guard let least = minimum[score], let v = values[score], !(v >= least) else { continue }
                out.append("label '\(names[j])': \(score.rawValue) \(formatFixed(v, digits: 3)) < \(formatFixed(least, digits: 3)) "
                    + "(precision \(formatFixed(r.precision[j], digits: 3)), recall \(formatFixed(r.recall[j], digits: 3)), "
                    + "support \(counts.isWeighted ? pythonRepr(support[j]) : String(Int64(support[j]))))")
            }
        }
        return out
    }
}

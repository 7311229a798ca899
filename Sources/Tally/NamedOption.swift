/// A choice that users make by name (`average="macro"`, `format="html"`): one
/// parser for every such name, which refuses what it does not know with the
/// message users see, so no layer turns an unchecked string into behaviour.
public protocol NamedOption: RawRepresentable, CaseIterable, Sendable where RawValue == String {
    /// The parameter as users spell it, for the error message (`average`, `metric`).
    static var parameterName: String { get }
}

extension NamedOption {
    /// The option named `name`.
    /// - Throws: `TallyError.invalidValue` naming the accepted spellings, e.g.
    ///   "Expected `format` to be one of 'text', 'json', 'markdown', 'html', but got 'csv'".
    public init(parsing name: String) throws {
        guard let option = Self(rawValue: name) else {
            throw TallyError.invalidValue("Expected `\(Self.parameterName)` to be one of \(Self.spelledNames), but got '\(name)'")
        }
        self = option
    }

    /// The accepted names, quoted as Python prints strings: "'micro', 'macro'".
    public static var spelledNames: String { allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ") }
}

// The options after a command, read one flag at a time. Every reader takes the flag's
// value and, when it does not parse, exits with status 2 naming the flag, what it
// expects and what came (the Python console script prints the same words).

#if canImport(Glibc)
import Glibc
#endif

final class Flags {
    private let arguments: [String]
    private var i = 1  // arguments[0] is the command

    init(_ arguments: [String]) { self.arguments = arguments }

    /// Calls `body` with each flag in turn; `body` reads the flag's value, if it has one,
    /// through the readers below.
    func forEach(_ body: (String) throws -> Void) rethrows {
        while i < arguments.count {
            try body(arguments[i])
            i += 1
        }
    }

    /// The flag's value, as given.
    func value(_ flag: String) -> String {
        i += 1
        guard i < arguments.count else { fail("\(flag) needs a value") }
        return arguments[i]
    }

    /// The flag's value converted, or exit: "FLAG expects EXPECTS, but got 'VALUE'".
    func parsed<T>(_ flag: String, expects: String, _ convert: (String) -> T?) -> T {
        let v = value(flag)
        guard let x = convert(v) else { fail("\(flag) expects \(expects), but got '\(v)'") }
        return x
    }

    /// A number; nan only when `allowingNaN` (an ignore value, or one the core refuses itself).
    func number(_ flag: String, allowingNaN: Bool = false) -> Double {
        parsed(flag, expects: "a number") { Double($0).flatMap { $0.isNaN && !allowingNaN ? nil : $0 } }
    }

    /// An integer in `range`.
    func integer(_ flag: String, _ range: ClosedRange<Int>) -> Int {
        parsed(flag, expects: "\(range.lowerBound) to \(range.upperBound)") { Int($0).flatMap { range.contains($0) ? $0 : nil } }
    }
}

#if canImport(Glibc)
import Glibc
#endif

// Shared by the fuzz targets.

/// Stops the fuzzer with a message: a crash is what libFuzzer records as a finding.
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz check failed: \(message())") }
}

/// Reads the fuzzer's bytes as a stream of small decisions; zeros past the end.
struct FuzzInput {
    let bytes: [UInt8]
    var index = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    mutating func byte() -> UInt8 {
        defer { index += 1 }
        return index < bytes.count ? bytes[index] : 0
    }
    mutating func pick<T>(_ table: [T]) -> T { table[Int(byte()) % table.count] }
    mutating func word() -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(byte()) << UInt64(8 * $1) } }
}

/// With TALLY_FUZZ_DUMP=path (replaying one crash input), writes the state bytes
/// the restore saw: that file becomes a fixture of Tests/TallyTests.
func dumpForRegression(_ bytes: [UInt8]) {
    guard let path = getenv("TALLY_FUZZ_DUMP"), let file = fopen(path, "wb") else { return }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    fclose(file)
}

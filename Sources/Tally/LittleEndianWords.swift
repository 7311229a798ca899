/// The byte form every serialized state uses: 64-bit words, little endian.

/// `words` as little-endian bytes, 8 per word.
func littleEndianBytes(_ words: [UInt64]) -> [UInt8] {
    words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
}

/// Little-endian bytes as 64-bit words (a trailing partial word is dropped: callers check the length).
func littleEndianWords(_ bytes: [UInt8]) -> [UInt64] {
    var words = [UInt64](repeating: 0, count: bytes.count / 8)
    for i in words.indices {
        var w: UInt64 = 0
        for b in 0..<8 { w |= UInt64(bytes[8 * i + b]) << (8 * b) }
        words[i] = w
    }
    return words
}

/// Reads a serialized state word by word, failing with one message shape:
/// "Expected bytes from T.serialized(), but …".
struct StateReader {
    let words: [UInt64]
    /// The next word to take (the header words before it are read directly).
    var index: Int
    let source: String

    /// - Parameters:
    ///   - source: the type whose `serialized()` made the bytes, for messages.
    ///   - headerWords: the words the caller reads directly from `words`; fewer bytes are refused.
    init(_ bytes: [UInt8], source: String, headerWords: Int) throws {
        self.source = source
        words = littleEndianWords(bytes)
        index = headerWords
        guard bytes.count % 8 == 0, bytes.count >= 8 * headerWords else { throw fail("got \(bytes.count) bytes") }
    }

    func fail(_ why: String) -> TallyError {
        TallyError.invalidValue("Expected bytes from \(source).serialized(), but \(why)")
    }

    /// The next `n` words.
    mutating func take(_ n: Int) throws -> ArraySlice<UInt64> {
        guard n >= 0, index + n <= words.count else { throw fail("it ends early") }
        defer { index += n }
        return words[index..<(index + n)]
    }

    /// Throws when words are left over.
    func finish() throws {
        guard index == words.count else { throw fail("there are \(words.count - index) extra words") }
    }
}

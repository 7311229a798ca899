import XCTest
@testable import Tally

#if canImport(Glibc)
import Glibc
#endif

/// What the fuzzers found (kept inputs under Fixtures/fuzz-regressions), corrupted
/// states and counts at the edge of Int64. (One accumulator shared by threads is the
/// bridge's job, behind its own lock: python/tests/test_streaming.py tests that lock.)
final class RobustnessTests: XCTestCase {
    // MARK: Fuzz regressions

    /// The files of Fixtures/fuzz-regressions whose names start with `prefix`.
    func regressionFiles(_ prefix: String) -> [String] {
        let folder = fixtures + "fuzz-regressions/"
        guard let dir = opendir(folder) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name.hasPrefix(prefix) { names.append(folder + name) }
        }
        return names.sorted()
    }

    /// Corrupted states the restore fuzzer produced: each must be refused.
    func testFuzzedStatesAreRefused() throws {
        let files = regressionFiles("state-")
        XCTAssertFalse(files.isEmpty, "no state fixtures found")
        for path in files {
            XCTAssertThrowsError(try ConfusionCounts(serialized: try readFile(path)), path) { error in
                guard case .invalidValue(let m) = error as? TallyError else { return XCTFail("\(path): \(error)") }
                XCTAssertTrue(m.hasPrefix("Expected bytes from ConfusionCounts.serialized()"), m)
            }
        }
    }

    /// Score stores and binned histograms whose header asked for a huge allocation
    /// (the restore fuzzer ran out of memory): refused before allocating.
    func testFuzzedHugeStatesAreRefusedBeforeAllocating() throws {
        let stores = regressionFiles("store-")
        XCTAssertFalse(stores.isEmpty, "no score store fixtures found")
        for path in stores {
            XCTAssertThrowsError(try ScoreStore(serialized: try readFile(path)), path) { XCTAssertTrue($0 is TallyError, "\($0)") }
        }
        let binned = try readFile(fixtures + "fuzz-regressions/binned-huge-histogram.bin")
        XCTAssertThrowsError(try BinnedScores(serialized: binned)) { XCTAssertTrue($0 is TallyError, "\($0)") }
        // A header with 2^31 - 1 labels and no rows in 40 bytes: refused, not 32 GB allocated.
        var header: [UInt64] = [ScoreStore.magic, (1 << 31) - 1, 0, 0, 0]
        XCTAssertThrowsError(try ScoreStore(serialized: header.withUnsafeBytes { Array($0) }))
        header[1] = 3
        XCTAssertEqual(try ScoreStore(serialized: header.withUnsafeBytes { Array($0) }).labelCount, 3)
        // An empty store claiming row or element weights (the restore fuzzer's find: its
        // next update gave cells weights but rows none, and `.samples` then trapped).
        for weighting: UInt64 in [1, 2] {
            header[4] = weighting
            let bytes = header.withUnsafeBytes { Array($0) }
            XCTAssertThrowsError(try ScoreStore(serialized: bytes), "weighting \(weighting)") { XCTAssertTrue($0 is TallyError, "\($0)") }
        }
    }

    /// A binned histogram of 2 labels near Int64.max rows: pooling the labels'
    /// counts for micro averaging used to trap on overflow.
    func testFuzzedBinnedStateNearInt64MaxScoresMicro() throws {
        let state = try BinnedScores(serialized: try readFile(fixtures + "fuzz-regressions/binned-micro-count-overflow.bin"))
        XCTAssertEqual(state.rowCount, 1 << 62)
        for average in [nil] + Average.allCases.map(Optional.some) where average != .samples {
            _ = try state.rocAUC(average: average)
            _ = try state.averagePrecision(average: average)
        }
        var merged = state
        XCTAssertThrowsError(try merged.merge(state)) { error in
            guard case .overflow = error as? TallyError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(merged, state)
    }

    /// A 2-D weighted state whose restored sums reach 1e300: its report's support
    /// column formatted a number whose 10^digits multiple overflows, which trapped
    /// (and large numbers printed 10^digits times too large, unlike Python).
    func testFuzzedHugeWeightsFormatInReports() throws {
        let state = try ConfusionCounts(serialized: try readFile(fixtures + "fuzz-regressions/counts-report-huge-weights.bin"))
        XCTAssertTrue(state.isElementWeighted)
        _ = try ClassificationReport(state).text()
        // Python's format(x, f".{d}f"), exactly.
        XCTAssertEqual(formatFixed(1e308, digits: 2), "1000000000000000010979063629440455417404923096773118463368106829031575854049114915371633289784946888" +
                       "9906124966972117251561159028374314008832830700919814604603127166450293302718569748969958855904333838" +
                       "4466165001178426897626212945177628091195786707458122783970171784415105291802893207873272974885715430" +
                       "223118336.00")
        XCTAssertEqual(formatFixed(1e14, digits: 2), "100000000000000.00")
        XCTAssertEqual(formatFixed(-4503599627370496, digits: 2), "-4503599627370496.00")
        XCTAssertEqual(formatFixed(123456789012345.67, digits: 2), "123456789012345.67")
        XCTAssertEqual(formatFixed(2.675, digits: 2), "2.67")
    }

    /// Recorded `.npy` inputs (Fixtures/make_npy_regressions.py): malformed files the
    /// reader must refuse with a TallyError naming the problem, and edge cases it must
    /// read, as numpy does, and write back unchanged. Every file has an entry here.
    func testNPYRegressionsAreRefusedOrRead() throws {
        enum Outcome { case refused(String), reads([Int], ElementType) }
        let expected: [String: Outcome] = [
            "empty": .refused("Expected a .npy file (magic \\x93NUMPY)"),
            "magic-only": .refused("Expected a .npy file (magic \\x93NUMPY)"),
            "bad-magic": .refused("Expected a .npy file (magic \\x93NUMPY)"),
            "version-4": .refused("Expected .npy format version 1, 2 or 3, but got 4"),
            "version-2-cut-length": .refused("Expected a .npy header, but the file ends after 12 bytes"),
            "header-past-end": .refused("Expected a .npy header of 4000 bytes, but the file has 15"),
            "no-descr": .refused("Expected the .npy header to have 'descr'"),
            "structured-dtype": .refused("Expected a simple dtype in the .npy header"),
            "big-endian": .refused("Expected a .npy dtype of bool, (u)int8/16/32/64 or float32/64 in little-endian order, but got '>f8'"),
            "complex": .refused("Expected a .npy dtype of bool, (u)int8/16/32/64 or float32/64 in little-endian order, but got '<c16'"),
            "object": .refused("Expected a .npy dtype of bool, (u)int8/16/32/64 or float32/64 in little-endian order, but got '|O'"),
            "fortran-order": .refused("Expected a C-ordered .npy array, but got fortran_order True"),
            "fortran-garbage": .refused("Expected fortran_order False in the .npy header"),
            "negative-size": .refused("Expected non-negative integer sizes in the .npy shape"),
            "shape-not-tuple": .refused("Expected a shape tuple in the .npy header"),
            "size-overflow": .refused("Expected [4611686018427387904, 4] elements of"),
            "bytes-overflow": .refused("Expected [2305843009213693952] elements of"),
            "short-data": .refused("Expected [2, 3] elements of"),
            "float64-2x3": .reads([2, 3], .float64),
            "long-data": .reads([2, 3], .float64),
            "bool-0x4": .reads([0, 4], .bool),
            "scalar-int8": .reads([], .int8),
            "version-2-uint16": .reads([2], .uint16),
            "double-quoted-descr": .reads([2], .int32),
            "python2-long-shape": .reads([2, 1], .uint8),
        ]
        let files = regressionFiles("npy-")
        XCTAssertEqual(files.count, expected.count, "one entry per recorded file")
        for path in files {
            let name = String(path.split(separator: "/").last!.dropFirst(4).dropLast(4))
            guard let outcome = expected[name] else { XCTFail("no expectation for \(path)"); continue }
            let bytes = try readFile(path)
            switch outcome {
            case .refused(let prefix):
                XCTAssertThrowsError(try NPYArray(npyBytes: bytes), name) { error in
                    let message = (error as? TallyError)?.message ?? "\(error)"
                    XCTAssertTrue(message.hasPrefix(prefix), "\(name): \(message)")
                }
            case .reads(let shape, let type):
                let a = try NPYArray(npyBytes: bytes)
                XCTAssertEqual(a.shape, shape, name)
                XCTAssertEqual(a.elementType, type, name)
                XCTAssertEqual(try NPYArray(npyBytes: a.npyBytes()), a, name)
            }
        }
        // The values too, where numpy wrote them.
        XCTAssertEqual(try NPYArray(contentsOf: fixtures + "fuzz-regressions/npy-float64-2x3.npy").doubles(), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try NPYArray(contentsOf: fixtures + "fuzz-regressions/npy-long-data.npy").doubles(), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try NPYArray(contentsOf: fixtures + "fuzz-regressions/npy-scalar-int8.npy").doubles(), [-3])
        XCTAssertEqual(try NPYArray(contentsOf: fixtures + "fuzz-regressions/npy-version-2-uint16.npy").doubles(), [1, 2])
        XCTAssertEqual(try NPYArray(contentsOf: fixtures + "fuzz-regressions/npy-double-quoted-descr.npy").doubles(), [7, 8])
    }

    /// A shape of thousands of dimensions needs a version 2.0 header (4-byte length);
    /// writing it used to trap on the 2-byte length of version 1.0.
    func testLongHeaderIsWrittenAsVersion2() throws {
        let a = try NPYArray(elementType: .uint8, shape: Array(repeating: 0, count: 30_000), bytes: [])
        let encoded = a.npyBytes()
        XCTAssertEqual(encoded[6], 2)
        XCTAssertEqual(encoded.count % 64, 0)
        XCTAssertEqual(try NPYArray(npyBytes: encoded), a)
        XCTAssertEqual(try NPYArray([UInt8(1)], shape: [1]).npyBytes()[6], 1)
    }

    // MARK: Restoring states

    /// A serialized state built word by word: labels, then counts and triples.
    func state(labels: Int = 1, weighted: UInt64 = 0, rows: Int64, counts: [Int64],
               triples: [(packed: UInt64, rows: Int64)]) -> [UInt8] {
        var words: [UInt64] = [ConfusionCounts.magic, UInt64(labels), weighted, UInt64(bitPattern: rows),
                               Double(rows).bitPattern]
        words += Array(repeating: (0.5).bitPattern, count: labels)
        words += counts.map { UInt64(bitPattern: $0) }
        words.append(UInt64(triples.count))
        for t in triples { words += [t.packed, UInt64(bitPattern: t.rows), Double(t.rows).bitPattern] }
        return words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
    }

    func testRestoreRefusesStatesNoUpdateCanReach() throws {
        let zero = UInt64(RowKey(tp: 0, fp: 0, fn: 0).packed)
        let one = UInt64(RowKey(tp: 1, fp: 0, fn: 0).packed)
        // The valid base: 2 rows, one a true positive.
        XCTAssertNoThrow(try ConfusionCounts(serialized: state(rows: 2, counts: [1, 1, 1], triples: [(zero, 1), (one, 1)])))
        let bad: [(String, [UInt8])] = [
            ("actual above rows", state(rows: 2, counts: [1, 1, 3], triples: [(zero, 1), (one, 1)])),
            ("tp above predicted", state(rows: 2, counts: [2, 1, 2], triples: [(zero, 1), (one, 1)])),
            ("negative tn", state(rows: 2, counts: [0, 2, 2], triples: [(zero, 1), (one, 1)])),
            ("count near Int64.max", state(rows: 2, counts: [0, 0, Int64.max], triples: [(zero, 1), (one, 1)])),
            ("triples short of rows", state(rows: 2, counts: [1, 1, 1], triples: [(one, 1)])),
            ("triples above rows", state(rows: 2, counts: [1, 1, 1], triples: [(zero, 2), (one, 1)])),
            ("triple with no rows", state(rows: 2, counts: [1, 1, 1], triples: [(zero, 2), (one, 0)])),
            ("triple with negative rows", state(rows: 2, counts: [1, 1, 1], triples: [(zero, 3), (one, -1)])),
            ("duplicate triple", state(rows: 2, counts: [1, 1, 1], triples: [(one, 1), (one, 1)])),
            ("unsorted triples", state(rows: 2, counts: [1, 1, 1], triples: [(one, 1), (zero, 1)])),
            ("stray high key bits", state(rows: 2, counts: [1, 1, 1], triples: [(zero, 1), (one | 1 << 63, 1)])),
            ("weighted flag 2", state(weighted: 2, rows: 2, counts: [1, 1, 1], triples: [(zero, 1), (one, 1)])),
        ]
        for (why, bytes) in bad {
            XCTAssertThrowsError(try ConfusionCounts(serialized: bytes), why) { error in
                XCTAssertTrue((error as? TallyError)?.message.hasPrefix("Expected bytes from ConfusionCounts.serialized()") == true,
                              "\(why): \(error)")
            }
        }
    }

    // MARK: Int64 edges

    /// Counts one row short of Int64.max rows: every further row must be refused
    /// with `.overflow`, leaving the counts unchanged.
    func testRowCountNeverWrapsAround() throws {
        let zero = UInt64(RowKey(tp: 0, fp: 0, fn: 0).packed)
        let full = try ConfusionCounts(serialized: state(rows: Int64.max - 1, counts: [0, 0, 0],
                                                         triples: [(zero, Int64.max - 1)]))
        var counts = full
        try counts.add([0], [0.1], labels: 1)
        XCTAssertEqual(counts.rowCount, Int64.max)
        XCTAssertEqual(counts.integerConfusion, [[0, 0, 0, Int64.max]])
        let before = counts
        XCTAssertThrowsError(try counts.add([1], [0.9], labels: 1)) { error in
            guard case .overflow = error as? TallyError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try counts.add([1], [0.9], labels: 1, weights: [1])) { error in
            guard case .overflow = error as? TallyError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(counts, before)
        var merged = full
        XCTAssertThrowsError(try merged.merge(full)) { error in
            guard case .overflow = error as? TallyError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(merged, full)
        // A weighted state is checked by row count too.
        var weighted = try ConfusionCounts(labelCount: 1)
        try weighted.add([1, 0], [0.9, 0.2], labels: 1, weights: [2, 3])
        XCTAssertThrowsError(try weighted.merge(full)) { error in
            guard case .overflow = error as? TallyError else { return XCTFail("\(error)") }
        }
    }
}

/// Forged states of the score accumulators: a merge or update that would overflow the
/// row count throws instead of trapping, and restore refuses what no update can reach.
final class ScoreStateRobustnessTests: XCTestCase {
    /// `bytes` with the little-endian 64-bit word at `index` replaced.
    func replacingWord(_ bytes: [UInt8], at index: Int, with value: UInt64) -> [UInt8] {
        var out = bytes
        for b in 0..<8 { out[8 * index + b] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(b))) }
        return out
    }

    func testRankingSumsMergeNearInt64MaxThrows() throws {
        var sums = try RankingSums(labelCount: 3)
        try [1.0, 0, 1].withMatrixView(rows: 1, columns: 3) { t in
            try [0.9, 0.1, 0.4].withMatrixView(rows: 1, columns: 3) { try sums.update(truth: t, scores: $0) }
        }
        let bytes = sums.serialized()
        // The row count is the first word after the header and the top-k list.
        let rowWord = 4 + 3
        let huge = try RankingSums(serialized: replacingWord(bytes, at: rowWord, with: UInt64(Int64.max)))
        var merged = huge
        XCTAssertThrowsError(try merged.merge(huge)) { XCTAssertEqual(($0 as? TallyError)?.message, "Merging would overflow the Int64 row count") }
        XCTAssertEqual(merged.serialized(), huge.serialized())
        XCTAssertThrowsError(try RankingSums(serialized: replacingWord(bytes, at: rowWord, with: UInt64(bitPattern: -1))))
    }

    func testBinnedScoresRestoreChecksCountsAgainstRows() throws {
        var binned = try BinnedScores(labelCount: 2, bins: 4)
        try [1.0, 0, 0, 1].withMatrixView(rows: 2, columns: 2) { t in
            try [0.9, 0.1, 0.4, 0.6].withMatrixView(rows: 2, columns: 2) { try binned.update(truth: t, scores: $0) }
        }
        let bytes = binned.serialized()
        XCTAssertEqual(try BinnedScores(serialized: bytes).serialized(), bytes)
        // Word 5 is the row count: any other value than the per-label totals is refused.
        for forged: Int64 in [Int64.max, 3, -1] {
            XCTAssertThrowsError(try BinnedScores(serialized: replacingWord(bytes, at: 5, with: UInt64(bitPattern: forged))))
        }
    }
}

import Glibc
@testable import TallyNet
import XCTest

/// `FloatBuffer`: zeros, on a cache line at every size, large ones in their own mapping
/// (2 MiB aligned from 4 MiB), resident pages only where written.
final class StorageTests: XCTestCase {
    func testBuffersAreZeroAndStartOnACacheLine() {
        // Below, at and above the mapping and huge-page thresholds, and odd counts.
        for count in [0, 1, 15, 1000, 16383, 16384, 16385, 300_001, (1 << 20) - 1, 1 << 20, (1 << 20) + 7, 5_000_003] {
            let buffer = FloatBuffer(count: count)
            let address = UInt(bitPattern: buffer.base)
            XCTAssertEqual(address % 64, 0, "\(count) floats")
            if count * 4 >= 1 << 22, !FloatBuffer.underAddressSanitizer {
                XCTAssertEqual(address % (1 << 21), 0, "\(count) floats: 2 MiB aligned")
            }
            XCTAssertNil(buffer.buffer.firstIndex { $0 != 0 }, "\(count) floats")
            // Every float is writable (a mapping too short would fault here).
            if count > 0 {
                buffer.base[count - 1] = 1
                buffer.base[0] = 2
                XCTAssertEqual(buffer.base[count - 1] + buffer.base[0], count == 1 ? 4 : 3)
            }
            let resident = FloatBuffer(count: count, resident: true)
            XCTAssertNil(resident.buffer.firstIndex { $0 != 0 }, "\(count) floats, resident")
        }
    }

    func testMappedBuffersStartOnDifferentLinesOfAPage() throws {
        if FloatBuffer.underAddressSanitizer { throw XCTSkip("AddressSanitizer's buffers come from its allocator") }
        // Eight buffers of 64 KiB to 1 MiB allocated in a row (as a layer's per-thread
        // workspaces are): not all on the same offset in their page, else their streams share L1 sets.
        let buffers = (0..<8).map { FloatBuffer(count: (1 << 14) << ($0 % 4)) }
        let offsets = Set(buffers.map { UInt(bitPattern: $0.base) % 4096 })
        XCTAssertGreaterThan(offsets.count, 4, "offsets in the page: \(offsets.sorted())")
    }

    func testAnUnwrittenLargeBufferTakesNoMemory() throws {
        if FloatBuffer.underAddressSanitizer { throw XCTSkip("AddressSanitizer's buffers are written at once") }
        let before = try residentKiB()
        let buffers = (0..<4).map { _ in FloatBuffer(count: 64 << 20) }  // 4 × 256 MiB, never written
        let after = try residentKiB()
        XCTAssertLessThan(after - before, 64 << 10, "4 × 256 MiB of untouched buffers became resident")
        withExtendedLifetime(buffers) {}
    }

    private func residentKiB() throws -> Int {
        guard let f = fopen("/proc/self/status", "r") else { throw XCTSkip("no /proc/self/status") }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, f) != nil {
            let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if text.hasPrefix("VmRSS:") {
                return Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
            }
        }
        throw XCTSkip("no VmRSS line")
    }
}

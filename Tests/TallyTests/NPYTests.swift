import XCTest
@testable import Tally

final class NPYTests: XCTestCase {
    func testRoundTripsEveryType() throws {
        let arrays: [NPYArray] = [
            try NPYArray([true, false, true, true], shape: [2, 2]),
            try NPYArray([UInt8(1), 2, 3], shape: [3]),
            try NPYArray([Int8(-1), 2], shape: [1, 2]),
            try NPYArray([Int16(-300), 2], shape: [2]),
            try NPYArray([UInt16(300), 2], shape: [2]),
            try NPYArray([Int32(-7), 9], shape: [2, 1]),
            try NPYArray([UInt32(7), 9], shape: [2]),
            try NPYArray([Int64.min, Int64.max], shape: [2]),
            try NPYArray([UInt64.max], shape: [1]),
            try NPYArray([Float(0.25), .infinity], shape: [2]),
            try NPYArray([Double.pi, -0.0], shape: [2]),
            try NPYArray([Double](), shape: [0, 3]),
        ]
        for a in arrays {
            let encoded = a.npyBytes()
            XCTAssertEqual(encoded.count % 64, a.bytes.count % 64)
            XCTAssertEqual(try NPYArray(npyBytes: encoded), a)
        }
    }

    func testReadsNumpyFiles() throws {
        let a = try NPYArray(contentsOf: fixtures + "case0_y_true.npy")
        XCTAssertEqual(a.elementType, .bool)
        XCTAssertEqual(a.shape, [200, 7])
    }

    func testReadsVersion2And3Headers() throws {
        let v1 = try NPYArray([Int32(5), 6], shape: [2]).npyBytes()
        for version: UInt8 in [2, 3] {
            let headerLength = Int(v1[8]) | Int(v1[9]) << 8
            var v = Array(v1[0..<6]) + [version, 0]
            v += [UInt8(headerLength & 0xFF), UInt8(headerLength >> 8), 0, 0]
            v += v1[10...]
            XCTAssertEqual(try NPYArray(npyBytes: v).doubles(), [5, 6])
        }
    }

    func testRejectsWhatItCannotRead() {
        func header(_ dict: String) -> [UInt8] {
            let text = dict + "\n"
            return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(text.utf8.count), 0] + Array(text.utf8) + [UInt8](repeating: 0, count: 16)
        }
        let cases: [([UInt8], String)] = [
            ([1, 2, 3], "Expected a .npy file (magic \\x93NUMPY), but the data starts otherwise"),
            (header("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }"),
             "Expected a .npy dtype of bool, (u)int8/16/32/64 or float32/64 in little-endian order, but got '>f8'"),
            (header("{'descr': '<f8', 'fortran_order': True, 'shape': (2,), }"),
             "Expected a C-ordered .npy array, but got fortran_order True"),
            (header("{'descr': '<f8', 'fortran_order': False, 'shape': (20,), }"),
             "Expected [20] elements of float64 in the .npy data, but it holds 16 bytes"),
            (header("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }"),
             "Expected a simple dtype in the .npy header, but got [('a', '<f8')], 'fortran_order': False, "),
        ]
        for (bytes, message) in cases {
            XCTAssertThrowsError(try NPYArray(npyBytes: bytes)) { XCTAssertEqual(($0 as? TallyError)?.message, message) }
        }
        XCTAssertThrowsError(try NPYArray(contentsOf: "/nonexistent/x.npy"))
    }

    func testMatrixViewOf3DIsAnError() throws {
        let a = try NPYArray([Float](repeating: 0, count: 8), shape: [2, 2, 2])
        XCTAssertThrowsError(try a.withMatrixView { _ in })
    }
}

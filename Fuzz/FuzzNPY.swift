// libFuzzer target for the `.npy` reader: `NPYArray(npyBytes:)` on arbitrary bytes.
//
// Built by scripts/fuzz.sh together with Sources/Tally (one module, so internal
// API is reachable) under -sanitize=fuzzer,address. Every input must either throw
// a TallyError or give an array that survives everything a caller does with it:
// writing it back, reading that again (the same array), a matrix view, doubles.
// A trap, an ASan report or a failed check below is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let array = try? NPYArray(npyBytes: bytes) else { return 0 }
    check(array.bytes.count == array.count * array.elementType.size, "byte count does not match the shape")
    let again = try? NPYArray(npyBytes: array.npyBytes())
    check(again == array, "an array read from .npy bytes does not read back the same after npyBytes()")
    if let n = try? array.withMatrixView({ $0.count }) {
        check(n == array.count, "matrix view of \(array.shape) has \(n) elements")
    }
    check(array.doubles().count == array.count, "doubles() length differs from the element count")
    return 0
}

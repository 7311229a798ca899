import CPython
import Tally

#if canImport(Glibc)
import Glibc
#endif

// The bridge's plumbing: error translation, argument parsing and buffers.
// No metric logic lives here. TallyPythonBridge is internal (no stable API, every
// declaration is `package`): each extension module links its own copy. The generic
// helpers called on every bridge call are `@inlinable`, so that they are specialized
// in the extension's own module, as they were before the bridge was a module of its own.

@usableFromInline package typealias PyPtr = UnsafeMutablePointer<PyObject>

/// An exception to raise in Python, already formatted.
package struct PythonError: Error {
    package enum Kind { case value, type, memory, overflow, runtime }
    package let kind: Kind
    package let message: String

    package init(kind: Kind, message: String) { (self.kind, self.message) = (kind, message) }

    package static func type(_ m: String) -> PythonError { PythonError(kind: .type, message: m) }
    package static func value(_ m: String) -> PythonError { PythonError(kind: .value, message: m) }
}

/// The one table that turns Swift errors into Python exceptions; returns NULL for
/// the caller to hand back to the interpreter.
package func raise(_ error: Error) -> PyPtr? {
    let (type, message): (PyPtr, String)
    switch error {
    case let e as TallyError:
        switch e {
        case .invalidValue(let m): (type, message) = (tally_exc_value_error(), m)
        case .invalidType(let m): (type, message) = (tally_exc_type_error(), m)
        case .overflow(let m): (type, message) = (tally_exc_overflow_error(), m)
        }
    case let e as PythonError:
        switch e.kind {
        case .value: (type, message) = (tally_exc_value_error(), e.message)
        case .type: (type, message) = (tally_exc_type_error(), e.message)
        case .memory: (type, message) = (tally_exc_memory_error(), e.message)
        case .overflow: (type, message) = (tally_exc_overflow_error(), e.message)
        case .runtime: (type, message) = (tally_exc_runtime_error(), e.message)
        }
    default:
        (type, message) = (tally_exc_runtime_error(), "\(error)")
    }
    PyErr_SetString(type, message)
    return nil
}

/// Runs `body`, translating a thrown error into a Python exception (NULL).
/// An exception already set by a CPython call is passed on unchanged.
package func bridged(_ body: () throws -> PyPtr?) -> PyPtr? {
    do {
        return try body()
    } catch is AlreadySet {
        return nil
    } catch {
        return raise(error)
    }
}

/// A CPython call failed and already set the exception.
@usableFromInline package struct AlreadySet: Error { @inlinable package init() {} }

/// Checks a CPython result, throwing `AlreadySet` on NULL.
@inlinable package func check(_ object: PyPtr?) throws -> PyPtr {
    guard let object else { throw AlreadySet() }
    return object
}

/// Positional arguments of a METH_FASTCALL method.
package struct Arguments {
    package let args: UnsafePointer<PyPtr?>?
    package let count: Int
    package let function: String

    package init(_ args: UnsafePointer<PyPtr?>?, _ count: Int, function: String, expected: ClosedRange<Int>) throws {
        guard expected.contains(count) else {
            let want = expected.lowerBound == expected.upperBound ? "\(expected.lowerBound)" : "\(expected.lowerBound) to \(expected.upperBound)"
            throw PythonError.type("\(function)() takes \(want) positional arguments, but got \(count)")
        }
        self.args = args
        self.count = count
        self.function = function
    }

    package subscript(i: Int) -> PyPtr? { i < count ? args![i] : nil }

    /// Argument `i`, or nil when it is missing or None.
    package func optional(_ i: Int) -> PyPtr? {
        guard let o = self[i], tally_is_none(o) == 0 else { return nil }
        return o
    }

    package func int(_ i: Int, _ name: String) throws -> Int {
        guard let o = self[i], tally_long_check(o) != 0 else {
            throw PythonError.type("Expected `\(name)` to be an int, but got \(typeName(self[i]))")
        }
        let v = PyLong_AsLongLong(o)
        if v == -1, PyErr_Occurred() != nil {
            // CPython's OverflowError ("int too big to convert") names no argument.
            PyErr_Clear()
            throw PythonError.value("Expected `\(name)` to be an int in the 64-bit range, but got a larger one")
        }
        return Int(v)
    }

    package func double(_ i: Int, _ name: String) throws -> Double {
        guard let o = self[i], tally_float_check(o) != 0 || tally_long_check(o) != 0 else {
            throw PythonError.type("Expected `\(name)` to be a number, but got \(typeName(self[i]))")
        }
        let v = PyFloat_AsDouble(o)
        if v == -1, PyErr_Occurred() != nil {
            PyErr_Clear()
            throw PythonError.value("Expected `\(name)` to be a number in the float64 range, but got a larger int")
        }
        return v
    }

    package func string(_ i: Int, _ name: String) throws -> String {
        guard let o = self[i], tally_unicode_check(o) != 0, let utf8 = PyUnicode_AsUTF8AndSize(o, nil) else {
            throw PythonError.type("Expected `\(name)` to be a str, but got \(typeName(self[i]))")
        }
        return String(cString: utf8)
    }

    package func bool(_ i: Int) -> Bool {
        guard let o = self[i] else { return false }
        return PyObject_IsTrue(o) == 1
    }
}

/// `type(o).__name__`, for messages.
package func typeName(_ o: PyPtr?) -> String {
    guard let o else { return "nothing" }
    guard let name = PyType_GetName(tally_type(o)) else { PyErr_Clear(); return "?" }
    defer { Py_DecRef(name) }
    guard let utf8 = PyUnicode_AsUTF8AndSize(name, nil) else { PyErr_Clear(); return "?" }
    return String(cString: utf8)
}

/// A Python buffer held for the duration of a call, read in place.
package final class HeldBuffer {
    /// CPython's description of the buffer, at a stable address (a `let`: reading it
    /// costs no exclusivity check, from the extension modules either).
    let buffer: UnsafeMutablePointer<Py_buffer> = {
        let p = UnsafeMutablePointer<Py_buffer>.allocate(capacity: 1)
        p.initialize(to: Py_buffer())
        return p
    }()
    var held = false
    package var view: Py_buffer { buffer.pointee }

    /// Takes `object`'s buffer (read-only, with strides and format), checking that
    /// it is C-contiguous with a supported element type and the given dimensions.
    package init(_ object: PyPtr, name: String, dimensions: ClosedRange<Int>) throws {
        guard PyObject_CheckBuffer(object) != 0 else {
            throw PythonError.type("Expected `\(name)` to be an array (an object with the buffer protocol), but got \(typeName(object))")
        }
        guard PyObject_GetBuffer(object, buffer, PyBUF_RECORDS_RO) == 0 else {
            PyErr_Clear()
            throw PythonError.type("Expected `\(name)` to be a readable array, but its buffer could not be read")
        }
        held = true
        let ndim = Int(buffer.pointee.ndim)
        guard dimensions.contains(ndim) else {
            let want = dimensions.lowerBound == dimensions.upperBound ? "\(dimensions.lowerBound)-D" : "\(dimensions.lowerBound)-D to \(dimensions.upperBound)-D"
            throw PythonError.value("Expected `\(name)` to be \(want), but got \(ndim)-D with shape \(shape)")
        }
        let parsed = buffer.pointee.format.map { ElementType(bufferFormat: UnsafePointer($0)) } ?? .uint8
        guard let type = parsed, type.size == buffer.pointee.itemsize else {
            let format = buffer.pointee.format.map { String(cString: $0) } ?? "B"
            throw PythonError.type("Expected `\(name)` to have dtype bool, (u)int8/16/32/64, float32 or float64 in native byte order, but got buffer format '\(format)'")
        }
        storedType = type
        guard PyBuffer_IsContiguous(buffer, CChar(UInt8(ascii: "C"))) != 0 else {
            throw PythonError.value("Expected `\(name)` to be C-contiguous, but got strides \(strides); pass np.ascontiguousarray(\(name))")
        }
    }

    private var storedType: ElementType = .uint8
    package var elementType: ElementType { storedType }

    package var shape: [Int] { (0..<Int(buffer.pointee.ndim)).map { buffer.pointee.shape![$0] } }
    package var strides: [Int] { buffer.pointee.strides.map { s in (0..<Int(buffer.pointee.ndim)).map { s[$0] } } ?? [] }

    /// The buffer as a matrix: 2-D as it is, 1-D as one column.
    package var matrix: MatrixView {
        let s = shape
        let rows = s.count >= 1 ? s[0] : 1
        let columns = s.count == 2 ? s[1] : 1
        return MatrixView(base: rows * columns == 0 ? nil : UnsafeRawPointer(buffer.pointee.buf),
                          elementType: elementType, rows: rows, columns: columns)
    }

    /// The buffer's elements as float64 (it must be a float64 buffer).
    package func float64Elements(name: String) throws -> UnsafeBufferPointer<Double> {
        guard elementType == .float64 else {
            throw PythonError.type("Expected `\(name)` to have dtype float64, but got \(elementType.rawValue)")
        }
        let n = shape.reduce(1, *)
        return UnsafeBufferPointer(start: n == 0 ? nil : buffer.pointee.buf?.assumingMemoryBound(to: Double.self), count: n)
    }

    package func int64Elements(name: String) throws -> [Int] {
        guard elementType == .int64 else {
            throw PythonError.type("Expected `\(name)` to have dtype int64, but got \(elementType.rawValue)")
        }
        let n = shape.reduce(1, *)
        guard n > 0, let p = buffer.pointee.buf?.assumingMemoryBound(to: Int64.self) else { return [] }
        return (0..<n).map { Int(p[$0]) }
    }

    deinit {
        if held { PyBuffer_Release(buffer) }
        buffer.deallocate()
    }
}

/// Runs `body` with two objects' buffers read in place as matrices, allocating nothing:
/// the hot path of a training step's update. Nil (nothing held, no exception set) unless
/// both are C-contiguous 2-D buffers of a supported element type; the caller then takes
/// the general path (`HeldBuffer`), which explains what is wrong.
@inlinable package func withMatrixBuffers<R>(_ a: PyPtr, _ b: PyPtr, _ body: (MatrixView, MatrixView) throws -> R) rethrows -> R? {
    try withUnsafeTemporaryAllocation(of: Py_buffer.self, capacity: 2) { views -> R? in
        let va = views.baseAddress!, vb = va + 1
        guard let ma = takeMatrixBuffer(a, va) else { return nil }
        defer { PyBuffer_Release(va) }
        guard let mb = takeMatrixBuffer(b, vb) else { return nil }
        defer { PyBuffer_Release(vb) }
        return try body(ma, mb)
    }
}

/// Takes `object`'s buffer into `view` when it is a C-contiguous 2-D matrix of a
/// supported type; else holds nothing (and clears any error) and returns nil.
@usableFromInline package func takeMatrixBuffer(_ object: PyPtr, _ view: UnsafeMutablePointer<Py_buffer>) -> MatrixView? {
    guard PyObject_CheckBuffer(object) != 0 else { return nil }
    guard PyObject_GetBuffer(object, view, PyBUF_RECORDS_RO) == 0 else {
        PyErr_Clear()
        return nil
    }
    let v = view.pointee
    if v.ndim == 2, let shape = v.shape,
       let type = v.format.map({ ElementType(bufferFormat: UnsafePointer($0)) }) ?? .uint8, type.size == v.itemsize,
       PyBuffer_IsContiguous(view, CChar(UInt8(ascii: "C"))) != 0 {
        let (rows, columns) = (shape[0], shape[1])
        return MatrixView(base: rows * columns == 0 ? nil : UnsafeRawPointer(v.buf), elementType: type, rows: rows, columns: columns)
    }
    PyBuffer_Release(view)
    return nil
}

/// Bytes object holding a copy of `values`' memory.
@inlinable package func bytesObject<T>(_ values: [T]) throws -> PyPtr {
    try values.withUnsafeBytes { raw in
        try check(PyBytes_FromStringAndSize(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count))
    }
}

package func tuple(_ items: [PyPtr]) throws -> PyPtr {
    let t = try check(PyTuple_New(items.count))
    for (i, item) in items.enumerated() { PyTuple_SetItem(t, i, item) } // steals
    return t
}

package func pyString(_ s: String) throws -> PyPtr {
    try check(PyUnicode_FromStringAndSize(s, s.utf8.count))
}

package func pyInt(_ v: Int) throws -> PyPtr { try check(PyLong_FromLongLong(Int64(v))) }
package func pyBool(_ b: Bool) -> PyPtr { b ? tally_true() : tally_false() }
package func pyFloat(_ v: Double) throws -> PyPtr { try check(PyFloat_FromDouble(v)) }

/// Runs `body` with the GIL released (it must touch no Python object).
@inlinable package func withoutGIL<R>(_ body: () throws -> R) rethrows -> R {
    let state = PyEval_SaveThread()
    defer { PyEval_RestoreThread(state) }
    return try body()
}

/// A mutex for an object's state, taken only after the GIL is dropped.
package final class Mutex: @unchecked Sendable {
    // Allocated: a pthread mutex must not move, and a `let` costs no exclusivity check.
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    package init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
    @inlinable package func locked<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Runs `body` under the mutex when it is free right now, else returns nil without
    /// waiting (so a caller holding the GIL never blocks on it).
    @inlinable package func lockedIfFree<R>(_ body: () throws -> R) rethrows -> R? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Runs `body` with the mutex released (the caller holds it), then takes it back.
    @inlinable package func unlocked<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_unlock(mutex)
        defer { pthread_mutex_lock(mutex) }
        return try body()
    }
}

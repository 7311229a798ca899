import CPython
import Tally

// An extension's function table, assembled from one list per feature file
// (`coreFunctions` in TallyPython's Module.swift, and so on). Each function object carries its
// index in the table as its `self`, so one C trampoline serves every entry.

/// One module-level function of `_tally` or `_tallynet`: it validates, converts, calls the core
/// and converts back. No metric logic lives in a declaration.
package struct Declaration {
    package let name: String
    package let arity: ClosedRange<Int>
    package let doc: String
    package let body: (Arguments) throws -> PyPtr?

    package init(_ name: String, _ arity: ClosedRange<Int>, _ doc: String, _ body: @escaping (Arguments) throws -> PyPtr?) {
        (self.name, self.arity, self.doc, self.body) = (name, arity, doc, body)
    }
}

nonisolated(unsafe) package var declarations: [Declaration] = []

package let declarationTrampoline: FastMethod = { indexObject, args, count in
    let index = Int(PyLong_AsLongLong(indexObject))
    let d = declarations[index]
    return bridged { try d.body(try Arguments(args, count, function: d.name, expected: d.arity)) }
}

/// Adds every declaration to `module` as a function.
package func addDeclarations(_ all: [Declaration], to module: PyPtr) -> Bool {
    declarations = all
    let table = methodTable(all.map { ($0.name, $0.doc, declarationTrampoline) })
    let moduleName = PyModule_GetNameObject(module)
    defer { if let moduleName { Py_DecRef(moduleName) } }
    for i in all.indices {
        guard let index = PyLong_FromLongLong(Int64(i)) else { return false }
        defer { Py_DecRef(index) }
        guard let function = PyCFunction_NewEx(table + i, index, moduleName) else { return false }
        guard PyModule_AddObject(module, all[i].name, function) == 0 else { Py_DecRef(function); return false }
    }
    return true
}

// MARK: Handles

/// The Swift object behind a `_tally.Handle`: any class instance.
nonisolated(unsafe) package var handleType: OpaquePointer?

package func makeHandle(_ object: AnyObject) throws -> PyPtr {
    let handle = try check(PyType_GenericAlloc(handleType, 0))
    boxSlot(handle).pointee = Unmanaged.passRetained(object).toOpaque()
    return handle
}

/// The Swift object of type `T` behind a handle argument.
package func unwrapHandle<T: AnyObject>(_ object: PyPtr?, as type: T.Type, name: String) throws -> T {
    guard let object, tally_type_check(object, handleType) != 0, let raw = boxSlot(object).pointee,
          let value = Unmanaged<AnyObject>.fromOpaque(raw).takeUnretainedValue() as? T else {
        throw PythonError.type("Expected `\(name)` to be a \(T.self) handle, but got \(typeName(object))")
    }
    return value
}

extension Arguments {
    package func handle<T: AnyObject>(_ i: Int, as type: T.Type, _ name: String) throws -> T {
        try unwrapHandle(self[i], as: type, name: name)
    }
}

nonisolated(unsafe) package let handleDealloc: @convention(c) (PyPtr?) -> Void = { object in
    guard let object else { return }
    if let raw = boxSlot(object).pointee {
        Unmanaged<AnyObject>.fromOpaque(raw).release()
        boxSlot(object).pointee = nil
    }
    let type = tally_type(object)!
    let free = unsafeBitCast(PyType_GetSlot(type, Py_tp_free), to: freefunc.self)
    free(UnsafeMutableRawPointer(object))
    Py_DecRef(UnsafeMutableRawPointer(type).assumingMemoryBound(to: PyObject.self))
}

/// A heap type whose instances hold one retained Swift object and have no methods.
package func makeBoxType(name: String, doc: String, methods: UnsafeMutablePointer<PyMethodDef>?,
                 dealloc: @convention(c) (PyPtr?) -> Void) -> OpaquePointer? {
    let slots = UnsafeMutablePointer<PyType_Slot>.allocate(capacity: 4)
    var n = 0
    slots[n] = PyType_Slot(slot: Py_tp_dealloc, pfunc: unsafeBitCast(dealloc, to: UnsafeMutableRawPointer.self)); n += 1
    if let methods { slots[n] = PyType_Slot(slot: Py_tp_methods, pfunc: UnsafeMutableRawPointer(methods)); n += 1 }
    slots[n] = PyType_Slot(slot: Py_tp_doc, pfunc: UnsafeMutableRawPointer(strdup(doc))); n += 1
    slots[n] = PyType_Slot(slot: 0, pfunc: nil)
    let spec = UnsafeMutablePointer<PyType_Spec>.allocate(capacity: 1)
    spec.pointee = PyType_Spec(name: strdup(name),
                               basicsize: Int32(MemoryLayout<PyObject>.stride + MemoryLayout<UnsafeMutableRawPointer?>.stride),
                               itemsize: 0,
                               flags: UInt32(Py_TPFLAGS_DEFAULT) | UInt32(Py_TPFLAGS_DISALLOW_INSTANTIATION),
                               slots: slots)
    guard let type = PyType_FromSpec(spec) else { return nil }
    return OpaquePointer(type)
}

/// Adds a type object to the module under `name`.
package func addType(_ type: OpaquePointer, named name: String, to module: PyPtr) -> Bool {
    let object = UnsafeMutableRawPointer(type).assumingMemoryBound(to: PyObject.self)
    Py_IncRef(object)
    guard PyModule_AddObject(module, name, object) == 0 else { Py_DecRef(object); return false }
    return true
}


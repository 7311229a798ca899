import CPython

// What every extension module is made of: C method tables, the slot where an
// instance keeps its Swift object, and the module itself (a `Handle` type, other
// types, one function per declaration).

package typealias FastMethod = @convention(c) (PyPtr?, UnsafePointer<PyPtr?>?, Py_ssize_t) -> PyPtr?

/// A NULL-terminated method table, allocated once and never freed.
package func methodTable(_ entries: [(name: String, doc: String, function: FastMethod)]) -> UnsafeMutablePointer<PyMethodDef> {
    let table = UnsafeMutablePointer<PyMethodDef>.allocate(capacity: entries.count + 1)
    for (i, e) in entries.enumerated() {
        table[i] = PyMethodDef(ml_name: strdup(e.name), ml_meth: unsafeBitCast(e.function, to: PyCFunction.self),
                               ml_flags: METH_FASTCALL, ml_doc: strdup(e.doc))
    }
    table[entries.count] = PyMethodDef(ml_name: nil, ml_meth: nil, ml_flags: 0, ml_doc: nil)
    return table
}

/// Where an instance keeps its box: right after the object header.
package func boxSlot(_ object: PyPtr) -> UnsafeMutablePointer<UnsafeMutableRawPointer?> {
    (UnsafeMutableRawPointer(object) + MemoryLayout<PyObject>.stride)
        .assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
}

/// Creates the extension module `name` (its `PyInit_` function returns it): a
/// `Handle` type, the other `types`, and a function per declaration.
/// Returns NULL, with the exception set, when CPython refuses any of them.
package func makeModule(_ name: String, doc: String, types: [(name: String, type: OpaquePointer)] = [],
                        declarations all: [Declaration]) -> PyPtr? {
    guard let handles = makeBoxType(name: name + ".Handle", doc: "A Swift object owned by Python (internal).",
                                    methods: nil, dealloc: handleDealloc) else { return nil }
    handleType = handles
    // The definition keeps the name and doc pointers: copies that live as long as the process.
    let def = tally_module_def(strdup(name), strdup(doc), nil)
    guard let module = tally_module_create(def) else { return nil }
    guard addType(handles, named: "Handle", to: module), types.allSatisfy({ addType($0.type, named: $0.name, to: module) }),
          addDeclarations(all, to: module) else {
        Py_DecRef(module); return nil
    }
    return module
}

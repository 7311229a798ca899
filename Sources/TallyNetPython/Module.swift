import CPython
import TallyPythonBridge

// The `_tallynet` extension module: the trainer's declarations (Net.swift). It is
// separate from `_tally` so that the metrics load no BLAS; `tally.net` imports it.

@_cdecl("PyInit__tallynet")
public func PyInit__tallynet() -> UnsafeMutablePointer<PyObject>? {
    makeModule("_tallynet", doc: "TallyNet, the Swift CNN trainer (internal; use `tally.net`).",
               declarations: netFunctions)
}

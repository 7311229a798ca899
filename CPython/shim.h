// Internal: a thin C surface over Python.h for the `_tally` extension module.
// This module provides no stable Swift API. It exists because several CPython
// macros, variadic functions and globals do not import into Swift.
#ifndef TALLY_CPYTHON_SHIM_H
#define TALLY_CPYTHON_SHIM_H

// pyconfig.h pulls <sys/select.h> into this module; importing SwiftGlibc first
// keeps debug builds from failing on `fd_set` (swiftlang/swift#69311).
#if defined(__linux__) && defined(__has_feature)
#if __has_feature(modules)
#pragma clang module import SwiftGlibc
#endif
#endif

// One abi3 extension imports on CPython 3.11 and later.
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static inline PyObject *tally_none(void) { Py_INCREF(Py_None); return Py_None; }
static inline PyObject *tally_true(void) { Py_INCREF(Py_True); return Py_True; }
static inline PyObject *tally_false(void) { Py_INCREF(Py_False); return Py_False; }
static inline int tally_is_none(PyObject *o) { return o == Py_None; }

static inline PyObject *tally_exc_value_error(void) { return PyExc_ValueError; }
static inline PyObject *tally_exc_type_error(void) { return PyExc_TypeError; }
static inline PyObject *tally_exc_memory_error(void) { return PyExc_MemoryError; }
static inline PyObject *tally_exc_runtime_error(void) { return PyExc_RuntimeError; }
static inline PyObject *tally_exc_overflow_error(void) { return PyExc_OverflowError; }
static inline PyObject *tally_exc_keyboard_interrupt(void) { return PyExc_KeyboardInterrupt; }

static inline PyObject *tally_module_create(PyModuleDef *def) {
    return PyModule_Create(def);
}

// PyModuleDef_HEAD_INIT is a macro over a struct literal: build the whole def here.
static inline PyModuleDef *tally_module_def(const char *name, const char *doc, PyMethodDef *methods) {
    static PyModuleDef def = { PyModuleDef_HEAD_INIT, 0, 0, -1, 0, 0, 0, 0, 0 };
    def.m_name = name;
    def.m_doc = doc;
    def.m_methods = methods;
    return &def;
}

static inline int tally_long_check(PyObject *o) { return PyLong_Check(o); }
static inline int tally_float_check(PyObject *o) { return PyFloat_Check(o); }
static inline int tally_unicode_check(PyObject *o) { return PyUnicode_Check(o); }
static inline int tally_bytes_check(PyObject *o) { return PyBytes_Check(o); }
static inline int tally_bool_check(PyObject *o) { return PyBool_Check(o); }

static inline int tally_type_check(PyObject *o, PyTypeObject *t) { return PyObject_TypeCheck(o, t); }
static inline PyTypeObject *tally_type(PyObject *o) { return Py_TYPE(o); }

#endif

"""Writes the malformed and edge-case `.npy` inputs of RobustnessTests.testNPYRegressions.

Run from the repository root: .venv/bin/python Tests/TallyTests/Fixtures/make_npy_regressions.py
Each file is Fixtures/fuzz-regressions/npy-<case>.npy; the test holds, per file, whether the
reader must refuse it (and the message's start) or read it (and the shape and type). The cases
are what the .npy fuzzer (Fuzz/FuzzNPY.swift) probes: cut files, wrong versions, header lengths
past the end, dtypes the reader does not take, shapes whose size overflows, short and long data.
"""
import os

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz-regressions")
MAGIC = b"\x93NUMPY"


def v1(header, body=b"", version=b"\x01\x00"):
    """A version 1.0 file with `header` padded numpy's way (total a multiple of 64, ending in \\n)."""
    h = header.encode("latin1")
    pad = (-(10 + len(h) + 1)) % 64
    h = h + b" " * pad + b"\n"
    return MAGIC + version + len(h).to_bytes(2, "little") + h + body


def header(descr="'<f8'", fortran="False", shape="(2, 3)"):
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)


def saved(array):
    import io
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


six = np.arange(6, dtype="<f8").tobytes()
CASES = {
    # Refused.
    "empty": b"",
    "magic-only": MAGIC,
    "bad-magic": b"\x93NUMPX\x01\x00" + saved(np.zeros(2))[8:],
    "version-4": v1(header(), six, version=b"\x04\x00"),
    "version-2-cut-length": MAGIC + b"\x02\x00\x10\x00",
    "header-past-end": MAGIC + b"\x01\x00" + (4000).to_bytes(2, "little") + b"{'descr': '<f8'",
    "no-descr": v1("{'fortran_order': False, 'shape': (2, 3), }", six),
    "structured-dtype": v1(header(descr="[('a', '<f8')]"), six),
    "big-endian": v1(header(descr="'>f8'"), six),
    "complex": v1(header(descr="'<c16'", shape="(3,)"), six),
    "object": v1(header(descr="'|O'", shape="(1,)"), b"\x00" * 8),
    "fortran-order": v1(header(fortran="True"), six),
    "fortran-garbage": v1(header(fortran="Maybe"), six),
    "negative-size": v1(header(shape="(-2, 3)"), six),
    "shape-not-tuple": v1(header(shape="[2, 3]"), six),
    "size-overflow": v1(header(shape="(4611686018427387904, 4)"), six),
    "bytes-overflow": v1(header(shape="(2305843009213693952,)"), six),
    "short-data": v1(header(), six[:-1]),
    # Read.
    "float64-2x3": saved(np.arange(6, dtype="<f8").reshape(2, 3)),
    "long-data": v1(header(), six + b"\x00" * 5),           # numpy ignores trailing bytes too
    "bool-0x4": saved(np.zeros((0, 4), bool)),
    "scalar-int8": saved(np.array(-3, np.int8)),
    "version-2-uint16": MAGIC + b"\x02\x00" + saved(np.array([1, 2], "<u2"))[8:10] + b"\x00\x00"
                        + saved(np.array([1, 2], "<u2"))[10:],
    "double-quoted-descr": v1(header(descr='"<i4"', shape="(2,)"), np.array([7, 8], "<i4").tobytes()),
    "python2-long-shape": v1(header(descr="'<u1'", shape="(2L, 1L)"), b"\x01\x00"),
}

if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    for name, data in CASES.items():
        with open(os.path.join(HERE, f"npy-{name}.npy"), "wb") as f:
            f.write(data)

"""A subprocess that runs calls into `tally` and reports how each ended.

test_robustness.py sends cases over stdin and reads one report per case, so a
case that kills the interpreter (a segfault, a Swift trap) shows up as this
process dying, with the case that did it, instead of taking pytest down.

Protocol: 4-byte little-endian length + pickle, both ways. A case is
(target, args, kwargs); `Make` values in args are built here (memoryviews,
read-only and non-contiguous arrays do not survive pickling).
"""

from __future__ import annotations

import pickle
import struct
import sys
import warnings

import numpy as np


class Make:
    """An argument built in the worker: `kind` applied to `value`."""

    def __init__(self, kind, value=None):
        self.kind, self.value = kind, value

    def __repr__(self):
        return f"Make({self.kind!r}, {self.value!r})"


class Sub(np.ndarray):
    """An ndarray subclass with a Python attribute, as users make them."""

    def __array_finalize__(self, obj):
        self.note = getattr(obj, "note", "sub")


def build(arg):
    """Materializes `Make` values (recursively in lists/tuples/dicts)."""
    import tally
    from tally import _tally

    if isinstance(arg, list):
        return [build(a) for a in arg]
    if isinstance(arg, tuple):
        return tuple(build(a) for a in arg)
    if isinstance(arg, dict):
        return {k: build(v) for k, v in arg.items()}
    if not isinstance(arg, Make):
        return arg
    k, v = arg.kind, arg.value
    if k == "fortran":
        return np.asfortranarray(v)
    if k == "noncontig":  # every other column of a wider array
        wide = np.repeat(v, 2, axis=-1) if v.ndim else v
        return wide[..., ::2] if v.ndim else v
    if k == "negstride":
        return v[::-1] if v.ndim else v
    if k == "readonly":
        v = v.copy()
        v.setflags(write=False)
        return v
    if k == "byteswap":
        return v.astype(v.dtype.newbyteorder("S")) if v.dtype.kind in "iuf" and v.dtype.itemsize > 1 else v
    if k == "subclass":
        return v.view(Sub)
    if k == "memoryview":
        try:
            return memoryview(np.ascontiguousarray(v))
        except (ValueError, TypeError):  # datetime, object: numpy exports no buffer
            return v
    if k == "list":
        return v.tolist()
    if k == "matrix":
        return np.asmatrix(v) if v.ndim == 2 else v
    if k == "masked":
        return np.ma.masked_array(v, mask=np.zeros(v.shape, bool))
    if k == "broadcast":  # zero strides over a huge logical shape: v = (shape, dtype)
        return np.broadcast_to(np.zeros((), v[1]), v[0])
    if k == "corrupt":  # a valid state with one byte replaced: v = (labels, position, byte)
        state = bytearray(build(Make("bytes_of", v[0])))
        state[v[1] % len(state)] = v[2]
        return bytes(state)
    if k == "corrupt_calibration":  # a valid calibration state with one byte replaced: v = (position, byte)
        state = bytearray(warmed_calibration().to_bytes())
        state[v[0] % len(state)] = v[1]
        return bytes(state)
    if k == "calibration":
        return tally.CalibrationTally(v, 4)
    if k == "tally":
        return tally.Tally(v)
    if k == "counts":
        return _tally.counts_new(v, 0.5)
    if k == "bytes_of":  # a valid state of `v` labels, for load_bytes / counts_from_bytes
        return tally.Tally(v).update(np.eye(v, dtype=bool), np.eye(v)).to_bytes()
    if k == "object":
        return object()
    raise ValueError(f"unknown Make kind {k}")


def warmed_tally():
    import tally
    return tally.Tally(3).update(np.array([[1, 0, 1], [0, 1, 0]]), np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.7]]))


def warmed_calibration():
    import tally
    return tally.CalibrationTally(3, 4).update(np.array([[1, 0, 1], [0, 1, 0]]),
                                              np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.7]]), [1.0, 2.5])


def warmed_counts():
    from tally import _tally
    c = _tally.counts_new(3, 0.5)
    c.update(np.array([[1, 0, 1], [0, 1, 0]], dtype=np.uint8), np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.7]]))
    return c


def run(target, args, kwargs):
    """Runs one case; returns a report dict."""
    import tally
    from tally import _tally, metrics

    args, kwargs = build(args), build(kwargs)
    state = None
    if target == "__abort__":  # proves the parent notices a dead interpreter
        import os
        os.abort()
    if target == "Tally":
        call = tally.Tally
    elif target.startswith("Tally."):
        obj = warmed_tally()
        state = obj.to_bytes
        call = getattr(obj, target.split(".", 1)[1])
    elif target == "CalibrationTally":
        call = tally.CalibrationTally
    elif target.startswith("CalibrationTally."):
        obj = warmed_calibration()
        state = obj.to_bytes
        call = getattr(obj, target.split(".", 1)[1])
    elif target.startswith("Counts."):
        obj = warmed_counts()
        state = obj.serialize
        call = getattr(obj, target.split(".", 1)[1])
    elif target.startswith("metrics."):
        call = getattr(metrics, target.split(".", 1)[1])
    elif target.startswith("_tally."):
        call = getattr(_tally, target.split(".", 1)[1])
    else:
        raise ValueError(f"unknown target {target}")
    before = state() if state else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 — every ending is reported
            return {"status": "raised", "type": type(exc).__name__,
                    "mro": [c.__name__ for c in type(exc).__mro__], "message": str(exc),
                    "state_changed": state is not None and state() != before}
    return {"status": "ok"}


def main():
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = inp.read(4)
        if len(head) < 4:
            return
        (n,) = struct.unpack("<I", head)
        target, args, kwargs = pickle.loads(inp.read(n))
        try:
            report = run(target, args, kwargs)
        except Exception as exc:  # a harness error, not a finding about tally
            report = {"status": "harness", "type": type(exc).__name__, "message": str(exc)}
        data = pickle.dumps(report)
        out.write(struct.pack("<I", len(data)) + data)
        out.flush()


if __name__ == "__main__":
    # Run as the module `robust_worker`, so that unpickled `Make` values are
    # instances of the same class that `build` checks.
    import robust_worker
    robust_worker.main()

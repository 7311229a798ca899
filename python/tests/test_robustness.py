"""Adversarial arguments to every public entry point, run in a worker subprocess.

Each call either works or raises ValueError/TypeError with a message (MemoryError
only for numpy refusing a giant copy, OverflowError only for counts that would
leave Int64); the interpreter never dies; an accumulator is unchanged by a call
that raised. The worker (robust_worker.py) reports each case, so a case that kills
the interpreter is named in the failure.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tally
from robust_worker import Make

HERE = os.path.dirname(os.path.abspath(__file__))


class Worker:
    """One long-lived worker; restarted (and the case reported) when it dies."""

    def __init__(self):
        self.proc = None
        self.stderr = None

    def start(self):
        self.stderr = tempfile.TemporaryFile()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE] + sys.path))
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "robust_worker.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env)

    def ask(self, target, args=(), kwargs=None):
        """The worker's report for one case, or {"status": "died", ...}."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        data = pickle.dumps((target, list(args), kwargs or {}))
        try:
            self.proc.stdin.write(struct.pack("<I", len(data)) + data)
            self.proc.stdin.flush()
            head = self.proc.stdout.read(4)
            if len(head) == 4:
                (n,) = struct.unpack("<I", head)
                return pickle.loads(self.proc.stdout.read(n))
        except BrokenPipeError:
            pass
        code = self.proc.wait(timeout=30)
        self.stderr.seek(0)
        tail = self.stderr.read()[-3000:].decode(errors="replace")
        self.proc = None
        return {"status": "died", "exit_code": code, "stderr": tail}

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


def check_report(case, report):
    """The contract: works, or raises a clear ValueError/TypeError, changing nothing."""
    where = f"case {case!r}"
    assert report["status"] != "died", f"the interpreter died (exit {report['exit_code']}) on {where}:\n{report['stderr']}"
    assert report["status"] != "harness", f"harness error on {where}: {report}"
    if report["status"] == "ok":
        return
    mro, message = report["mro"], report["message"]
    allowed = ("ValueError" in mro or "TypeError" in mro
               or ("MemoryError" in mro and "allocate" in message))
    assert allowed, f"{report['type']}: {message!r} on {where}"
    assert len(message) >= 10, f"an unclear message {message!r} on {where}"
    assert "Fatal error" not in message and "Swift" not in message, f"{message!r} on {where}"
    assert not report["state_changed"], f"{report['type']} ({message}) changed the state on {where}"


# -- strategies ----------------------------------------------------------------------

DTYPES = ["bool", "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
          "float16", "float32", "float64", ">f8", ">i4", "<f4", "complex128", "object", "U3",
          "datetime64[s]", "V8"]
SPECIAL = [0, 1, 0, 1, 0, 1, -1, 2, 0.5, np.nan, np.inf, -np.inf, 2**63 - 1, -(2**63), 1e300, -0.0]
WRAPS = [None, None, "fortran", "noncontig", "negstride", "readonly", "byteswap", "subclass",
         "memoryview", "list", "matrix", "masked"]
SCALARS = [None, "abc", b"xy", 0, 1, -1, 3, 2**31, 2**63, 2**64, 10**30, -(2**63) - 1, 0.5,
           np.nan, np.inf, -np.inf, True, [], [[]], {}, 1j, Make("object")]


@st.composite
def arrays(draw, rows=None, cols=None):
    ndim = draw(st.sampled_from([2, 2, 2, 2, 1, 0, 3]))
    r = rows if rows is not None else draw(st.sampled_from([0, 1, 2, 3, 5]))
    c = cols if cols is not None else draw(st.sampled_from([0, 1, 2, 3, 3, 3, 4]))
    shape = {0: (), 1: (r,), 2: (r, c), 3: (r, c, 1)}[ndim]
    n = int(np.prod(shape))
    dtype = draw(st.sampled_from(DTYPES))
    values = draw(st.lists(st.sampled_from(SPECIAL), min_size=n, max_size=n))
    with np.errstate(all="ignore"), __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")
        try:
            arr = np.array(values, dtype=np.float64).reshape(shape).astype(dtype)
        except (ValueError, TypeError, OverflowError):
            arr = np.zeros(shape, dtype=dtype)
    wrap = draw(st.sampled_from(WRAPS))
    return arr if wrap is None else Make(wrap, arr)


def anything(rows=None, cols=None):
    """An array (mostly the right shape when given), a scalar, or a giant broadcast."""
    giant = st.sampled_from([((2**29, 2**30), "float64"), ((2**40, 3), "bool"), ((3, 2**40), "uint8"),
                             ((0, 2**60), "uint8")]).map(lambda v: Make("broadcast", v))
    return st.one_of(arrays(rows, cols), arrays(rows, cols), arrays(), st.sampled_from(SCALARS), giant)


AVERAGES = st.sampled_from([None, "micro", "macro", "weighted", "samples", "binary", "bogus", 3, b"micro"])
ZERO_DIVISIONS = st.sampled_from(["warn", 0, 1, np.nan, 0.5, "0", None, -1, True])
LABELS = st.one_of(st.none(), st.sampled_from([[0], [0, 2], [2, 0, 0], [5], [-1], [], [0.5], ["a"], [[0]],
                                               [2**63], np.array([1], dtype=np.uint64)]))


def case_strategies():
    """(target, args, kwargs) for every public entry point."""
    y = anything(rows=3, cols=3)
    w = st.one_of(st.none(), anything(rows=3), st.sampled_from([[1, 2, 3], [np.nan, 1, 1], [0, 0, 0], [-1, 1, 1],
                                                                [1e308, 1e308, 1e308]]))
    metrics = st.tuples(
        st.sampled_from(["metrics.precision_recall_fscore_support", "metrics.f1_score",
                         "metrics.precision_score", "metrics.recall_score", "metrics.fbeta_score"]),
        st.tuples(y, y),
        st.fixed_dictionaries({"average": AVERAGES, "zero_division": ZERO_DIVISIONS, "labels": LABELS,
                               "sample_weight": w, "pos_label": st.sampled_from([1, 0, "a", None, 2]),
                               "beta": st.sampled_from([1, 0, 2.5, -1, np.nan, np.inf, "x", True])}))

    def fix_metrics(case):
        target, args, kwargs = case
        if not target.endswith("fbeta_score") and not target.endswith("support"):
            kwargs = {k: v for k, v in kwargs.items() if k != "beta"}
        return target, args, kwargs

    tally_new = st.tuples(st.just("Tally"),
                          st.tuples(st.one_of(st.sampled_from([1, 3, 2**21 - 1, 2**21, np.int64(3), np.uint8(2)]),
                                              st.sampled_from(SCALARS)),
                                    st.one_of(st.sampled_from([0.5, 0, 1, -np.inf, np.nan, [0.1, 0.2, 0.3]]),
                                              anything(rows=3))),
                          st.fixed_dictionaries({"from_logits": st.sampled_from([False, True, "yes", None]),
                                                 "label_names": st.sampled_from([None, ["a", "b", "c"], ["a"], 3, "abc"])}))
    tally_update = st.tuples(st.just("Tally.update"), st.tuples(y, y, w), st.just({}))
    tally_other = st.tuples(
        st.sampled_from(["Tally.merge", "Tally.load_bytes", "Tally.__iadd__", "Tally.__add__"]),
        st.tuples(st.one_of(st.sampled_from(SCALARS), st.sampled_from([1, 3]).map(lambda n: Make("tally", n)),
                            st.sampled_from([1, 3]).map(lambda n: Make("bytes_of", n)),
                            st.tuples(st.just(3), st.integers(0, 400), st.integers(0, 255)).map(lambda v: Make("corrupt", v)),
                            arrays())),
        st.just({}))
    tally_scores = st.tuples(
        st.sampled_from(["Tally.precision_recall_fscore_support", "Tally.precision", "Tally.recall", "Tally.f1"]),
        st.just(()),
        st.fixed_dictionaries({"average": AVERAGES, "zero_division": ZERO_DIVISIONS, "labels": LABELS}))
    tally_fbeta = st.tuples(st.just("Tally.fbeta"), st.tuples(st.sampled_from([1, 0, -1, np.nan, np.inf, "x", None]),
                                                               AVERAGES), st.just({}))
    tally_report = st.tuples(st.sampled_from(["Tally.report", "Tally.result"]), st.just(()),
                             st.fixed_dictionaries({"zero_division": ZERO_DIVISIONS}))
    counts_update = st.tuples(st.just("Counts.update"),
                              st.tuples(y, y, w, st.sampled_from([False, True, None, 2, "x"])), st.just({}))
    counts_other = st.tuples(
        st.sampled_from(["Counts.merge", "Counts.prfs", "Counts.info", "Counts.reset", "Counts.copy",
                         "Counts.serialize", "Counts.confusion", "Counts.row_triples", "Counts.update"]),
        st.lists(st.one_of(st.sampled_from(SCALARS), st.sampled_from([1, 3]).map(lambda n: Make("counts", n)),
                           AVERAGES, arrays()), max_size=5).map(tuple),
        st.just({}))
    counts_prfs = st.tuples(st.just("Counts.prfs"),
                            st.tuples(st.sampled_from([1.0, 0, -1.0, np.nan, np.inf, 2**70, "x"]), AVERAGES,
                                      st.sampled_from([None, 0.0, 1.0, np.nan, 0.5, "warn"]),
                                      st.one_of(st.none(), arrays(), st.sampled_from(
                                          [np.array([0, 2]), np.array([3]), np.array([-1]), np.array([], np.int64)]))),
                            st.just({}))
    module = st.tuples(
        st.sampled_from(["_tally.counts_new", "_tally.counts_from_bytes"]),
        st.lists(st.one_of(st.sampled_from(SCALARS), st.sampled_from([1, 3, 2**21]), arrays(rows=3),
                           st.binary(max_size=200),
                           st.tuples(st.just(3), st.integers(0, 400), st.integers(0, 255)).map(lambda v: Make("corrupt", v))),
                 max_size=3).map(tuple),
        st.just({}))
    calibration = st.one_of(
        st.tuples(st.just("CalibrationTally"), st.lists(st.one_of(st.sampled_from(SCALARS), st.sampled_from([1, 3, 15])),
                                                         max_size=2).map(tuple), st.just({})),
        st.tuples(st.just("CalibrationTally.update"), st.tuples(y, y, w), st.just({})),
        st.tuples(st.sampled_from(["CalibrationTally.brier_score", "CalibrationTally.log_loss",
                                   "CalibrationTally.expected_calibration_error",
                                   "CalibrationTally.maximum_calibration_error"]),
                  st.tuples(AVERAGES), st.fixed_dictionaries({"labels": LABELS})),
        st.tuples(st.sampled_from(["CalibrationTally.merge", "CalibrationTally.reliability", "CalibrationTally.table",
                                   "CalibrationTally.from_bytes"]),
                  st.lists(st.one_of(st.sampled_from(SCALARS), st.sampled_from([1, 3]).map(lambda n: Make("calibration", n)),
                                     st.tuples(st.integers(0, 4000), st.integers(0, 255)).map(
                                         lambda v: Make("corrupt_calibration", v)), arrays()), max_size=2).map(tuple),
                  st.just({})),
    )
    return {
        "calibration": calibration,
        "metrics": metrics.map(fix_metrics),
        "constructor": tally_new,
        "update": tally_update,
        "tally_state": tally_other,
        "tally_scores": st.one_of(tally_scores, tally_fbeta, tally_report),
        "counts": st.one_of(counts_update, counts_other, counts_prfs),
        "module": module,
    }


CASES = case_strategies()
ROBUST = settings(max_examples=int(os.environ.get("TALLY_ROBUST_EXAMPLES", 40)), deadline=None,
                  suppress_health_check=list(HealthCheck),
                  derandomize=not os.environ.get("TALLY_ROBUST_RANDOM"))


@pytest.mark.parametrize("group", sorted(CASES))
def test_every_entry_point_works_or_raises_clearly(worker, group):
    @ROBUST
    @given(st.lists(CASES[group], min_size=1, max_size=12))
    def run(cases):
        for case in cases:
            check_report(case, worker.ask(*case))

    run()


def test_worker_notices_a_dead_interpreter(worker):
    # The harness itself can fail: a case that aborts is reported, not lost.
    report = worker.ask("__abort__")
    assert report["status"] == "died" and report["exit_code"] != 0
    assert worker.ask("Tally", (3,))["status"] == "ok"


# -- hand-checked adversarial cases (type and text) ----------------------------------

def test_adversarial_arrays_get_named_errors():
    acc = tally.Tally(3).update([[1, 0, 1]], [[0.9, 0.1, 0.6]])
    before = acc.to_bytes()
    y = np.zeros((2, 3))
    cases = [
        (TypeError, "Expected `y_score` to hold real numbers, but got dtype complex128", y, y.astype(complex)),
        (TypeError, "Expected `y_true` to hold numbers, but got dtype datetime64", y.astype("datetime64[s]"), y),
        (ValueError, r"Expected `y_true` to have 3 columns, but got 0", np.zeros((2, 0)), np.zeros((2, 0))),
        (ValueError, r"Expected `y_pred` to have shape \(2, 3\) like `y_true`, but got \(2, 1\)", y, np.zeros(2)),
        (ValueError, "Expected `y_true` to hold only 0 and 1, but got 2", y + 2, y),
        (ValueError, "Expected `y_true` to hold only 0 and 1, but got 0.5", y + 0.5, y),
        (ValueError, "Expected `y_true` to hold only 0 and 1, but got -1", -np.ones((2, 3), np.int8), y),
        (ValueError, "Expected `y_score` to hold numbers, but got nan", y, np.full((2, 3), np.nan, np.float32)),
        (ValueError, "Expected `sample_weight` to hold finite numbers, but got inf", y, y, [1, np.inf]),
        (ValueError, r"Expected `sample_weight` to have 2 values \(one per row\), but got 3", y, y, [1, 1, 1]),
        (ValueError, r"Expected a 2-D `sample_weight` to have shape \(2, 3\) like `y_true`, but got \(1, 2\)", y, y, [[1, 1]]),
    ]
    for exc, message, *args in cases:
        with pytest.raises(exc, match=message):
            acc.update(*args)
        assert acc.to_bytes() == before, message
    # Memory layouts and wrappers that hold valid values all count, identically.
    good_t, good_s = np.array([[1, 0, 1], [0, 1, 1]]), np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.7]])
    reference = tally.Tally(3).update(good_t, good_s).to_bytes()
    layouts = [np.asfortranarray, lambda a: np.repeat(a, 2, axis=1)[:, ::2], lambda a: a.astype(a.dtype.newbyteorder("S")),
               lambda a: memoryview(np.ascontiguousarray(a)), np.asmatrix, lambda a: a.tolist(),
               lambda a: np.ma.masked_array(a)]
    for layout in layouts:
        assert tally.Tally(3).update(layout(good_t), layout(good_s)).to_bytes() == reference, layout


def test_internal_module_names_each_problem():
    from tally import _tally
    c = _tally.counts_new(3, 0.5)
    y = np.zeros((2, 3))
    with pytest.raises(TypeError, match="Expected `n_labels` to be an int, but got float"):
        _tally.counts_new(2.0, 0.5)
    with pytest.raises(ValueError, match="Expected `n_labels` to be an int in the 64-bit range, but got a larger one"):
        _tally.counts_new(2**64, 0.5)
    with pytest.raises(ValueError, match="Expected `threshold` to be a number in the float64 range"):
        _tally.counts_new(3, 10**400)
    with pytest.raises(ValueError, match="Expected `n_labels` to be at most 2097151, but got 2097152"):
        _tally.counts_new(2**21, 0.5)
    with pytest.raises(TypeError, match="Expected `state` to be bytes, but got bytearray"):
        _tally.counts_from_bytes(bytearray(c.serialize()))
    with pytest.raises(TypeError, match="Expected a _tally.Counts object, but got int"):
        c.merge(3)
    with pytest.raises(TypeError, match="Expected `sample_weight` to have dtype float64, but got float32"):
        c.update(y, y, np.ones(2, np.float32))
    with pytest.raises(TypeError, match="takes no keyword arguments"):
        c.update(y, y, sample_weight=None)
    with pytest.raises(ValueError, match="Expected `y_true` to be 2-D, but got 1-D"):
        c.update(np.zeros(3), np.zeros(3))
    with pytest.raises(TypeError, match="Expected `labels` to have dtype int64"):
        c.prfs(1.0, None, "warn", np.array([0.5]))
    with pytest.raises(ValueError, match="All labels must be in"):
        c.prfs(1.0, None, "warn", np.array([3]))
    with pytest.raises(ValueError, match="Expected `beta` to be a number >= 0, but got -1.0"):
        c.prfs(-1.0, None, "warn", None)


# -- counts at the edge of Int64 -------------------------------------------------------

def near_full_state(rows, labels=1):
    """Serialized unweighted counts of `rows` all-negative rows (the format of
    ConfusionCounts+Serialization.swift: little-endian 64-bit words)."""
    words = [0x3253_5443_594C_4C41, labels, 0, rows, struct.unpack("<Q", struct.pack("<d", float(rows)))[0]]
    words += [struct.unpack("<Q", struct.pack("<d", 0.5))[0]] * labels
    words += [0, 0, 0] * labels
    words += [1, 0, rows, struct.unpack("<Q", struct.pack("<d", float(rows)))[0]]  # one triple (0, 0, 0)
    return struct.pack(f"<{len(words)}Q", *words)


def test_counts_never_overflow_silently():
    full = tally.Tally(1).load_bytes(near_full_state(2**63 - 2))
    assert full.n_samples == 2**63 - 2
    full.update([[0]], [[0.1]])
    assert full.n_samples == 2**63 - 1
    assert full.confusion_matrix()[0, 0, 0] == 2**63 - 1  # tn, exact
    before = full.to_bytes()
    with pytest.raises(OverflowError, match="would overflow the Int64 row count"):
        full.update([[1]], [[0.9]])
    with pytest.raises(OverflowError, match="would overflow the Int64 row count"):
        full.update([[1]], [[0.9]], sample_weight=[2.0])
    with pytest.raises(OverflowError, match="would overflow the Int64 row count"):
        full.merge(tally.Tally(1).update([[1]], [[0.9]]))
    assert full.to_bytes() == before
    # A state that no update could reach (more positives than rows) is refused.
    bad = bytearray(near_full_state(5))
    bad[8 * 6 + 16: 8 * 6 + 24] = struct.pack("<q", 9)  # actual = 9 > 5 rows
    with pytest.raises(ValueError, match="label 0 has tp 0, predicted 0, actual 9 in 5 rows"):
        tally.Tally(1).load_bytes(bytes(bad))


# -- memory -----------------------------------------------------------------------------

def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_million_updates_and_100k_accumulators_keep_rss_flat():
    rng = np.random.default_rng(3)
    y_true = rng.random((32, 39)) < 0.3
    y_score = rng.random((32, 39)).astype(np.float32)
    bad = np.zeros((32, 39), np.float16)  # refused after its buffer was taken
    acc = tally.Tally(39)
    small = tally.Tally(39).update(y_true, y_score)

    def churn(n):
        for i in range(n):
            acc.update(y_true, y_score)
            if i % 1000 == 0:  # the slower paths too, errors included
                acc.f1(average="samples", zero_division=0)
                acc.load_bytes(acc.to_bytes())
                acc.merge(small.copy())  # (merging acc into itself would double the rows each time)
                try:
                    acc._counts.update(bad, y_score)
                except TypeError:
                    pass

    def accumulators(n):
        for _ in range(n):
            t = tally.Tally(39)
            t._counts.update(y_true, y_score)

    churn(100_000)
    accumulators(10_000)
    start = rss_bytes()
    churn(900_000)
    accumulators(90_000)
    grown = rss_bytes() - start
    assert grown < 16 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB over 900k updates and 90k accumulators"
    assert acc.n_samples > 32 * 1_000_000


def test_refused_buffers_are_released():
    # A buffer taken and then refused (wrong dtype, shape, values) must be given back:
    # a leaked Py_buffer keeps the array alive (its refcount) and locks resizing.
    from tally import _tally
    c = _tally.counts_new(3, 0.5)
    arrays = [np.zeros((2, 3), np.float16), np.zeros((2, 4)), np.full((2, 3), np.nan), np.zeros((2, 3, 1)),
              np.asfortranarray(np.zeros((3, 3)))]
    good = np.zeros((2, 3))
    for a in arrays:
        before = sys.getrefcount(a)
        for _ in range(100):
            with pytest.raises((TypeError, ValueError)):
                c.update(a, good)
            with pytest.raises((TypeError, ValueError)):
                c.update(good, a)
        assert sys.getrefcount(a) == before
    w = np.ones(2, np.float32)
    before = sys.getrefcount(w)
    for _ in range(100):
        with pytest.raises(TypeError):
            c.update(good, good, w)
    assert sys.getrefcount(w) == before
    b = bytearray(10)
    for _ in range(10):
        with pytest.raises(TypeError):
            c.update(good, good, None, False, 1)  # too many arguments
    b.extend(b"x")  # resizable: no export left behind


# -- threads ------------------------------------------------------------------------------

def test_threads_with_readers_and_merges_give_single_threaded_counts():
    import threading
    rng = np.random.default_rng(21)
    y_true = rng.random((6000, 17)) < 0.3
    y_score = rng.random((6000, 17))
    weight = rng.random(6000)
    chunks = np.array_split(np.arange(6000), 60)
    acc = tally.Tally(17)
    side = tally.Tally(17)
    errors = []

    def writer(ids, target):
        try:
            for i in ids:
                target.update(y_true[chunks[i]], y_score[chunks[i]], sample_weight=weight[chunks[i]])
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    def reader(stop):
        try:
            while not stop.is_set():
                acc.to_bytes(), acc.f1(average="macro", zero_division=0), acc.copy()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    stop = threading.Event()
    threads = [threading.Thread(target=writer, args=(range(t, 50, 5), acc)) for t in range(5)]
    threads.append(threading.Thread(target=writer, args=(range(50, 60), side)))
    readers = [threading.Thread(target=reader, args=(stop,)) for _ in range(2)]
    for t in threads + readers:
        t.start()
    for t in threads:
        t.join(timeout=120)
    stop.set()
    for t in readers:
        t.join(timeout=120)
    assert not errors, errors
    acc.merge(side)
    # Weighted sums depend on the order of additions: compare with one thread
    # feeding the same batches in some order, to float64 rounding.
    whole = tally.Tally(17).update(y_true, y_score, sample_weight=weight)
    assert acc.n_samples == 6000
    np.testing.assert_allclose(acc.confusion_matrix(), whole.confusion_matrix(), rtol=1e-12)
    unweighted = tally.Tally(17)
    ts = [threading.Thread(target=lambda ids: [unweighted.update(y_true[chunks[i]], y_score[chunks[i]]) for i in ids],
                           args=(range(t, 60, 6),)) for t in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert unweighted.to_bytes() == tally.Tally(17).update(y_true, y_score).to_bytes()


# -- exactness at scale ------------------------------------------------------------------

@pytest.mark.skipif(not os.environ.get("TALLY_SAFETY"), reason="~1 min: run by scripts/safety.sh (TALLY_SAFETY=1)")
def test_weighted_sums_match_sklearn_on_ten_million_rows():
    import sklearn.metrics as sk
    n, k = 10_000_000, 3
    rng = np.random.default_rng(5)
    y_true = rng.random((n, k)) < 0.4
    y_pred = rng.random((n, k)) < 0.5
    # Dyadic weights (multiples of 1/64 below 4): every partial sum is exact in
    # float64, so Tally and scikit-learn must agree to the bit; random weights to rounding.
    for weight, rtol in ((rng.integers(0, 256, n) / 64.0, 0), (rng.random(n) * 2, 1e-10)):
        acc = tally.Tally(k)
        for start in range(0, n, 250_000):
            end = start + 250_000
            acc.update(y_true[start:end], y_pred[start:end], sample_weight=weight[start:end])
        # The per-label sums (every label-wise average follows from them) and the
        # row-wise path; each scikit-learn call on 10^7 rows takes seconds.
        ours = acc.precision_recall_fscore_support(average="samples", zero_division=0)
        theirs = sk.precision_recall_fscore_support(y_true, y_pred, average="samples", sample_weight=weight,
                                                    zero_division=0)
        np.testing.assert_allclose(ours[:3], theirs[:3], rtol=max(rtol, 1e-13), atol=0)
        np.testing.assert_allclose(acc.confusion_matrix(), sk.multilabel_confusion_matrix(
            y_true, y_pred, sample_weight=weight), rtol=rtol, atol=0)

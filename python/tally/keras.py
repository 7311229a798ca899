"""Keras metrics and callbacks whose logged values are exact.

`model.compile(metrics=[tally.keras.F1Score(average="macro")])` logs, at the end of
each epoch, the F1 of the whole epoch (scikit-learn's `f1_score` on the epoch's
predictions), not a mean over batches, and puts each label's value into the logs
as its own scalar (`f1/cat`, `val_f1/cat`, or `f1/3` without names), so History,
CSVLogger, TensorBoard, EarlyStopping and ModelCheckpoint can use them.

How it works. Each metric keeps its state in Keras variables, so Keras resets it
at each epoch and before evaluation, sums it across replicas and saves it. Keras
variables are float32, so each state value is kept as two float32 words (hi + lo,
about 48 significant bits) and counts stay exact far beyond 2^24. Each batch is
counted one of two ways (`counting=`):

- "host": Tally's Swift core counts the batch and adds it to the state in float64,
  reached from a traced step through `jax.pure_callback` / `tf.numpy_function`.
  Used when eager (a plain call) and on backends other than JAX and TensorFlow.
- "device": the step counts the batch in backend ops: 0/1 indicators from
  `y_pred >= threshold`, per-label and per-row sums in float32 (integers, so exact
  for batches under 2^24 rows), added into hi + lo exactly (TwoSum). No host round
  trip: the only way in an XLA-compiled TensorFlow step (`jit_compile=True`, Keras's
  "auto" on a GPU), ~30x cheaper than the callback on JAX, and no device-to-host
  copy per step on a GPU. A batch the core would refuse (y_true not 0/1, nan scores)
  still raises its message from the host, reached only when that happens; an
  XLA-compiled TensorFlow step cannot call out, so there the value becomes nan.

"auto" (default) counts compiled steps on the device and eager ones on the host.
`result()` turns the counts into scores in backend ops, without an epsilon, with
scikit-learn's rules for `zero_division` and averaging.

`PerLabelReport` is an epoch-end callback that scores a whole validation set
through one `tally.Tally`, adds the scores to `logs` (`val_f1/cat`, ...), prints
a per-label table every few epochs and keeps a per-epoch history.

Importing this module imports Keras; `import tally` does not.
"""

from __future__ import annotations

import csv
import json
import math
import keras
import numpy as np
from keras import ops

from . import _tally
from ._convert import as_thresholds
from .metrics import check_beta, parse_zero_division
from .streaming import Tally

__all__ = [
    "Precision",
    "Recall",
    "FBetaScore",
    "F1Score",
    "JaccardScore",
    "LabelAccuracy",
    "SubsetAccuracy",
    "HammingLoss",
    "PerLabelReport",
]

AVERAGES = (None, "micro", "macro", "weighted", "samples")
COUNTING = ("auto", "host", "device")
# Where counting="auto" counts a traced (compiled) step in backend ops rather than on
# the host; measured with bench/bench_keras.py (see the README).
_AUTO_DEVICE = {"jax": True, "tensorflow": True}
_SAMPLES_BLOCK = {"precision": 0, "recall": 1, "fbeta": 2, "jaccard": 3}


def _logit(p):
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


class _Spec:
    """The Swift-side description of a metric (label count, thresholds, beta).
    Holds a `_tally` handle, rebuilt after copying or pickling."""

    def __init__(self, n_labels, thresholds, beta):
        self.n_labels = int(n_labels)
        self.thresholds = np.ascontiguousarray(thresholds, dtype=np.float64)
        self.beta = float(beta)
        self.handle = _tally.keras_spec(self.n_labels, self.thresholds, self.beta)
        self.size = _tally.keras_state_size(self.handle)
        # Offsets into the state vector (Sources/TallyPython/Keras.swift documents the layout).
        n = self.n_labels
        self.rows, self.weight, self.samples, self.exact = 3 * n, 3 * n + 1, 3 * n + 2, 3 * n + 18
        assert self.size == 3 * n + 19, "state layout of keras_accumulate changed"

    def __getstate__(self):
        return (self.n_labels, self.thresholds, self.beta)

    def __setstate__(self, state):
        self.__init__(*state)

    def __deepcopy__(self, memo):
        return _Spec(self.n_labels, self.thresholds, self.beta)

    def accumulate(self, y_true, y_pred, sample_weight, hi, lo):
        """The new (hi, lo) state: runs on the host, once per batch."""
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=np.float64).reshape(-1)
        out = np.frombuffer(
            _tally.keras_accumulate(self.handle, np.ascontiguousarray(y_true), np.ascontiguousarray(y_pred),
                                    sample_weight, np.ascontiguousarray(hi, dtype=np.float32),
                                    np.ascontiguousarray(lo, dtype=np.float32)),
            dtype=np.float32)
        return out[: self.size], out[self.size:]


def _step_kind(tensor):
    """How the batch reaches the metric: "eager" (concrete values), "traced" (a
    compiled step that can call the host) or "xla" (a TensorFlow step compiled by
    XLA, `jit_compile=True`, where `tf.numpy_function` has no kernel)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return "traced" if isinstance(tensor, jax.core.Tracer) else "eager"
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.executing_eagerly():
            return "eager"
        try:
            # `tf.function(jit_compile=True)` traces inside an XLA control-flow context.
            from tensorflow.python.framework import ops as tf_ops
            from tensorflow.python.ops import control_flow_util

            in_xla = control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())
        except (ImportError, AttributeError):  # a private API moved: assume the step cannot call out
            in_xla = True
        return "xla" if in_xla else "traced"
    return "eager"


def _host_accumulate(spec, y_true, y_pred, sample_weight, hi, lo):
    """Calls `spec.accumulate` from traced or eager code on the current backend."""
    backend = keras.backend.backend()
    weighted = sample_weight is not None

    def host(*args):
        if weighted:
            yt, yp, sw, h, l = args
        else:
            (yt, yp, h, l), sw = args, None
        return spec.accumulate(yt, yp, sw, h, l)

    args = [y_true, y_pred] + ([sample_weight] if weighted else []) + [hi, lo]
    if backend == "jax":
        import jax

        shape = jax.ShapeDtypeStruct((spec.size,), np.float32)
        return jax.pure_callback(host, (shape, shape), *args, vmap_method="sequential")
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.executing_eagerly():
            return tuple(ops.convert_to_tensor(a) for a in host(*[a.numpy() for a in args]))
        new_hi, new_lo = tf.numpy_function(host, args, [tf.float32, tf.float32], stateful=True)
        new_hi.set_shape((spec.size,))
        new_lo.set_shape((spec.size,))
        return new_hi, new_lo
    # torch, numpy, openvino: eager values that convert to numpy (a torch.compile'd
    # step breaks its graph here).
    new_hi, new_lo = host(*[ops.convert_to_numpy(a) for a in args])
    return ops.convert_to_tensor(new_hi), ops.convert_to_tensor(new_lo)


# -- counting a batch in backend ops (inside the step, on the step's device) ---------------


def _float32_thresholds(thresholds):
    """The smallest float32 `f` with `f >= t` for each float64 threshold `t`, so that
    `score >= f` in float32 is `float64(score) >= t`, as the Swift core compares."""
    t = np.asarray(thresholds, dtype=np.float64)
    f = t.astype(np.float32)
    return np.where(f.astype(np.float64) < t, np.nextafter(f, np.float32(np.inf)), f).astype(np.float32)


def _two_sum_add(hi, lo, x):
    """(hi, lo) + x for float32 vectors, where hi + lo stands for one float64-like value
    (about 48 significant bits): Knuth's TwoSum gives the rounding error of hi + x
    exactly, which joins lo; Fast2Sum renormalises. Integer counts stay exact below
    2^48. Only additions and subtractions, so no FMA contraction can change them; the
    result is the state the Swift path would have written (hi = the float32 nearest
    to the sum, lo = the rest)."""
    s = hi + x
    virtual = s - hi
    error = (hi - (s - virtual)) + (x - virtual)
    t = lo + error
    new_hi = s + t
    return new_hi, t - (new_hi - s)


def _device_batch_state(spec, y_true, y_pred, sample_weight):
    """One batch's state contributions in float32 backend ops, in the layout of
    `KerasSpec` (Sources/TallyPython/Keras.swift), and whether the batch holds a
    value the Swift core would refuse (y_true not 0/1, nan scores, weights not finite).

    Unweighted, every entry is an integer no larger than the batch, so exact while
    the batch has fewer than 2^24 rows. Weighted sums and the per-row scores of
    `average="samples"` round in float32 (the Swift path: float64), far inside the
    float32 of the logs. Three reductions in all (per label, per row, over rows):
    a TensorFlow step pays per op, XLA on TensorFlow per fused reduction."""
    if str(y_pred.dtype) == "float64":
        thresholds = ops.convert_to_tensor(spec.thresholds, dtype="float64")
    else:
        thresholds = ops.convert_to_tensor(_float32_thresholds(spec.thresholds))
    p = ops.cast(ops.greater_equal(y_pred, thresholds), "float32")  # nan >= t is False
    t = ops.cast(y_true, "float32")
    hit = t * p
    odd = ops.cast(ops.logical_or(ops.logical_and(ops.not_equal(t, 0.0), ops.not_equal(t, 1.0)),
                                  ops.isnan(y_pred)), "float32")
    # Per row: tp, predicted, actual (exact integers), and how many values are bad.
    row_tp, row_predicted, row_actual, row_bad = ops.unstack(ops.sum(ops.stack([hit, p, t, odd], axis=1), axis=2),
                                                             axis=1)
    one = ops.ones_like(row_tp)
    if sample_weight is None:
        w = one
        per_label = ops.sum(ops.stack([hit, p - hit, t - hit], axis=1), axis=0)
    else:
        # Multiply, then reduce: a matmul could run in TF32/bf16 on a GPU.
        w = ops.cast(sample_weight, "float32")
        per_label = ops.sum(ops.expand_dims(ops.expand_dims(w, 1), 2) * ops.stack([hit, p - hit, t - hit], axis=1),
                            axis=0)
        row_bad = row_bad + ops.cast(ops.logical_not(ops.isfinite(w)), "float32")
    # scikit-learn scales a row's own counts by its weight: a row of weight 0 has no
    # true and no predicted labels, and every one of its scores is undefined.
    live = ops.not_equal(w, 0.0)
    beta = spec.beta
    if beta == math.inf:
        f_num, f_den = row_tp, row_actual
    elif beta == 0:
        f_num, f_den = row_tp, row_predicted
    else:
        b2 = beta * beta
        f_num, f_den = (1 + b2) * row_tp, b2 * row_actual + row_predicted
    union = row_predicted + row_actual - row_tp
    columns = [one, w]
    for numerator, denominator in ((row_tp, row_predicted), (row_tp, row_actual), (f_num, f_den), (row_tp, union)):
        defined = ops.logical_and(ops.greater(denominator, 0.0), live)
        value = ops.where(defined, numerator / ops.where(defined, denominator, one), 0.0)
        d = ops.cast(defined, "float32")
        columns += [w * value, w * d, value, d]
    exact = ops.logical_and(ops.equal(row_tp, row_predicted), ops.equal(row_tp, row_actual))
    columns += [ops.where(exact, w, 0.0), row_bad]
    sums = ops.sum(ops.stack(columns, axis=1), axis=0)  # rows, weight, 16 samples sums, exact, bad
    batch = ops.concatenate([ops.reshape(per_label, (-1,)), sums[:-1]], axis=0)
    return batch, ops.greater(sums[-1], 0.0)


def _batch_check(spec, y_true, y_pred, sample_weight, bad, host_reachable):
    """0, or nan for a batch the Swift core would refuse (y_true not 0/1, nan scores,
    non-finite weights) — after raising the core's message where the step can reach
    the host only when that happens: JAX, a callback inside `lax.cond`; TensorFlow
    graphs, a `tf.numpy_function` inside `tf.cond`. An XLA-compiled TensorFlow step
    cannot call out (`host_reachable=False`): its metric state becomes nan instead."""
    backend = keras.backend.backend()
    weighted = sample_weight is not None
    args = [y_true, y_pred] + ([sample_weight] if weighted else [])

    def refuse(*arrays):
        spec.accumulate(arrays[0], arrays[1], arrays[2] if weighted else None, np.zeros(spec.size, np.float32),
                        np.zeros(spec.size, np.float32))  # raises the Swift core's message
        return np.float32(np.nan)  # not reached for a bad batch; poison if it were

    if backend == "jax" and host_reachable:
        import jax

        def checked():
            return jax.pure_callback(refuse, jax.ShapeDtypeStruct((), np.float32), *args, vmap_method="sequential")

        return jax.lax.cond(bad, checked, lambda: np.float32(0.0))
    if backend == "tensorflow" and host_reachable:
        import tensorflow as tf

        def checked():
            out = tf.numpy_function(refuse, args, tf.float32, stateful=True)
            out.set_shape(())
            return out

        return tf.cond(bad, checked, lambda: tf.constant(0.0, tf.float32))
    return ops.where(bad, np.float32(np.nan), np.float32(0.0))


class _SharedCheck:
    """The last step's batch check, reused by every Tally metric that is handed the
    same (y_true, y_pred, sample_weight) objects in the same trace — as Keras hands
    all compiled metrics one batch. Identity through weak references: nothing of a
    finished trace is kept alive, and a new object can never match a dead one. XLA
    merges the metrics' identical counting ops by itself, but not their conditional
    host checks (each one costs ≈15 µs per step on JAX/CPU)."""

    key = None
    value = None

    @classmethod
    def get(cls, batch, host_reachable):
        if cls.key is None or cls.key[0] != host_reachable or len(cls.key[1]) != len(batch):
            return None
        if not all(ref() is obj for ref, obj in zip(cls.key[1], batch)):
            return None
        return cls.value()

    @classmethod
    def put(cls, batch, host_reachable, value):
        import weakref

        try:
            cls.key = (host_reachable, [weakref.ref(obj) for obj in batch])
            cls.value = weakref.ref(value)
        except TypeError:  # an object without weak references: do not share
            cls.key = cls.value = None


def _device_accumulate(spec, y_true, y_pred, sample_weight, hi, lo, host_reachable=True, batch_key=None):
    """The new (hi, lo) state with the batch counted in backend ops (see `_batch_check`
    for bad values). `batch_key`: the objects the metric was handed, for sharing the check."""
    batch, bad = _device_batch_state(spec, y_true, y_pred, sample_weight)
    poison = None if batch_key is None else _SharedCheck.get(batch_key, host_reachable)
    if poison is None:
        poison = _batch_check(spec, y_true, y_pred, sample_weight, bad, host_reachable)
        if batch_key is not None:
            _SharedCheck.put(batch_key, host_reachable, poison)
    return _two_sum_add(hi, lo, batch + poison)

# -- scores from the state, in backend ops (traced inside the train step) -------------


def _divide(numerator, denominator, zero_division):
    """numerator / denominator, `zero_division` where the denominator is 0 (sklearn's _prf_divide)."""
    zero = ops.equal(denominator, 0.0)
    safe = ops.where(zero, ops.ones_like(denominator), denominator)
    return ops.where(zero, ops.full_like(numerator, zero_division), numerator / safe)


def _nan_average(values, weights=None):
    """sklearn's _nanaverage: the mean of the non-nan values, weighted when the
    weights of those values do not sum to zero; nan when all are nan."""
    keep = ops.logical_not(ops.isnan(values))
    kept = ops.where(keep, values, ops.zeros_like(values))
    count = ops.sum(ops.cast(keep, values.dtype))
    plain = ops.sum(kept) / count  # 0 / 0 = nan when every value is nan
    if weights is None:
        return plain
    w = ops.where(keep, weights, ops.zeros_like(weights))
    total = ops.sum(w)
    nonzero = ops.not_equal(total, 0.0)
    weighted = ops.sum(kept * w) / ops.where(nonzero, total, ops.ones_like(total))
    return ops.where(nonzero, weighted, plain)


def _average(values, weights=None):
    """np.average, as sklearn's jaccard_score uses it: nan propagates."""
    if weights is None:
        return ops.mean(values)
    total = ops.sum(weights)
    nonzero = ops.not_equal(total, 0.0)
    weighted = ops.sum(values * weights) / ops.where(nonzero, total, ops.ones_like(total))
    return ops.where(nonzero, weighted, ops.mean(values))


class _TallyMetric(keras.metrics.Metric):
    """Shared state and update of every Tally Keras metric; subclasses define `_scores`."""

    _base_name = None
    _has_average = True
    _default_average = "macro"

    def __init__(self, threshold=0.5, average="__default__", zero_division=0.0, from_logits=False,
                 label_names=None, per_label=True, n_labels=None, counting="auto", name=None, dtype=None):
        if counting not in COUNTING:
            raise ValueError(f"Invalid `counting` argument value. Expected one of {COUNTING}. "
                             f"Received: counting={counting!r}")
        if average == "__default__":
            average = self._default_average
        if not self._has_average:
            average = None
        elif average not in AVERAGES:
            raise ValueError(f"Invalid `average` argument value. Expected one of {AVERAGES}. "
                             f"Received: average={average!r}")
        if zero_division == "warn":
            # A traced step cannot warn per batch: "warn" scores an undefined value 0 silently.
            zd = 0.0
        else:
            try:
                zd = parse_zero_division(zero_division)
            except ValueError:
                raise ValueError("Invalid `zero_division` argument value. Expected \"warn\", 0, 1 or nan. "
                                 f"Received: zero_division={zero_division!r}") from None
        if label_names is not None:
            if isinstance(label_names, str) or not all(isinstance(n, (str, int, np.integer)) for n in label_names):
                raise ValueError("Invalid `label_names` argument value. Expected a list of str. "
                                 f"Received: label_names={label_names!r}")
            label_names = [str(n) for n in label_names]
            if len(set(label_names)) != len(label_names):
                raise ValueError(f"Invalid `label_names` argument value: names repeat. Received: label_names={label_names!r}")
        if n_labels is not None:
            if isinstance(n_labels, bool) or not isinstance(n_labels, (int, np.integer)) or n_labels < 1:
                raise ValueError(f"Invalid `n_labels` argument value. Expected an int >= 1. Received: n_labels={n_labels!r}")
            n_labels = int(n_labels)
        try:
            t = as_thresholds(threshold, None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"Invalid `threshold` argument value: {exc}. Received: threshold={threshold!r}") from None
        for size, what in ((None if isinstance(t, float) else t.shape[0], "threshold"),
                           (None if label_names is None else len(label_names), "label_names")):
            if size is not None:
                if n_labels is not None and size != n_labels:
                    raise ValueError(f"Invalid `{what}` argument value: expected {n_labels} values (one per label), "
                                     f"but got {size}")
                n_labels = size
        default_name = self._base_name if average is None else f"{average}_{self._base_name}"
        # Per-label keys use the base name ("f1/cat") unless the metric was renamed;
        # a config round trip passes the default name back, which keeps the base.
        prefix = self._base_name if name in (None, default_name) else name
        name = name or default_name
        super().__init__(name=name, dtype=dtype)
        self.threshold = threshold.tolist() if isinstance(threshold, np.ndarray) else threshold
        self.average = average
        self.zero_division = zero_division
        self._zd = zd
        self.from_logits = bool(from_logits)
        self.label_names = label_names
        self.per_label = bool(per_label)
        self.n_labels = n_labels
        self._prefix = prefix
        self.counting = counting
        self._thresholds = t
        self._spec = None
        if n_labels is not None:
            self._build(n_labels)

    # -- state -----------------------------------------------------------------------

    def _beta(self):
        return 1.0

    def _build(self, n_labels):
        t = self._thresholds
        thresholds = np.full(n_labels, t, dtype=np.float64) if isinstance(t, float) else np.asarray(t, np.float64)
        if self.from_logits:
            thresholds = _logit(thresholds)
        self._spec = _Spec(n_labels, thresholds, self._beta())
        self.n_labels = n_labels
        # Two float32 words per float64 value (see the module docstring).
        self.state_hi = self.add_variable(shape=(self._spec.size,), initializer="zeros", dtype="float32",
                                          aggregation="sum", name="state_hi")
        self.state_lo = self.add_variable(shape=(self._spec.size,), initializer="zeros", dtype="float32",
                                          aggregation="sum", name="state_lo")

    def update_state(self, y_true, y_pred, sample_weight=None):
        batch_key = (y_true, y_pred) + (() if sample_weight is None else (sample_weight,))
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        if len(y_pred.shape) == 1:
            y_pred = ops.expand_dims(y_pred, -1)
        if len(y_true.shape) == 1:
            y_true = ops.expand_dims(y_true, -1)
        if len(y_pred.shape) != 2 or y_pred.shape[-1] is None:
            raise ValueError(f"{type(self).__name__} expects y_pred of shape (batch_size, n_labels), "
                             f"but got shape {tuple(y_pred.shape)}")
        if tuple(y_true.shape[1:]) != tuple(y_pred.shape[1:]):
            raise ValueError(f"{type(self).__name__} expects y_true of shape (batch_size, {y_pred.shape[-1]}) "
                             f"like y_pred, but got shape {tuple(y_true.shape)}")
        if self._spec is None:
            self._build(int(y_pred.shape[-1]))
        elif y_pred.shape[-1] != self.n_labels:
            raise ValueError(f"{type(self).__name__} was built for {self.n_labels} labels, "
                             f"but y_pred has {y_pred.shape[-1]} columns")
        if not str(y_pred.dtype).startswith("float") or str(y_pred.dtype) in ("float16", "bfloat16"):
            y_pred = ops.cast(y_pred, "float32")  # half-precision scores widen exactly
        if str(y_true.dtype) in ("float16", "bfloat16"):
            y_true = ops.cast(y_true, "float32")
        if sample_weight is not None:
            sample_weight = ops.convert_to_tensor(sample_weight, dtype="float32")
            if len(sample_weight.shape) == 0:
                sample_weight = ops.ones_like(y_pred[:, 0], dtype="float32") * sample_weight
            elif len(sample_weight.shape) == 2 and sample_weight.shape[-1] == 1:
                sample_weight = ops.reshape(sample_weight, (-1,))
            if len(sample_weight.shape) != 1:
                raise ValueError(f"{type(self).__name__} expects one sample weight per row, shape (batch_size,), "
                                 f"but got shape {tuple(sample_weight.shape)}")
        hi, lo = self.state_hi.value, self.state_lo.value
        kind = _step_kind(y_pred)
        if self._counts_on_device(kind):
            hi, lo = _device_accumulate(self._spec, y_true, y_pred, sample_weight, hi, lo,
                                        host_reachable=kind != "xla", batch_key=batch_key)
        else:
            hi, lo = _host_accumulate(self._spec, y_true, y_pred, sample_weight, hi, lo)
        self.state_hi.assign(hi)
        self.state_lo.assign(lo)

    def _counts_on_device(self, kind):
        """Whether this step counts the batch in backend ops (see `counting`)."""
        if self.counting == "device":
            return True
        if kind == "xla":
            if self.counting == "host":
                raise ValueError(f"{type(self).__name__}(counting=\"host\") cannot run in an XLA-compiled "
                                 "TensorFlow step (jit_compile=True): tf.numpy_function has no XLA kernel. "
                                 "Use counting=\"auto\" or \"device\", or compile with jit_compile=False")
            return True
        if self.counting == "host" or kind == "eager":
            return False
        return _AUTO_DEVICE.get(keras.backend.backend(), False)

    def reset_state(self):
        if self._spec is not None:
            self.state_hi.assign(ops.zeros((self._spec.size,), dtype="float32"))
            self.state_lo.assign(ops.zeros((self._spec.size,), dtype="float32"))

    # -- result ------------------------------------------------------------------------

    def _state(self):
        s = ops.cast(self.state_hi, "float32") + ops.cast(self.state_lo, "float32")
        n = self.n_labels
        return s, s[:n], s[n: 2 * n], s[2 * n: 3 * n]

    def _samples(self, metric):
        """sklearn's average='samples' from the per-row sums of `metric`."""
        s, *_ = self._state()
        spec = self._spec
        base = spec.samples + 4 * _SAMPLES_BLOCK[metric]
        weighted_sum, defined_weight, plain_sum, defined_rows = (s[base + i] for i in range(4))
        rows, weight = s[spec.rows], s[spec.weight]
        zd = self._zd

        def safe(x):
            return ops.where(ops.equal(x, 0.0), ops.ones_like(x), x)

        if not math.isnan(zd):
            weighted = (weighted_sum + zd * (weight - defined_weight)) / safe(weight)
            plain = (plain_sum + zd * (rows - defined_rows)) / rows
            return ops.where(ops.not_equal(weight, 0.0), weighted, plain)
        return ops.where(ops.not_equal(defined_weight, 0.0), weighted_sum / safe(defined_weight),
                         plain_sum / defined_rows)

    def _scores(self):
        """(per-label vector or None, averaged scalar or None)."""
        raise NotImplementedError

    def result(self):
        if self._spec is None:
            return ops.convert_to_tensor(0.0, dtype=self.dtype)
        per_label, averaged = self._scores()
        out = {}
        if averaged is not None:
            out[self.name] = ops.cast(averaged, self.dtype)
        if per_label is not None and (self.per_label or averaged is None):
            names = self.label_names or [str(i) for i in range(self.n_labels)]
            for i, label in enumerate(names):
                out[f"{self._prefix}/{label}"] = ops.cast(per_label[i], self.dtype)
        return out

    def get_config(self):
        config = super().get_config()
        config.update({
            "threshold": self.threshold,
            "average": self.average,
            "zero_division": self.zero_division,
            "from_logits": self.from_logits,
            "label_names": self.label_names,
            "per_label": self.per_label,
            "n_labels": self.n_labels,
            "counting": self.counting,
        })
        return config


class _PrecisionRecallF(_TallyMetric):
    """Precision, recall and F-beta: one formula over tp, fp, fn each."""

    def _per_label(self, tp, fp, fn):
        raise NotImplementedError

    def _scores(self):
        _, tp, fp, fn = self._state()
        per_label = self._per_label(tp, fp, fn)
        a = self.average
        if a is None:
            return per_label, None
        if a == "micro":
            return per_label, self._per_label(ops.sum(tp, keepdims=True), ops.sum(fp, keepdims=True),
                                              ops.sum(fn, keepdims=True))[0]
        if a == "macro":
            return per_label, _nan_average(per_label)
        if a == "weighted":
            return per_label, _nan_average(per_label, tp + fn)
        return per_label, self._samples(self._samples_metric)


@keras.saving.register_keras_serializable(package="tally")
class Precision(_PrecisionRecallF):
    """Exact multi-label precision over the epoch, as `sklearn.metrics.precision_score`.

    Args:
        threshold: a score is a positive prediction when `score >= threshold`;
            one number or one per label.
        average: None (per label only), "micro", "macro" (default), "weighted" or "samples".
        zero_division: the value of an undefined score: 0 (default), 1, nan, or
            "warn" (0; a traced step cannot warn).
        from_logits: scores are logits, compared with `logit(threshold)`.
        label_names: names for the per-label log keys (`precision/cat`); else indices.
        per_label: also log each label's value as its own scalar (default True).
        n_labels: the label count, when you want the state built before the first batch.
        counting: "auto" (default: in backend ops in a compiled step, by the Swift
            core on the host when eager), "host" or "device" (see the module docstring).
        name: the log key of the averaged value (default `"{average}_precision"`);
            per-label keys are `"{name}/{label}"` (default `"precision/{label}"`).

    Example:
        model.compile(loss="binary_crossentropy",
                      metrics=[tally.keras.Precision(average="micro", label_names=names)])
    """

    _base_name = "precision"
    _samples_metric = "precision"

    def _per_label(self, tp, fp, fn):
        return _divide(tp, tp + fp, self._zd)


@keras.saving.register_keras_serializable(package="tally")
class Recall(_PrecisionRecallF):
    """Exact multi-label recall over the epoch, as `sklearn.metrics.recall_score`.
    Arguments as `Precision`."""

    _base_name = "recall"
    _samples_metric = "recall"

    def _per_label(self, tp, fp, fn):
        return _divide(tp, tp + fn, self._zd)


@keras.saving.register_keras_serializable(package="tally")
class FBetaScore(_PrecisionRecallF):
    """Exact multi-label F-beta over the epoch, as `sklearn.metrics.fbeta_score`:
    (1 + β²)·tp / ((1 + β²)·tp + β²·fn + fp), undefined only when tp + fp + fn = 0.
    Arguments as `Precision`, plus `beta` (>= 0, may be inf)."""

    _base_name = "fbeta"
    _samples_metric = "fbeta"

    def __init__(self, beta=1.0, **kwargs):
        self.beta = check_beta(beta)
        super().__init__(**kwargs)

    def _beta(self):
        return self.beta

    def _per_label(self, tp, fp, fn):
        b = self.beta
        if b == math.inf:
            return _divide(tp, tp + fn, self._zd)
        if b == 0:
            return _divide(tp, tp + fp, self._zd)
        b2 = b * b
        return _divide((1 + b2) * tp, b2 * (tp + fn) + (tp + fp), self._zd)

    def get_config(self):
        config = super().get_config()
        config["beta"] = self.beta
        return config


@keras.saving.register_keras_serializable(package="tally")
class F1Score(FBetaScore):
    """Exact multi-label F1 over the epoch, as `sklearn.metrics.f1_score`.
    Arguments as `Precision`; logs as `"{average}_f1"` and `"f1/{label}"`."""

    _base_name = "f1"

    def __init__(self, **kwargs):
        kwargs.pop("beta", None)
        super().__init__(beta=1.0, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("beta", None)
        return config


@keras.saving.register_keras_serializable(package="tally")
class JaccardScore(_TallyMetric):
    """Exact multi-label Jaccard index over the epoch, as `sklearn.metrics.jaccard_score`:
    tp / (tp + fp + fn). Arguments as `Precision`, but as in scikit-learn
    `zero_division` is 0, 1 or "warn" (not nan)."""

    _base_name = "jaccard"

    def __init__(self, zero_division=0.0, **kwargs):
        if isinstance(zero_division, float) and math.isnan(zero_division):
            raise ValueError("Invalid `zero_division` argument value. Expected \"warn\", 0 or 1 for the Jaccard "
                             "score (as scikit-learn). Received: zero_division=nan")
        super().__init__(zero_division=zero_division, **kwargs)

    def _scores(self):
        _, tp, fp, fn = self._state()
        per_label = _divide(tp, tp + fp + fn, self._zd)
        a = self.average
        if a is None:
            return per_label, None
        if a == "micro":
            return per_label, _divide(ops.sum(tp, keepdims=True), ops.sum(tp + fp + fn, keepdims=True), self._zd)[0]
        if a == "macro":
            return per_label, _average(per_label)
        if a == "weighted":
            return per_label, _average(per_label, tp + fn)
        return per_label, self._samples("jaccard")


@keras.saving.register_keras_serializable(package="tally")
class LabelAccuracy(_TallyMetric):
    """Per-label accuracy (tp + tn) / n over the epoch (Keras's `BinaryAccuracy`
    per column, but with `score >= threshold`). "micro", "macro" and "samples" all
    equal 1 - hamming loss; "weighted" weighs labels by support. Default "macro"."""

    _base_name = "label_accuracy"

    def _scores(self):
        s, tp, fp, fn = self._state()
        weight = s[self._spec.weight]
        per_label = (weight - fp - fn) / weight
        if self.average is None:
            return per_label, None
        if self.average == "weighted":
            return per_label, _nan_average(per_label, tp + fn)
        return per_label, ops.mean(per_label)


@keras.saving.register_keras_serializable(package="tally")
class SubsetAccuracy(_TallyMetric):
    """Exact-match ratio over the epoch, as `sklearn.metrics.accuracy_score` on
    multi-label targets: the rows whose every label is right."""

    _base_name = "subset_accuracy"
    _has_average = False

    def _scores(self):
        s, *_ = self._state()
        return None, s[self._spec.exact] / s[self._spec.weight]

    def result(self):
        if self._spec is None:
            return ops.convert_to_tensor(0.0, dtype=self.dtype)
        return ops.cast(self._scores()[1], self.dtype)


@keras.saving.register_keras_serializable(package="tally")
class HammingLoss(_TallyMetric):
    """The fraction of wrong labels over the epoch, as `sklearn.metrics.hamming_loss`.
    With `per_label=True` also each label's error rate (fp + fn) / n."""

    _base_name = "hamming_loss"
    _has_average = False

    def __init__(self, per_label=False, **kwargs):
        super().__init__(per_label=per_label, **kwargs)

    def _scores(self):
        s, tp, fp, fn = self._state()
        per_label = (fp + fn) / s[self._spec.weight]
        return per_label, ops.mean(per_label)


# -- the epoch-end callback -------------------------------------------------------------


def _batches(data, steps):
    """Yields (x, y, sample_weight) batches of `data` for one pass."""
    if isinstance(data, keras.utils.PyDataset):
        n = len(data) if steps is None else min(steps, len(data))
        for i in range(n):
            yield _split(data[i])
        return
    if callable(data) and not hasattr(data, "__len__"):
        data = data()  # a factory of fresh iterables
    it = iter(data)
    count = 0
    while steps is None or count < steps:
        try:
            batch = next(it)
        except StopIteration:
            return
        yield _split(batch)
        count += 1


def _split(batch):
    if isinstance(batch, dict) or not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise ValueError("Expected validation batches of (x, y) or (x, y, sample_weight), "
                         f"but got {type(batch).__name__}")
    x, y = batch[0], batch[1]
    w = batch[2] if len(batch) == 3 else None
    return x, y, w


def _numpy(a):
    if a is None:
        return None
    if hasattr(a, "numpy") and not isinstance(a, np.ndarray):
        return np.asarray(a.numpy())
    return np.asarray(a)


def _is_arrays(data):
    """Whether `data` is Keras's `validation_data=(x, y[, sample_weight])` of arrays
    (rather than a dataset or a list of batches)."""
    return isinstance(data, tuple) and len(data) in (2, 3) and hasattr(data[1], "shape")


class PerLabelReport(keras.callbacks.Callback):
    """Scores a whole validation set per label at the end of each epoch, exactly.

    The predictions go through one `tally.Tally`; the scores are put into `logs`
    (so callbacks placed after this one — EarlyStopping, ModelCheckpoint,
    CSVLogger, History — see them) as `{prefix}{metric}/{label}` and
    `{prefix}{average}_{metric}`, e.g. `val_f1/cat` and `val_macro_f1`.

    Args:
        validation_data: `(x, y)` or `(x, y, sample_weight)` arrays, a
            `keras.utils.PyDataset`, a `tf.data.Dataset`, a re-iterable of batches,
            a function returning a fresh iterable, or an iterator (then give `steps`:
            it is read `steps` batches per epoch, as Keras reads `validation_steps`).
        threshold, from_logits, label_names: as `tally.Tally`.
        metrics: which of "precision", "recall", "f1", "support" to log per label.
        averages: which averages to log.
        zero_division: as scikit-learn; "warn" gives 0 silently here.
        batch_size: prediction batch size for arrays.
        steps: batches per epoch for datasets and iterators (default: all).
        print_every: print a per-label table every this many epochs (0: never).
        prefix: the log key prefix (default "val_").
        csv_path, json_path: where to write the per-epoch history after each epoch.

    Attributes:
        history: one dict per scored epoch: `{"epoch": e, "val_f1/cat": ..., ...}`.
        tally: the accumulator of the last scored epoch.
    """

    METRICS = ("precision", "recall", "f1", "support")

    def __init__(self, validation_data, *, threshold=0.5, from_logits=False, label_names=None,
                 metrics=("precision", "recall", "f1"), averages=("micro", "macro", "weighted", "samples"),
                 zero_division=0.0, batch_size=None, steps=None, print_every=1, prefix="val_",
                 csv_path=None, json_path=None):
        super().__init__()
        bad = [m for m in metrics if m not in self.METRICS]
        if bad or isinstance(metrics, str):
            raise ValueError(f"Invalid `metrics` argument value. Expected a list of {self.METRICS}. "
                             f"Received: metrics={metrics!r}")
        bad = [a for a in averages if a not in AVERAGES[1:]]
        if bad or isinstance(averages, str):
            raise ValueError(f"Invalid `averages` argument value. Expected a list of {AVERAGES[1:]}. "
                             f"Received: averages={averages!r}")
        if isinstance(print_every, bool) or not isinstance(print_every, int) or print_every < 0:
            raise ValueError(f"Invalid `print_every` argument value. Expected an int >= 0. "
                             f"Received: print_every={print_every!r}")
        if zero_division != "warn":
            parse_zero_division(zero_division)
        self.validation_data = validation_data
        self.threshold = threshold
        self.from_logits = from_logits
        self.label_names = None if label_names is None else [str(n) for n in label_names]
        self.metrics = tuple(metrics)
        self.averages = tuple(averages)
        self.zero_division = 0.0 if zero_division == "warn" else zero_division
        self.batch_size = batch_size
        self.steps = steps
        self.print_every = print_every
        self.prefix = prefix
        self.csv_path = csv_path
        self.json_path = json_path
        self.history = []
        self.tally = None

    def score(self):
        """A `tally.Tally` over the whole validation set, predicted by the model now."""
        acc = None
        data = self.validation_data
        if _is_arrays(data):
            x, y = data[0], data[1]
            w = data[2] if len(data) == 3 else None
            pred = self.model.predict(x, batch_size=self.batch_size, verbose=0)
            acc = self._new_tally(np.shape(pred)[-1] if np.ndim(pred) == 2 else 1)
            acc.update(_numpy(y), np.asarray(pred), None if w is None else _numpy(w))
            return acc
        for x, y, w in _batches(data, self.steps):
            pred = np.asarray(self.model.predict_on_batch(x))
            if acc is None:
                acc = self._new_tally(pred.shape[-1] if pred.ndim == 2 else 1)
            acc.update(_numpy(y), pred, _numpy(w))
        if acc is None:
            raise ValueError("Expected the validation data to yield at least one batch, but it yielded none")
        return acc

    def _new_tally(self, n_labels):
        return Tally(n_labels, self.threshold, from_logits=self.from_logits, label_names=self.label_names)

    def scores(self, acc):
        """The log entries for one accumulator."""
        names = acc.names()
        out = {}
        zd = self.zero_division
        p, r, f, s = acc.precision_recall_fscore_support(zero_division=zd, warn_for=())
        per = {"precision": p, "recall": r, "f1": f, "support": s}
        for m in self.metrics:
            for name, v in zip(names, per[m]):
                out[f"{self.prefix}{m}/{name}"] = float(v)
        for a in self.averages:
            ap, ar, af, _ = acc.precision_recall_fscore_support(average=a, zero_division=zd, warn_for=())
            for m, v in (("precision", ap), ("recall", ar), ("f1", af)):
                if m in self.metrics:
                    out[f"{self.prefix}{a}_{m}"] = float(v)
        return out

    def on_epoch_end(self, epoch, logs=None):
        # Write into the dict Keras passes on (not a copy), so later callbacks see the scores.
        logs = logs if logs is not None else {}
        acc = self.score()
        self.tally = acc
        entries = self.scores(acc)
        logs.update(entries)
        self.history.append({"epoch": epoch, **entries})
        if self.print_every and (epoch + 1) % self.print_every == 0:
            print(f"\nEpoch {epoch + 1}: per-label scores on {acc.n_samples} validation rows\n"
                  + acc.report(zero_division=self.zero_division), flush=True)
        if self.csv_path:
            self.to_csv(self.csv_path)
        if self.json_path:
            self.to_json(self.json_path)

    def to_csv(self, path):
        """Writes the per-epoch history, one row per epoch."""
        keys = ["epoch"] + sorted({k for row in self.history for k in row if k != "epoch"})
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.history)

    def to_json(self, path):
        """Writes the per-epoch history as a JSON list (nan as null)."""
        clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                 for row in self.history]
        with open(path, "w") as fh:
            json.dump(clean, fh, indent=1)

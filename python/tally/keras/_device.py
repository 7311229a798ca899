"""Counting a batch in backend ops, inside the step and on the step's device:
0/1 indicators, per-label and per-row sums in float32, added into the hi + lo
state exactly (TwoSum). A batch the Swift core would refuse raises its message
from the host, reached only when that happens."""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np
from keras import ops

from ._scores import fbeta_fraction


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
    to the sum, lo = the rest). `hi` and `lo` may be variables: each is read once (a
    TensorFlow graph reads a variable again at every use, one op each)."""
    hi, lo = ops.copy(hi), ops.copy(lo)
    s = hi + x
    virtual = s - hi
    error = (hi - (s - virtual)) + (x - virtual)
    t = lo + error
    new_hi = s + t
    return new_hi, t - (new_hi - s)


def known_entries(y_true, sample_weight, ignore_value):
    """(y_true with 0 at its unknown entries, element weights with 0 there): the
    core's `MissingLabels` rule (nan or `ignore_value` marks an unknown entry) in
    backend ops, so that a traced step needs no host call for it; test_missing_labels
    checks it against `_tally.missing_weights`. `sample_weight`: None, one per row,
    or one per element."""
    t = ops.cast(y_true, "float32")
    unknown = ops.zeros_like(t, dtype="bool")
    if ignore_value is not None:
        unknown = ops.isnan(t)
        if not math.isnan(ignore_value):
            unknown = ops.logical_or(unknown, ops.equal(t, np.float32(ignore_value)))
    if sample_weight is None:
        w = ops.ones_like(t)
    else:
        w = ops.cast(sample_weight, "float32")
        if len(w.shape) == 1:
            w = ops.expand_dims(w, 1) * ops.ones_like(t)
    return ops.where(unknown, 0.0, t), ops.where(unknown, 0.0, w)


def _row_weight(w, known):
    """A row's weight under element weights (the core's rule): the common value of its
    nonzero weights, their mean when they differ, 0 with no known label."""
    count = ops.sum(known, axis=1)
    high = ops.max(ops.where(known > 0, w, -np.inf), axis=1)
    low = ops.min(ops.where(known > 0, w, np.inf), axis=1)
    mean = ops.sum(w, axis=1) / ops.maximum(count, 1.0)
    return ops.where(count > 0, ops.where(ops.equal(high, low), high, mean), 0.0)


def _device_batch_state(spec, y_true, y_pred, sample_weight, row_scores=None):
    """One batch's state contributions in float32 backend ops, in the core's layout
    (`SummedCounts`: tp, fp, fn per label, then the order of `spec.offsets`), and whether the batch holds a
    value the Swift core would refuse (y_true not 0/1, nan scores, weights not finite).

    Unweighted, every entry is an integer no larger than the batch, so exact while
    the batch has fewer than 2^24 rows. Weighted sums and the per-row scores of
    `average="samples"` round in float32 (the Swift path: float64), far inside the
    float32 of the logs. Every entry is a column of one (batch × entries) matrix summed
    once over the batch, and the check is one `any`: a TensorFlow step pays per op, XLA on
    TensorFlow per fused reduction. The per-row scores add one reduction per row.

    `row_scores`: None fills every entry; a set of names among "precision", "recall",
    "fbeta", "jaccard", "exact_match_weight" and "label_weight" (each label's known-row
    weight, per label rather than per row) fills only those entries (and the per-label
    counts, rows and weight_sum), leaving the others 0. A metric that reads no per-row
    score (every average but "samples") then pays for no per-row work: on a small model
    that is the difference to Keras's own metrics (bench/bench_keras.py)."""
    if str(y_pred.dtype) == "float64":
        thresholds = ops.convert_to_tensor(spec.thresholds, dtype="float64")
    else:
        thresholds = ops.convert_to_tensor(_float32_thresholds(spec.thresholds))
    p = ops.cast(ops.greater_equal(y_pred, thresholds), "float32")  # nan >= t is False
    t = ops.cast(y_true, "float32")
    odd = ops.logical_or(ops.logical_and(ops.not_equal(t, 0.0), ops.not_equal(t, 1.0)), ops.isnan(y_pred))
    one = ops.ones_like(t[:, :1])
    if sample_weight is None:
        w, cell_weight = one, None
    elif len(sample_weight.shape) == 2:
        # 2-D weights: an entry of weight 0 is unknown, read as nothing (not even a bad value).
        cell_weight = ops.cast(sample_weight, "float32")
        known_cells = ops.not_equal(cell_weight, 0.0)
        known = ops.cast(known_cells, "float32")
        t, p = ops.where(known_cells, t, 0.0), p * known
        odd = ops.logical_or(ops.logical_and(odd, known_cells), ops.logical_not(ops.isfinite(cell_weight)))
        w = ops.expand_dims(_row_weight(cell_weight, known), 1)
    else:
        w = ops.expand_dims(ops.cast(sample_weight, "float32"), 1)
        cell_weight = w  # broadcast over the labels
        odd = ops.logical_or(odd, ops.logical_not(ops.isfinite(w)))
    hit = t * p
    wanted = {"precision", "recall", "fbeta", "jaccard", "exact_match_weight"} if row_scores is None \
        else set(row_scores) - {"label_weight"}

    def weighted(cells):  # multiply, then reduce: a matmul could run in TF32/bf16 on a GPU
        return cells if cell_weight is None else cell_weight * cells

    # Each entry's columns (one per value it holds), summed over the rows below.
    columns = {"true_positives": weighted(hit), "false_positives": weighted(p - hit),
               "false_negatives": weighted(t - hit), "rows": one, "weight_sum": w}
    if row_scores is None or "label_weight" in row_scores:  # the known entries, weighted as the counts are
        columns["label_weight"] = weighted(ops.ones_like(t))
    if wanted:
        # Per row: tp, predicted, actual (exact integers). scikit-learn scales a row's own
        # counts by its weight: a row of weight 0 has no true and no predicted labels, and
        # every one of its scores is undefined. Four columns per row score: w·score, w,
        # score and 1 over the rows where the score is defined.
        row_tp, row_predicted, row_actual = ops.unstack(ops.sum(ops.stack([hit, p, t], axis=1), axis=2), axis=1)
        row_weight = w[:, 0]
        live = ops.not_equal(row_weight, 0.0)
        f_num, f_den = fbeta_fraction(spec.beta, row_tp, row_predicted, row_actual)
        union = row_predicted + row_actual - row_tp
        for metric, numerator, denominator in (("precision", row_tp, row_predicted), ("recall", row_tp, row_actual),
                                               ("fbeta", f_num, f_den), ("jaccard", row_tp, union)):
            if metric not in wanted:
                continue
            defined = ops.logical_and(ops.greater(denominator, 0.0), live)
            value = ops.where(defined, numerator / ops.where(defined, denominator, 1.0), 0.0)
            d = ops.cast(defined, "float32")
            columns[metric] = ops.stack([row_weight * value, row_weight * d, value, d], axis=1)
        if "exact_match_weight" in wanted:
            exact = ops.logical_and(ops.equal(row_tp, row_predicted), ops.equal(row_tp, row_actual))
            columns["exact_match_weight"] = ops.expand_dims(ops.where(exact, row_weight, 0.0), 1)
    # The layout, by offset: the entries filled are consecutive columns of one sum (each run
    # of them one slice of it, the whole sum when it is the only run), each run of the
    # others one constant block of zeros.
    n = spec.n_labels
    widths = {"true_positives": n, "false_positives": n, "false_negatives": n, "rows": 1, "weight_sum": 1,
              "precision": 4, "recall": 4, "fbeta": 4, "jaccard": 4, "exact_match_weight": 1, "label_weight": n}
    names = sorted(widths, key=spec.offsets.get)
    sums = ops.sum(ops.concatenate([columns[m] for m in names if m in columns], axis=1), axis=0)
    filled = sum(widths[m] for m in columns)
    pieces, at = [], 0
    for is_filled, run in itertools.groupby(names, key=columns.__contains__):
        width = sum(widths[m] for m in run)
        if is_filled:
            pieces.append(sums if width == filled else sums[at:at + width])
            at += width
        else:
            pieces.append(np.zeros(width, np.float32))
    return (pieces[0] if len(pieces) == 1 else ops.concatenate(pieces, axis=0)), ops.any(odd)


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


class _SharedStep:
    """Values computed from the last batch, reused by every Tally metric that is handed
    the same (y_true, y_pred, sample_weight) objects in the same trace — as Keras hands
    all compiled metrics one batch: the conditional host check (XLA merges identical
    counting ops by itself, but not these checks, each ≈15 µs per step on JAX/CPU) and
    the batch's state for metrics with the same thresholds and per-row entries (a
    TensorFlow graph without XLA pays for every op; F1 + precision count once).
    Identity through weak references: nothing of a finished trace is kept alive, and a
    new object can never match a dead one."""

    key = None
    values = {}

    @classmethod
    def _matches(cls, batch, host_reachable):
        return (cls.key is not None and cls.key[0] == host_reachable and len(cls.key[1]) == len(batch)
                and all(ref() is obj for ref, obj in zip(cls.key[1], batch)))

    @classmethod
    def get(cls, batch, host_reachable, what):
        if batch is None or not cls._matches(batch, host_reachable):
            return None
        ref = cls.values.get(what)
        return None if ref is None else ref()

    @classmethod
    def put(cls, batch, host_reachable, what, value):
        import weakref

        if batch is None:
            return
        try:
            if not cls._matches(batch, host_reachable):
                cls.key, cls.values = (host_reachable, [weakref.ref(obj) for obj in batch]), {}
            cls.values[what] = weakref.ref(value)
        except TypeError:  # an object without weak references: do not share
            cls.key, cls.values = None, {}


def _device_accumulate(spec, y_true, y_pred, sample_weight, hi, lo, host_reachable=True, batch_key=None,
                       row_scores=None):
    """The new (hi, lo) state with the batch counted in backend ops (see `_batch_check`
    for bad values). `batch_key`: the objects the metric was handed, for sharing the check
    and the batch's state with the other metrics of the step; `row_scores`: the per-row
    entries to fill (see `_device_batch_state`)."""
    wanted = None if row_scores is None else frozenset(row_scores)
    # The batch's state depends on the thresholds, the per-row entries and (for the
    # F-beta entries) beta; the check on the batch alone.
    state_key = ("state", spec.n_labels, spec.thresholds.tobytes(), wanted,
                 spec.beta if wanted is None or "fbeta" in wanted else None)
    # The batch with its check added: what the state adds (one op, shared too).
    checked = _SharedStep.get(batch_key, host_reachable, ("checked",) + state_key)
    if checked is None:
        batch = _SharedStep.get(batch_key, host_reachable, state_key)
        poison = _SharedStep.get(batch_key, host_reachable, "check")
        if batch is None or poison is None:
            batch, bad = _device_batch_state(spec, y_true, y_pred, sample_weight, row_scores)
            _SharedStep.put(batch_key, host_reachable, state_key, batch)
            if poison is None:
                poison = _batch_check(spec, y_true, y_pred, sample_weight, bad, host_reachable)
                _SharedStep.put(batch_key, host_reachable, "check", poison)
        checked = batch + poison
        _SharedStep.put(batch_key, host_reachable, ("checked",) + state_key, checked)
    return _two_sum_add(hi, lo, checked)

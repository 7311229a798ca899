"""Binned ROC AUC and average precision for `model.compile(metrics=...)`: per label,
a histogram of positive and negative weight over `bins` equal-width score bins,
kept in Keras variables (reset, summed across replicas and saved by Keras) and
filled in backend ops inside the compiled step (JAX and TensorFlow, XLA included).

The logged value is the exact scikit-learn value on the *binned* scores (every
score of a bin tied): what `tally.BinnedScoreTally` with the same bins computes
on the same rows. The binning costs at most, per label,

- ROC AUC: ½ Σ_b P_b N_b / (P N), the pairs of a positive and a negative sharing a
  bin (each counts ½ here, 0 or 1 exactly);
- average precision: the bin-by-bin bounds on each positive's precision
  (`BinnedScoreTally.average_precision(return_bounds=True)`).

`metric.binned()` hands the state to the core as a `tally.BinnedScoreTally`, whose
`roc_auc(return_bounds=True)` gives (value, lower, upper) with the exact value on
the raw scores guaranteed inside. Keras's own `AUC` also bins (200 thresholds, with
interpolation), but states no bound; for the exact values every epoch use
`PerLabelReport(ranking=True)`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .. import _tally
from . import _device, _host
from ._scores import binary_score_average, binned_average_precision, binned_roc_auc
from .metrics import as_batch, batch_weights, check_ignore_value, keras_argument


class _Check:
    """What `_device._batch_check` calls on the host for a batch it found bad: the core's
    refusal of that batch, as `BinnedScoreTally.update` raises it."""

    size = 1

    def __init__(self, n_labels, bins, low, high):
        self.args = (n_labels, bins, low, high)

    def accumulate(self, y_true, y_pred, sample_weight, hi, lo):
        from ..scores import BinnedScoreTally

        BinnedScoreTally(*self.args).update(y_true, y_pred, sample_weight)
        return hi, lo


class _BinnedMetric(keras.metrics.Metric):
    """Shared state (four label-major histograms and a weighted flag, as hi + lo
    float32 words) and update of the binned metrics; subclasses pick the score."""

    _base_name = None

    def __init__(self, bins=200, low=0.0, high=1.0, average="macro", label_names=None, per_label=True,
                 n_labels=None, name=None, dtype=None, ignore_value=None):
        edges = keras_argument("bins", bins, lambda b: _tally.binned_edges(int(b), float(low), float(high)))
        check_ignore_value(ignore_value)
        keras_argument("average", average, lambda a: _tally.check_average(a, ("micro", "macro", "weighted")))
        if label_names is not None:
            if isinstance(label_names, str):
                raise ValueError(f"Invalid `label_names` argument value. Expected a list of str. Received: label_names={label_names!r}")
            label_names = [str(n) for n in label_names]
        if n_labels is not None and (isinstance(n_labels, bool) or not isinstance(n_labels, (int, np.integer)) or n_labels < 1):
            raise ValueError(f"Invalid `n_labels` argument value. Expected an int >= 1. Received: n_labels={n_labels!r}")
        if label_names is not None:
            if n_labels is not None and len(label_names) != n_labels:
                raise ValueError(f"Invalid `label_names` argument value: expected {n_labels} names, but got {len(label_names)}")
            n_labels = len(label_names)
        default_name = self._base_name if average is None else f"{average}_{self._base_name}"
        self._prefix = self._base_name if name in (None, default_name) else name
        super().__init__(name=name or default_name, dtype=dtype)
        self.bins, self.low, self.high = int(bins), float(low), float(high)
        self.average = average
        self.label_names = label_names
        self.per_label = bool(per_label)
        self.ignore_value = ignore_value
        self.n_labels = None
        self._edges64 = np.frombuffer(edges, dtype=np.float64).copy()
        if n_labels is not None:
            self._build(int(n_labels))

    def _build(self, n_labels):
        self.n_labels = n_labels
        self._size = 4 * n_labels * self.bins + 1
        self._check = _Check(n_labels, self.bins, self.low, self.high)
        self.state_hi = self.add_variable(shape=(self._size,), initializer="zeros", dtype="float32",
                                          aggregation="sum", name="state_hi")
        self.state_lo = self.add_variable(shape=(self._size,), initializer="zeros", dtype="float32",
                                          aggregation="sum", name="state_lo")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = as_batch(self, y_true, y_pred, self._build)
        # Under a mask a label's histograms hold its known rows only, as BinnedScoreTally's.
        y_true, sample_weight = batch_weights(self, y_true, y_pred, sample_weight)
        kind = _host._step_kind(y_pred)
        batch, bad = self._batch(y_true, y_pred, sample_weight)
        poison = _device._batch_check(self._check, y_true, y_pred, sample_weight, bad, kind != "xla")
        hi, lo = _device._two_sum_add(self.state_hi.value, self.state_lo.value, batch + poison)
        self.state_hi.assign(hi)
        self.state_lo.assign(lo)

    def _batch(self, y_true, y_pred, sample_weight):
        """The batch's histograms in the state's layout, and whether it holds a value the
        core refuses. Each bin is found by comparing with the core's edges (as float32 for
        float32 scores: `score >= edge` then matches the core's float64 binning exactly).
        Unweighted every entry is an integer count no larger than the batch: exact."""
        n, bins = self.n_labels, self.bins
        if str(y_pred.dtype) == "float64":
            edges = ops.convert_to_tensor(self._edges64, dtype="float64")
        else:
            edges = ops.convert_to_tensor(_device._float32_thresholds(self._edges64))
        index = ops.sum(ops.cast(ops.greater_equal(ops.expand_dims(y_pred, -1), edges), "int32"), axis=-1)
        index = ops.reshape(index + ops.arange(n, dtype="int32") * bins, (-1,))
        t = ops.cast(y_true, "float32")
        positive, negative = t, 1.0 - t
        element = sample_weight is not None and len(sample_weight.shape) == 2
        if element:  # an entry of weight 0 is unknown: in no histogram, its values not read
            known = ops.cast(ops.not_equal(sample_weight, 0.0), "float32")
            t = t * known
            positive, negative = t, known - t
            y_pred = ops.where(known > 0, y_pred, ops.zeros_like(y_pred))
        if sample_weight is None:
            weighted_pos, weighted_neg = positive, negative
        else:
            w = sample_weight if element else ops.expand_dims(sample_weight, 1)
            weighted_pos, weighted_neg = w * positive, w * negative
        cells = n * bins
        parts = [ops.segment_sum(ops.reshape(v, (-1,)), index, num_segments=cells)
                 for v in (weighted_pos, weighted_neg, positive, negative)]
        flag = ops.ones((1,), "float32") if sample_weight is not None else ops.zeros((1,), "float32")
        bad = ops.logical_or(ops.logical_and(ops.not_equal(t, 0.0), ops.not_equal(t, 1.0)), ops.isnan(y_pred))
        bad = ops.any(bad)
        if sample_weight is not None:
            bad = ops.logical_or(bad, ops.any(ops.logical_not(ops.isfinite(sample_weight))))
        return ops.concatenate(parts + [flag], axis=0), bad

    def reset_state(self):
        if self.n_labels is not None:
            self.state_hi.assign(ops.zeros((self._size,), dtype="float32"))
            self.state_lo.assign(ops.zeros((self._size,), dtype="float32"))

    def _histograms(self):
        s = ops.cast(self.state_hi, "float32") + ops.cast(self.state_lo, "float32")
        cells = self.n_labels * self.bins
        return [ops.reshape(s[i * cells:(i + 1) * cells], (self.n_labels, self.bins)) for i in range(4)]

    def _per_label(self, pw, nw, pc, nc):
        raise NotImplementedError

    def result(self):
        if self.n_labels is None:
            return ops.convert_to_tensor(0.0, dtype=self.dtype)
        pw, nw, pc, nc = self._histograms()
        per_label = self._per_label(pw, nw, pc, nc)
        out = {}
        if self.average == "micro":
            out[self.name] = self._per_label(*(ops.sum(h, axis=0, keepdims=True) for h in (pw, nw, pc, nc)))[0]
        elif self.average is not None:
            weights = ops.sum(pw, axis=-1) if self.average == "weighted" else None
            out[self.name] = binary_score_average(per_label, weights)
        if self.per_label or self.average is None:
            names = self.label_names or [str(i) for i in range(self.n_labels)]
            for i, label in enumerate(names):
                out[f"{self._prefix}/{label}"] = per_label[i]
        return {k: ops.cast(v, self.dtype) for k, v in out.items()}

    def binned(self):
        """The state as a `tally.BinnedScoreTally` (the core's histograms), for the
        bounds: ``metric.binned().roc_auc(average=None, return_bounds=True)``."""
        from ..scores import BinnedScoreTally

        if self.n_labels is None:
            raise ValueError(f"{type(self).__name__} has seen no batch yet (give n_labels to build it up front)")
        hi = np.asarray(ops.convert_to_numpy(self.state_hi), dtype=np.float64)
        lo = np.asarray(ops.convert_to_numpy(self.state_lo), dtype=np.float64)
        s = hi + lo  # exact in float64: the two words were kept apart to hold it
        cells = self.n_labels * self.bins
        pw, nw, pc, nc = (s[i * cells:(i + 1) * cells] for i in range(4))
        out = BinnedScoreTally.__new__(BinnedScoreTally)
        out._handle = _tally.binned_from_histograms(self.n_labels, self.bins, self.low, self.high,
                                                    np.ascontiguousarray(pw), np.ascontiguousarray(nw),
                                                    np.rint(pc).astype(np.int64), np.rint(nc).astype(np.int64),
                                                    bool(s[-1] > 0))
        return out

    def get_config(self):
        config = super().get_config()
        config.update({"bins": self.bins, "low": self.low, "high": self.high, "average": self.average,
                       "label_names": self.label_names, "per_label": self.per_label, "n_labels": self.n_labels,
                       "ignore_value": self.ignore_value})
        return config


@keras.saving.register_keras_serializable(package="tally")
class BinnedROCAUC(_BinnedMetric):
    """Per-label ROC AUC over the epoch from score histograms (see the module docstring
    for the bound), as `tally.BinnedScoreTally(n, bins, low, high).roc_auc(average)`.

    Args:
        bins, low, high: `bins` equal-width bins on [low, high]; scores outside go to
            the end bins (default 200 on [0, 1], Keras's `AUC` resolution).
        average: None, "micro", "macro" (default) or "weighted" (scikit-learn's
            `_average_binary_score`: a label with one class is nan and spreads to the
            macro value, as in `roc_auc_score`).
        label_names, per_label, n_labels, name: as `tally.keras.Precision`; per-label
            keys are `roc_auc/<label>`.

    Example:
        model.compile(loss="binary_crossentropy", metrics=[tally.keras.BinnedROCAUC(bins=1000)])
    """

    _base_name = "roc_auc"

    def _per_label(self, pw, nw, pc, nc):
        return binned_roc_auc(pw, nw, pc, nc)


@keras.saving.register_keras_serializable(package="tally")
class BinnedAveragePrecision(_BinnedMetric):
    """Per-label average precision over the epoch from score histograms, as
    `tally.BinnedScoreTally(...).average_precision(average)`; 0 for a label without
    positives. Arguments as `BinnedROCAUC`; keys `ap/<label>`, `macro_ap`."""

    _base_name = "ap"

    def _per_label(self, pw, nw, pc, nc):
        return binned_average_precision(pw, nw)

"""The Keras metric classes: one shared state and update (`_TallyMetric`), and
subclasses that override only the score computed from it."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from .. import _tally
from .._convert import as_thresholds, known_weights, logit
from ..metrics import check_beta, parse_zero_division
from . import _device, _host
from ._scores import _average, _divide, _nan_average, fbeta_fraction, samples_average
from ._state import _Spec

COUNTING = ("auto", "host", "device")
# Where counting="auto" counts a traced (compiled) step in backend ops rather than on
# the host; measured with bench/bench_keras.py (see the README).
_AUTO_DEVICE = {"jax": True, "tensorflow": True}


def keras_argument(name, value, check):
    """`check(value)`; the core's refusal raised in Keras's form:
    "Invalid `name` argument value: <the core's message>. Received: name=<value>"."""
    try:
        return check(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Invalid `{name}` argument value: {exc}. Received: {name}={value!r}") from None


def as_batch(metric, y_true, y_pred, build):
    """(y_true, y_pred) as (batch_size, n_labels) tensors for a Tally Keras metric (1-D
    inputs are one label), y_pred widened to float32 from half precision or integers
    (exactly) and y_true from half precision. The metric is built on its first batch
    (`build(n_labels)`); later batches must have its label count. Every other shape is
    refused, naming what came."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if len(y_pred.shape) == 1:
        y_pred = ops.expand_dims(y_pred, -1)
    if len(y_true.shape) == 1:
        y_true = ops.expand_dims(y_true, -1)
    name = type(metric).__name__
    if len(y_pred.shape) != 2 or y_pred.shape[-1] is None:
        raise ValueError(f"{name} expects y_pred of shape (batch_size, n_labels), but got shape {tuple(y_pred.shape)}")
    if tuple(y_true.shape[1:]) != tuple(y_pred.shape[1:]):
        raise ValueError(f"{name} expects y_true of shape (batch_size, {y_pred.shape[-1]}) like y_pred, "
                         f"but got shape {tuple(y_true.shape)}")
    if metric.n_labels is None:
        build(int(y_pred.shape[-1]))
    elif y_pred.shape[-1] != metric.n_labels:
        raise ValueError(f"{name} was built for {metric.n_labels} labels, but y_pred has {y_pred.shape[-1]} columns")
    if str(y_pred.dtype) not in ("float32", "float64"):
        y_pred = ops.cast(y_pred, "float32")  # half-precision and integer scores widen exactly
    if str(y_true.dtype) in ("float16", "bfloat16"):
        y_true = ops.cast(y_true, "float32")
    return y_true, y_pred


def check_ignore_value(ignore_value):
    """`ignore_value` checked once, at construction, in Keras's error form (the core
    refuses 0 and 1 and anything not a number)."""
    if ignore_value is not None:
        keras_argument("ignore_value", ignore_value, lambda v: known_weights(np.zeros((0, 1)), None, v))
    return ignore_value


def batch_weights(metric, y_true, y_pred, sample_weight):
    """(y_true, weights) for a batch built by `as_batch`: `sample_weight` as float32, one
    per row (a scalar broadcast, (batch_size, 1) flattened) or one per element, any other
    shape refused; with `metric.ignore_value` or 2-D weights, the unknown entries of
    y_true become element weights of 0 and y_true 0 there (README "Missing labels")."""
    if sample_weight is not None:
        sample_weight = ops.convert_to_tensor(sample_weight, dtype="float32")
        if len(sample_weight.shape) == 0:
            sample_weight = ops.ones_like(y_pred[:, 0], dtype="float32") * sample_weight
        elif len(sample_weight.shape) == 2 and sample_weight.shape[-1] == 1:
            sample_weight = ops.reshape(sample_weight, (-1,))
        element = len(sample_weight.shape) == 2 and tuple(sample_weight.shape[1:]) == (metric.n_labels,)
        if len(sample_weight.shape) != 1 and not element:
            raise ValueError(f"{type(metric).__name__} expects one sample weight per row, shape (batch_size,), "
                             f"or one per element, shape (batch_size, {metric.n_labels}), "
                             f"but got shape {tuple(sample_weight.shape)}")
    if metric.ignore_value is not None or (sample_weight is not None and len(sample_weight.shape) == 2):
        y_true, sample_weight = _device.known_entries(y_true, sample_weight, metric.ignore_value)
    return y_true, sample_weight


class _TallyMetric(keras.metrics.Metric):
    """Shared state and update of every Tally Keras metric; subclasses define `_scores`."""

    _base_name = None
    _has_average = True
    _default_average = "macro"
    _jaccard = False  # the Jaccard score takes no nan zero_division (scikit-learn)

    def __init__(self, threshold=0.5, average="__default__", zero_division=0.0, from_logits=False,
                 label_names=None, per_label=True, n_labels=None, counting="auto", name=None, dtype=None,
                 ignore_value=None):
        if counting not in COUNTING:
            raise ValueError(f"Invalid `counting` argument value. Expected one of {COUNTING}. "
                             f"Received: counting={counting!r}")
        if average == "__default__":
            average = self._default_average
        if not self._has_average:
            average = None
        else:
            keras_argument("average", average, _tally.check_average)
        # A traced step cannot warn per batch: the core's value of an undefined score
        # (0 for "warn") is used silently.
        zd = keras_argument("zero_division", zero_division,
                            lambda z: _tally.zero_division_value(parse_zero_division(z, jaccard=self._jaccard)))
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
        check_ignore_value(ignore_value)
        default_name = self._base_name if average is None else f"{average}_{self._base_name}"
        # Per-label keys use the base name ("f1/cat") unless the metric was renamed;
        # a config round trip passes the default name back, which keeps the base.
        prefix = self._base_name if name in (None, default_name) else name
        name = name or default_name
        super().__init__(name=name, dtype=dtype)
        # Plain data for get_config: a list for per-label thresholds (arrays, tuned results).
        self.threshold = threshold if isinstance(threshold, (int, float)) else t if isinstance(t, float) else t.tolist()
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
        self.ignore_value = ignore_value
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
            thresholds = logit(thresholds)
        self._spec = _Spec(n_labels, thresholds, self._beta())
        self.n_labels = n_labels
        # Two float32 words per float64 value (see the module docstring).
        self.state_hi = self.add_variable(shape=(self._spec.size,), initializer="zeros", dtype="float32",
                                          aggregation="sum", name="state_hi")
        self.state_lo = self.add_variable(shape=(self._spec.size,), initializer="zeros", dtype="float32",
                                          aggregation="sum", name="state_lo")

    def update_state(self, y_true, y_pred, sample_weight=None):
        batch_key = (y_true, y_pred) + (() if sample_weight is None else (sample_weight,))
        y_true, y_pred = as_batch(self, y_true, y_pred, self._build)
        y_true, sample_weight = batch_weights(self, y_true, y_pred, sample_weight)
        if self.ignore_value is not None:
            batch_key = None  # checked apart from metrics that read the raw y_true
        hi, lo = self.state_hi.value, self.state_lo.value
        kind = _host._step_kind(y_pred)
        if self._counts_on_device(kind):
            hi, lo = _device._device_accumulate(self._spec, y_true, y_pred, sample_weight, hi, lo,
                                                host_reachable=kind != "xla", batch_key=batch_key,
                                                row_scores=self._row_scores())
        else:
            hi, lo = _host._host_accumulate(self._spec, y_true, y_pred, sample_weight, hi, lo)
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
        return (s, *ops.split(s, [n, 2 * n, 3 * n])[:3])  # one op (SplitV), not three slices

    def _samples(self, metric):
        """sklearn's average='samples' from the per-row sums of `metric`."""
        s, *_ = self._state()
        return samples_average(s, self._spec.offsets, metric, self._zd)

    def _scores(self):
        """(per-label vector or None, averaged scalar or None)."""
        raise NotImplementedError

    def _row_scores(self):
        """The entries of the state beyond the per-label counts, rows and weight sum that
        `_scores` reads: the device path fills only these (the host path fills all; the
        others are never read)."""
        return ()

    def _label_weights(self, s):
        """Per label, the weight of the rows where it is known (every row without a mask)."""
        at = self._spec.offsets["label_weight"]
        return s[at: at + self.n_labels]

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
            "ignore_value": self.ignore_value,
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
            return per_label, _nan_average(per_label, may_be_nan=math.isnan(self._zd))
        if a == "weighted":
            return per_label, _nan_average(per_label, tp + fn, may_be_nan=math.isnan(self._zd))
        return per_label, self._samples(self._samples_metric)

    def _row_scores(self):
        return (self._samples_metric,) if self.average == "samples" else ()


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
        self.beta = keras_argument("beta", beta, check_beta)
        super().__init__(**kwargs)

    def _beta(self):
        return self.beta

    def _per_label(self, tp, fp, fn):
        return _divide(*fbeta_fraction(self.beta, tp, tp + fp, tp + fn), self._zd)

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
    _jaccard = True

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

    def _row_scores(self):
        return ("jaccard",) if self.average == "samples" else ()


@keras.saving.register_keras_serializable(package="tally")
class LabelAccuracy(_TallyMetric):
    """Per-label accuracy (tp + tn) / n over the epoch (Keras's `BinaryAccuracy`
    per column, but with `score >= threshold`). "micro", "macro" and "samples" all
    equal 1 - hamming loss; "weighted" weighs labels by support. Default "macro".

    With missing labels (`ignore_value`, 2-D weights) each label's accuracy is over
    its known rows, "micro" pools the known cells (1 - hamming loss) and "macro"
    averages the labels; "samples" (each row over its known labels) is refused: the
    summed state keeps no per-row accuracy."""

    _base_name = "label_accuracy"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.average == "samples" and self.ignore_value is not None:
            raise ValueError(self._samples_refusal(f"Received: ignore_value={self.ignore_value!r}"))

    def _samples_refusal(self, received):
        return ("LabelAccuracy(average='samples') cannot score missing labels: a row's accuracy over its known "
                "labels needs per-row state; use average='micro' (the known cells pooled) or "
                f"tally.keras.PerLabelReport. {received}")

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.average == "samples" and sample_weight is not None:
            shape = tuple(ops.convert_to_tensor(sample_weight).shape)
            if len(shape) == 2 and shape[-1] != 1:
                raise ValueError(self._samples_refusal(f"Received: sample_weight of shape {shape}"))
        super().update_state(y_true, y_pred, sample_weight)

    def _scores(self):
        s, tp, fp, fn = self._state()
        weight = self._label_weights(s)
        per_label = (weight - fp - fn) / weight
        if self.average is None:
            return per_label, None
        if self.average == "weighted":
            return per_label, _nan_average(per_label, tp + fn)
        if self.average in ("micro", "samples"):  # samples: every label known on every row
            return per_label, 1 - ops.sum(fp + fn) / ops.sum(weight)
        return per_label, ops.mean(per_label)

    def _row_scores(self):
        return ("label_weight",)


@keras.saving.register_keras_serializable(package="tally")
class SubsetAccuracy(_TallyMetric):
    """Exact-match ratio over the epoch, as `sklearn.metrics.accuracy_score` on
    multi-label targets: the rows whose every label is right."""

    _base_name = "subset_accuracy"
    _has_average = False

    def _scores(self):
        s, *_ = self._state()
        return None, s[self._spec.offsets["exact_match_weight"]] / s[self._spec.offsets["weight_sum"]]

    def _row_scores(self):
        return ("exact_match_weight",)

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
        weight = self._label_weights(s)
        # Wrong cells over all (known) cells: the mean of the per-label rates when every
        # label is known on every row, scikit-learn's stacked known cells under a mask.
        return (fp + fn) / weight, ops.sum(fp + fn) / ops.sum(weight)

    def _row_scores(self):
        return ("label_weight",)

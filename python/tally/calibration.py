"""Calibration per label: how far each label's scores can be read as probabilities.

`CalibrationTally` streams the exact sums behind the Brier score and the log loss
(scikit-learn's `brier_score_loss` and `log_loss`, label by label) and, per label,
equal-width bins of [0, 1] for the reliability diagram, ECE and MCE. Its state
merges by addition and its sums are exact, so the values do not depend on how the
rows were batched or merged. Equal-mass bins need every score: they come from a
`tally.ScoreTally` (`reliability_from_scores`, `calibration_error_from_scores`).
The one-shot functions (`brier_score`, `binary_log_loss`,
`expected_calibration_error`, ...) are re-exported by `tally.metrics`.
"""

from __future__ import annotations

import operator
from typing import NamedTuple

import numpy as np

from . import _tally
from ._convert import as_matrix, as_sample_weight, known_weights
from .scores import ScoreTally, _Handle, _labels, check_average

__all__ = [
    "CalibrationTally",
    "Reliability",
    "reliability_from_scores",
    "calibration_error_from_scores",
    "brier_score",
    "binary_log_loss",
    "expected_calibration_error",
    "maximum_calibration_error",
    "reliability_curve",
    "log_entries",
]

_AVERAGES = (None, "micro", "macro", "weighted", "samples")


class Reliability(NamedTuple):
    """One label's reliability diagram: per bin (every bin, empty ones included)."""

    edges: np.ndarray  # n_bins + 1
    count: np.ndarray  # rows in the bin (int64)
    weight: np.ndarray  # their summed sample weight
    mean_score: np.ndarray  # calibration_curve's prob_pred; nan for an empty bin
    fraction_positive: np.ndarray  # calibration_curve's prob_true; nan for an empty bin


def _reliability(raw):
    edges, counts, weights, mean, frac = raw
    f = [np.frombuffer(a, dtype=np.float64).copy() for a in (edges, weights, mean, frac)]
    return Reliability(f[0], np.frombuffer(counts, dtype=np.int64).copy(), f[1], f[2], f[3])


def _values(raw, average):
    v = np.frombuffer(raw, dtype=np.float64).copy()
    return v if average is None else float(v[0])


def _probabilities(y_prob):
    p = as_matrix(y_prob, "y_prob")
    if p.dtype.kind != "f":
        p = p.astype(np.float64)
    elif p.dtype != np.float32:
        p = np.ascontiguousarray(p, dtype=np.float64)
    return p


def _index(value, name):
    """An int argument (numpy ints too); floats and other types are refused, not truncated."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"Expected `{name}` to be an int, but got {type(value).__name__}") from None


def _names(label_names):
    """Label names as a list of str (the core checks their count), or None."""
    if label_names is None:
        return None
    if isinstance(label_names, (str, bytes)):
        raise TypeError(f"Expected `label_names` to be a sequence of names, but got {type(label_names).__name__}")
    try:
        return [str(n) for n in label_names]
    except (TypeError, NotImplementedError):
        raise TypeError(f"Expected `label_names` to be a sequence of names, but got {type(label_names).__name__}") from None


def _n_bins(n_bins):
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"Expected `n_bins` to be an integer >= 1, but got {n_bins!r}")
    return int(n_bins)


class CalibrationTally(_Handle):
    """Streamed calibration sums per label: Brier score, log loss, and equal-width
    reliability bins (ECE, MCE, the reliability diagram).

    >>> cal = CalibrationTally(2, n_bins=10)
    >>> cal.update([[1, 0], [0, 1], [1, 1]], [[0.9, 0.2], [0.3, 0.8], [0.6, 0.4]])
    >>> cal.brier_score(average=None)
    array([0.08666667, 0.16      ])

    Scores must be probabilities in [0, 1] (float32 or float64); ``y_true`` 0/1.
    The log loss clips as scikit-learn does, with the machine epsilon of the
    scores' dtype. Bad input raises and changes nothing.

    Missing labels: with ``ignore_value`` (nan, or e.g. -1) the entries of
    ``y_true`` equal to it are unknown, and each label is scored on the rows where
    it is known (a 2-D ``sample_weight`` with 0 at unknown entries does the same):
    the bins count only known entries, and ``average="samples"`` takes each row's
    mean over its known labels.
    """

    _prefix = "calibration"

    def __init__(self, n_labels, n_bins=15, *, ignore_value=None):
        if isinstance(n_labels, bool) or not isinstance(n_labels, (int, np.integer)):
            raise TypeError(f"Expected `n_labels` to be an int, but got {type(n_labels).__name__}")
        self._set_ignore_value(ignore_value)
        self._handle = _tally.calibration_new(int(n_labels), _n_bins(n_bins))

    def update(self, y_true, y_prob, sample_weight=None):
        """Add a batch: 0/1 ``y_true`` and probabilities ``y_prob`` of shape (n, n_labels);
        ``sample_weight`` (n,) per row or (n, n_labels) per entry, 0 meaning unknown."""
        return self._update(y_true, y_prob, sample_weight, one_shot=False)

    def _update(self, y_true, y_prob, sample_weight, *, one_shot):
        yt = as_matrix(y_true, "y_true")
        yp = _probabilities(y_prob)
        if yt.shape != yp.shape:
            raise ValueError(f"Expected `y_prob` to have shape {yt.shape} like `y_true`, but got {yp.shape}")
        w = as_sample_weight(sample_weight, yt.shape[0], allow_all_zero=not one_shot, element_shape=yt.shape)
        self._call("update", yt, yp, known_weights(yt, w, self.ignore_value, one_shot=one_shot))
        return self

    @property
    def n_labels(self):
        return self._call("info")[0]

    @property
    def n_bins(self):
        return self._call("info")[1]

    @property
    def n_samples(self):
        return self._call("info")[2]

    def brier_score(self, average=None, *, labels=None):
        """`sklearn.metrics.brier_score_loss` per label (``average=None``) or averaged:
        "micro" (every cell as one binary problem), "macro", "weighted" (by positive
        weight), "samples" (the mean over rows of each row's mean). nan for a label
        whose rows weigh nothing."""
        check_average(average)
        return _values(self._call("score", "brier", average, _labels(labels)), average)

    def log_loss(self, average=None, *, labels=None):
        """`sklearn.metrics.log_loss(y[:, j], p[:, j], labels=[0, 1])` per label or averaged
        (as `brier_score`)."""
        check_average(average)
        return _values(self._call("score", "log_loss", average, _labels(labels)), average)

    def expected_calibration_error(self, average=None, *, labels=None):
        """ECE over the equal-width bins: Σ_b (weight_b / weight) · |mean score_b −
        fraction positive_b| per label, or "micro" (cells pooled), "macro", "weighted"."""
        check_average(average)
        return _values(self._call("error", "ece", average, _labels(labels)), average)

    def maximum_calibration_error(self, average=None, *, labels=None):
        """MCE: the largest |mean score − fraction positive| over non-empty bins."""
        check_average(average)
        return _values(self._call("error", "mce", average, _labels(labels)), average)

    def reliability(self, label=0):
        """The label's reliability diagram (a `Reliability`)."""
        return _reliability(self._call("reliability", _index(label, "label")))

    def table(self, label_names=None, digits=2):
        """The per-label table of `tally calibration`: Brier score, log loss, ECE, MCE and
        positives per label, then the micro/macro/weighted/samples averages."""
        return self._call("table", _names(label_names), _index(digits, "digits"))

    def __repr__(self):
        return f"CalibrationTally(n_labels={self.n_labels}, n_bins={self.n_bins}, n_samples={self.n_samples})"


def reliability_from_scores(scores: ScoreTally, label=0, *, n_bins=10):
    """The equal-mass reliability diagram of one label of a `ScoreTally`: bin edges
    at the quantiles of its scores (`calibration_curve(strategy="quantile")`'s)."""
    return _reliability(_tally.scores_reliability(scores._handle, _index(label, "label"), _n_bins(n_bins)))


def calibration_error_from_scores(scores: ScoreTally, metric="ece", *, n_bins=10, average=None, labels=None):
    """ECE (``metric="ece"``) or MCE (``"mce"``) over equal-mass bins of a `ScoreTally`."""
    check_average(average)
    raw = _tally.scores_calibration_error(scores._handle, metric, _n_bins(n_bins), average, _labels(labels))
    return _values(raw, average)


# -- one-shot functions ------------------------------------------------------------------

def _one_shot(y_true, y_prob, sample_weight, n_bins=15, ignore_value=None):
    yt = as_matrix(y_true, "y_true")
    cal = CalibrationTally(yt.shape[1], n_bins, ignore_value=ignore_value)
    return cal._update(yt, y_prob, sample_weight, one_shot=True)


def _one_shot_store(y_true, y_prob, sample_weight, ignore_value):
    """A ScoreTally of probabilities for the equal-mass bins (known entries checked to lie in [0, 1])."""
    yt = as_matrix(y_true, "y_true")
    yp = _probabilities(y_prob)
    if yt.shape != yp.shape:
        raise ValueError(f"Expected `y_prob` to have shape {yt.shape} like `y_true`, but got {yp.shape}")
    w = as_sample_weight(sample_weight, yt.shape[0], allow_all_zero=False, element_shape=yt.shape)
    w = known_weights(yt, w, ignore_value, one_shot=True)
    _check_probabilities(yp, None if w is None or w.ndim == 1 else w != 0)
    return ScoreTally(yt.shape[1]).update(yt, yp, w)


def brier_score(y_true, y_prob, *, average="macro", sample_weight=None, labels=None, ignore_value=None):
    """The Brier score per label of a multi-label (n, n_labels) target: column j is
    `sklearn.metrics.brier_score_loss(y_true[:, j], y_prob[:, j])` (on the rows where
    label j is known, with ``ignore_value``); averages as `CalibrationTally.brier_score`."""
    return _one_shot(y_true, y_prob, sample_weight, ignore_value=ignore_value).brier_score(average, labels=labels)


def binary_log_loss(y_true, y_prob, *, average="macro", sample_weight=None, labels=None, ignore_value=None):
    """The log loss per label: column j is `sklearn.metrics.log_loss(y_true[:, j],
    y_prob[:, j], labels=[0, 1])` (clipped with the dtype's machine epsilon)."""
    return _one_shot(y_true, y_prob, sample_weight, ignore_value=ignore_value).log_loss(average, labels=labels)


def _calibration_error(metric, y_true, y_prob, n_bins, strategy, average, sample_weight, labels, ignore_value):
    if strategy == "uniform":
        cal = _one_shot(y_true, y_prob, sample_weight, _n_bins(n_bins), ignore_value)
        return getattr(cal, {"ece": "expected", "mce": "maximum"}[metric] + "_calibration_error")(average, labels=labels)
    if strategy != "quantile":
        raise ValueError(f"Expected `strategy` to be one of 'uniform', 'quantile', but got {strategy!r}")
    store = _one_shot_store(y_true, y_prob, sample_weight, ignore_value)
    return calibration_error_from_scores(store, metric, n_bins=n_bins, average=average, labels=labels)


def _check_probabilities(p, known=None):
    bad = ~((p >= 0) & (p <= 1))
    if known is not None:
        bad &= known
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"Expected `y_prob` to hold probabilities in [0, 1], but got {p[r, c]} at row {r}, column {c}")


def expected_calibration_error(y_true, y_prob, *, n_bins=15, strategy="uniform", average="macro",
                               sample_weight=None, labels=None, ignore_value=None):
    """ECE per label: Σ_b (weight_b / weight) · |mean score_b − fraction positive_b| over
    ``n_bins`` bins of `sklearn.calibration.calibration_curve`'s ``strategy`` ("uniform":
    equal width, streamed; "quantile": equal mass, from every score)."""
    return _calibration_error("ece", y_true, y_prob, n_bins, strategy, average, sample_weight, labels, ignore_value)


def maximum_calibration_error(y_true, y_prob, *, n_bins=15, strategy="uniform", average="macro",
                              sample_weight=None, labels=None, ignore_value=None):
    """MCE per label: the largest |mean score − fraction positive| over non-empty bins."""
    return _calibration_error("mce", y_true, y_prob, n_bins, strategy, average, sample_weight, labels, ignore_value)


def reliability_curve(y_true, y_prob, *, label=0, n_bins=10, strategy="uniform", sample_weight=None,
                      ignore_value=None):
    """One label's `Reliability` (every bin; `calibration_curve` is its non-empty
    ``fraction_positive`` and ``mean_score``), over the rows where it is known."""
    if strategy == "uniform":
        return _one_shot(y_true, y_prob, sample_weight, _n_bins(n_bins), ignore_value).reliability(label)
    if strategy != "quantile":
        raise ValueError(f"Expected `strategy` to be one of 'uniform', 'quantile', but got {strategy!r}")
    store = _one_shot_store(y_true, y_prob, sample_weight, ignore_value)
    return reliability_from_scores(store, label, n_bins=n_bins)


# -- log entries (Keras callback, tally.net) -----------------------------------------------

METRICS = ("brier", "log_loss", "ece", "mce")


def log_entries(cal: CalibrationTally, names, *, metrics=("brier", "ece"), averages=("macro",), prefix="val_"):
    """{key: float} for logs: ``{prefix}{metric}/{name}`` per label and
    ``{prefix}{average}_{metric}`` per average (ECE and MCE have no "samples")."""
    get = {"brier": cal.brier_score, "log_loss": cal.log_loss, "ece": cal.expected_calibration_error,
           "mce": cal.maximum_calibration_error}
    out = {}
    for m in metrics:
        for name, v in zip(names, get[m](None)):
            out[f"{prefix}{m}/{name}"] = float(v)
        for a in averages:
            if a == "samples" and m in ("ece", "mce"):
                continue
            out[f"{prefix}{a}_{m}"] = float(get[m](a))
    return out


def check_metrics(metrics):
    """`metrics` as a tuple of names among `METRICS` (for the callback and tally.net)."""
    names = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    if not names or any(m not in METRICS for m in names):
        raise ValueError(f"Expected calibration metrics among {METRICS}, but got {metrics!r}")
    return names

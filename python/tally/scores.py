"""Score-based metrics: exact ROC AUC, average precision and their curves from a
compact store of every score (`ScoreTally`), the same in fixed memory with a
guaranteed error interval (`BinnedScoreTally`), and the row-wise ranking metrics
streamed as sums (`RankingTally`). The scikit-learn-signature functions
(`roc_auc_score`, …) in `tally.metrics` are built on these."""

from __future__ import annotations

import numpy as np

from . import _tally
from ._convert import as_array, as_columns, as_matrix, as_sample_weight, check_missing_target, known_weights, native
from ._warnings import emit_warnings
from .intervals import delong_interval

__all__ = ["ScoreTally", "BinnedScoreTally", "RankingTally"]


def check_average(average, allowed=None):
    """The Swift core's check of `average` (None or a name, among `allowed` when given)."""
    _tally.check_average(average, allowed)


def _scores(y_score, name="y_score"):
    s = as_matrix(y_score, name)
    if s.dtype.kind != "f":
        s = s.astype(np.float64)
    elif s.dtype != np.float32:
        s = np.ascontiguousarray(s, dtype=np.float64)
    return s


def _labels(labels):
    return as_columns(labels)


def _prepare(y_true, y_score, sample_weight, ignore_value=None, *, one_shot=False, shape_message=None):
    """(y_true, y_score, weights 1-D, or 2-D with 0 where `ignore_value` marks y_true unknown)."""
    yt = as_matrix(y_true, "y_true")
    ys = _scores(y_score)
    if yt.shape != ys.shape:
        raise ValueError(shape_message or f"Expected `y_score` to have shape {yt.shape} like `y_true`, but got {ys.shape}")
    w = as_sample_weight(sample_weight, yt.shape[0], element_shape=yt.shape)
    return yt, ys, known_weights(yt, w, ignore_value, one_shot=one_shot)


class _Handle:
    """Shared plumbing of the accumulators: merge, copy, bytes, pickle."""

    _prefix = ""
    ignore_value = None  # see `_set_ignore_value`; states restored by from_bytes have none

    def _set_ignore_value(self, ignore_value):
        if ignore_value is not None:  # checked once, here (the core refuses 0 and 1)
            known_weights(np.zeros((0, 1)), None, ignore_value)
        self.ignore_value = ignore_value

    def _call(self, name, *args):
        return getattr(_tally, f"{self._prefix}_{name}")(self._handle, *args)

    def update(self, y_true, y_score, sample_weight=None):
        """Add a batch: 0/1 ``y_true`` and float ``y_score`` of shape (n, n_labels),
        ``sample_weight`` optional: (n,) per row, or (n, n_labels) per element, 0
        meaning unknown (as entries of ``y_true`` equal to the accumulator's
        ``ignore_value``). Bad input raises and changes nothing."""
        yt, ys, w = _prepare(y_true, y_score, sample_weight, self.ignore_value)
        self._call("update", yt, ys, w)
        return self

    def merge(self, other):
        """Add another accumulator's state (same configuration)."""
        if type(other) is not type(self):
            raise TypeError(f"Expected a {type(self).__name__} to merge, but got {type(other).__name__}")
        self._call("merge", other._handle)
        return self

    def reset(self):
        self._call("reset")
        return self

    def copy(self):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._handle = self._call("copy")
        return new

    def to_bytes(self) -> bytes:
        """The state as bytes (checkpoints, sending partial states between processes)."""
        return self._call("serialize")

    @classmethod
    def from_bytes(cls, state: bytes):
        if not isinstance(state, (bytes, bytearray, memoryview)):  # bytes(n) would make n zero bytes
            raise TypeError(f"Expected `state` to be bytes, but got {type(state).__name__}")
        new = object.__new__(cls)
        new._handle = getattr(_tally, f"{cls._prefix}_from_bytes")(bytes(state))
        new._restore_config()
        return new

    def _restore_config(self):
        pass

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_handle"] = self.to_bytes()
        return state

    def __setstate__(self, state):
        state = dict(state)
        state["_handle"] = getattr(_tally, f"{self._prefix}_from_bytes")(state["_handle"])
        self.__dict__.update(state)


class ScoreTally(_Handle):
    """Every (score, truth) pair per label, kept compactly (4 bytes per score while
    scores fit float32 exactly, 8 otherwise, plus one bit of truth; 8 bytes per row
    once weighted), so ROC AUC, average precision and their curves equal
    scikit-learn's on the concatenated batches, ties included.

    >>> acc = ScoreTally(2)
    >>> acc.update([[1, 0], [0, 1], [1, 1]], [[0.9, 0.2], [0.3, 0.8], [0.6, 0.4]])
    >>> acc.roc_auc(average=None)
    array([1. , 0.5])
    """

    _prefix = "scores"

    def __init__(self, n_labels, *, ignore_value=None):
        self._set_ignore_value(ignore_value)
        self._handle = _tally.scores_new(int(n_labels))

    @property
    def n_labels(self):
        return self._call("info")[0]

    @property
    def n_samples(self):
        return self._call("info")[1]

    @property
    def memory_bytes(self):
        """Bytes held by the stored scores, truth bits and weights."""
        return self._call("info")[4]

    def _result(self, raw, average, return_undefined, stacklevel):
        values, undefined, found = raw
        emit_warnings(found, stacklevel=stacklevel + 1)
        v = np.frombuffer(values, dtype=np.float64).copy()
        out = v if average is None else float(v[0])
        if return_undefined:
            return out, np.frombuffer(undefined, dtype=np.int64).copy()
        return out

    def roc_auc(self, average="macro", *, max_fpr=None, labels=None, return_undefined=False, threads=None):
        """`sklearn.metrics.roc_auc_score` over every batch seen. Labels with one
        class only are nan, with scikit-learn's warning; ``return_undefined=True``
        also returns their indices (rows for ``average="samples"``)."""
        check_average(average)
        if max_fpr is not None and not (0 < max_fpr <= 1):
            raise ValueError(f"Expected `max_fpr` in range (0, 1], got: {max_fpr!r}")
        raw = self._call("roc_auc", average, None if max_fpr is None else float(max_fpr), _labels(labels), threads)
        return self._result(raw, average, return_undefined, 3)

    def average_precision(self, average="macro", *, labels=None, return_undefined=False, threads=None):
        """`sklearn.metrics.average_precision_score` over every batch seen."""
        check_average(average)
        raw = self._call("average_precision", average, _labels(labels), threads)
        return self._result(raw, average, return_undefined, 3)

    def confidence_interval(self, metric="roc_auc", average=None, *, level=0.95, method="delong", labels=None,
                            return_variance=False):
        """DeLong's interval of per-label ROC AUC (Sun & Xu's fast algorithm): an
        `tally.intervals.Interval` of arrays, AUC +- z * sqrt(var) clipped to [0, 1];
        unweighted stores only. ``return_variance=True`` also returns the variances."""
        return delong_interval(self, metric, average, level=level, method=method, labels=labels,
                               return_variance=return_variance)

    def _curve(self, kind, label, drop_intermediate):
        x, y, t, found = self._call("curve", kind, int(label), bool(drop_intermediate))
        emit_warnings(found, stacklevel=4)
        return tuple(np.frombuffer(a, dtype=np.float64).copy() for a in (x, y, t))

    def roc_curve(self, label=0, *, drop_intermediate=True):
        """(fpr, tpr, thresholds) of one label, as `sklearn.metrics.roc_curve`."""
        return self._curve("roc", label, drop_intermediate)

    def precision_recall_curve(self, label=0, *, drop_intermediate=False):
        """(precision, recall, thresholds) of one label, as `sklearn.metrics.precision_recall_curve`."""
        return self._curve("pr", label, drop_intermediate)

    def tune_thresholds(self, objective="f1", *, beta=None, min_precision=None, min_recall=None, rate=None,
                        folds=None, seed=0, threads=None):
        """One threshold per label, tuned exactly over every stored score (a
        `tally.thresholds.TunedThresholds`; ``folds=k`` adds an out-of-fold estimate)."""
        from .thresholds import tune

        return tune(self, objective, beta, min_precision, min_recall, rate, folds, seed, threads)


class BinnedScoreTally(_Handle):
    """ROC AUC and average precision in fixed memory: per label a histogram of
    positive and negative weight over ``bins`` equal bins on [low, high]. Results
    are exact for the binned scores and come with an interval that is guaranteed
    to hold the exact value on the raw scores (`roc_auc(..., return_bounds=True)`)."""

    _prefix = "binned"

    def __init__(self, n_labels, bins=1000, low=0.0, high=1.0, *, ignore_value=None):
        self._set_ignore_value(ignore_value)
        self._handle = _tally.binned_new(int(n_labels), int(bins), float(low), float(high))

    @property
    def n_samples(self):
        return self._call("info")[4]

    def tune_thresholds(self, objective="f1", *, beta=None, min_precision=None, min_recall=None, rate=None):
        """One threshold per label at the bin edges (exact there); ``lower_bound`` and
        ``upper_bound`` hold the exact optimum over every raw-score threshold."""
        from .thresholds import TunedThresholds, objective_arguments

        args = objective_arguments(objective, beta, min_precision, min_recall, rate)
        return TunedThresholds(self._call("tune", *args))

    def _score(self, metric, average, return_bounds):
        check_average(average, ("micro", "macro", "weighted"))
        values, lower, upper, _, found = self._call("score", metric, average)
        emit_warnings(found, stacklevel=4)
        v, lo, hi = (np.frombuffer(a, dtype=np.float64).copy() for a in (values, lower, upper))
        if average is not None:
            v, lo, hi = float(v[0]), float(lo[0]), float(hi[0])
        return (v, lo, hi) if return_bounds else v

    def roc_auc(self, average="macro", *, return_bounds=False):
        """ROC AUC of the binned scores; with ``return_bounds`` (value, lower, upper)."""
        return self._score("roc_auc", average, return_bounds)

    def average_precision(self, average="macro", *, return_bounds=False):
        """Average precision of the binned scores; with ``return_bounds`` (value, lower, upper)."""
        return self._score("average_precision", average, return_bounds)


class RankingTally(_Handle):
    """The row-wise ranking metrics, exact and streamed in constant memory: each
    row's value is computed as it arrives and weighted sums are kept.

    Parameters
    ----------
    n_labels : int
    k : int, optional
        NDCG cut-off (scikit-learn's ``ndcg_score(k=...)``).
    top_k : sequence of int, default (1, 3, 5)
        The k of `precision_at_k` / `recall_at_k`. Ties at the k-th score count
        the expected hits under a random order of the tied labels.
    ignore_value : number, optional
        Marks unknown entries of ``y_true``: each row is ranked over its known
        labels only, and a row with none is skipped (README "Missing labels").
    metrics : sequence of str, optional
        Keep only these of ``"lrap"``, ``"coverage"``, ``"ranking_loss"``,
        ``"ndcg"``, ``"top_k"`` (precision@k and recall@k); default all. Fewer
        metrics cost less per row (coverage alone needs no sort); asking for a
        metric not kept raises ValueError.
    """

    _prefix = "ranking"
    METRICS = {"lrap": 1, "coverage": 2, "ranking_loss": 4, "ndcg": 8, "top_k": 16}

    def __init__(self, n_labels, *, k=None, top_k=(1, 3, 5), metrics=None, ignore_value=None):
        self._set_ignore_value(ignore_value)
        top = np.ascontiguousarray(np.atleast_1d(np.asarray(top_k)), dtype=np.int64)
        bits = None
        if metrics is not None:
            if isinstance(metrics, str):
                metrics = (metrics,)
            unknown = [m for m in metrics if m not in self.METRICS]
            if unknown or not metrics:
                raise ValueError(f"Expected `metrics` to be a non-empty sequence of {sorted(self.METRICS)}, "
                                 f"but got {list(metrics)!r}")
            bits = sum({self.METRICS[m] for m in metrics})
        self._handle = _tally.ranking_new(int(n_labels), None if k is None else int(k), top, bits)

    def update(self, y_true, y_score, sample_weight=None):
        yt, ys, w = _prepare(y_true, y_score, sample_weight, self.ignore_value)
        if yt.dtype.kind == "f" and yt.dtype != np.float64:
            yt = yt.astype(np.float64)
        self._call("update", yt, ys, w)
        return self

    @property
    def n_samples(self):
        return self._call("info")[3]

    @property
    def top_k(self):
        return tuple(np.frombuffer(self._call("info")[2], dtype=np.int64).tolist())

    def label_ranking_average_precision(self):
        """`sklearn.metrics.label_ranking_average_precision_score` over every row seen."""
        return self._call("value", "lrap")

    def coverage_error(self):
        """`sklearn.metrics.coverage_error` over every row seen."""
        return self._call("value", "coverage")

    def label_ranking_loss(self):
        """`sklearn.metrics.label_ranking_loss` over every row seen."""
        return self._call("value", "ranking_loss")

    def ndcg(self):
        """`sklearn.metrics.ndcg_score(k=k)` over every row seen."""
        return self._call("value", "ndcg")

    def precision_at_k(self):
        """{k: precision@k}: expected relevant labels among the k best scores / min(k, n_labels)."""
        return dict(zip(self.top_k, np.frombuffer(self._call("value", "precision_at_k"), dtype=np.float64).tolist()))

    def recall_at_k(self):
        """{k: recall@k} over the rows with at least one relevant label."""
        return dict(zip(self.top_k, np.frombuffer(self._call("value", "recall_at_k"), dtype=np.float64).tolist()))


# -- one-shot functions (scikit-learn signatures) ------------------------------------------

def _binary_truth(y_true, pos_label, for_function):
    """A 1-D target as one 0/1 column, with scikit-learn's pos_label rules."""
    y = as_array(y_true, "y_true", class_labels=True).reshape(-1)
    classes = np.unique(y)
    if classes.shape[0] > 2:
        raise ValueError(f"multiclass format is not supported by tally.metrics.{for_function}; "
                         "pass a one-hot (n_samples, n_classes) indicator matrix for per-class scores")
    if pos_label is None:
        known = [{0, 1}, {-1, 1}, {0}, {-1}, {1}]
        if classes.dtype.kind in "USO" or not any(set(classes.tolist()) <= k for k in known):
            raise ValueError(f"y_true takes value in {{{', '.join(repr(c) for c in classes.tolist())}}} and pos_label "
                             "is not specified: either make y_true take value in {0, 1} or {-1, 1} or pass "
                             "pos_label explicitly.")
        pos_label = 1
    return (y == pos_label).reshape(-1, 1)


def _is_multilabel(y_true):
    a = as_array(y_true, "y_true", class_labels=True)
    return a.ndim == 2 and a.shape[1] > 1


def roc_auc_score(y_true, y_score, *, average="macro", sample_weight=None, max_fpr=None, multi_class="raise",
                  labels=None, return_undefined=False, ignore_value=None):
    """ROC AUC for binary and multi-label targets, as `sklearn.metrics.roc_auc_score`
    (multi-class targets are not supported). ``return_undefined=True`` (an extension)
    also returns the labels whose AUC is undefined (one class only, or no known row).
    Multi-label extensions: 2-D ``sample_weight``; ``ignore_value`` scores each label
    on its known rows (README "Missing labels")."""
    check_average(average)
    if max_fpr is not None and not (0 < max_fpr <= 1):
        raise ValueError(f"Expected `max_fpr` in range (0, 1], got: {max_fpr!r}")
    # `labels` only names multi-class columns in scikit-learn: ignored here as there.
    lab = None
    multilabel = _is_multilabel(y_true)
    check_missing_target(multilabel, ignore_value)
    if multilabel:
        yt, ys, w = _prepare(y_true, y_score, sample_weight, ignore_value, one_shot=True)
    else:
        y = as_array(y_true, "y_true", class_labels=True).reshape(-1)
        classes = np.unique(y)
        if classes.shape[0] > 2:
            raise ValueError("multiclass format is not supported by tally.metrics.roc_auc_score; "
                             "pass a one-hot (n_samples, n_classes) indicator matrix for per-class AUC")
        yt = (y == classes[-1]).reshape(-1, 1)  # label_binarize: the greater class is positive
        ys = _scores(np.asarray(y_score).reshape(-1, 1))
        w = as_sample_weight(sample_weight, yt.shape[0])
        average = "macro"
    store = ScoreTally(yt.shape[1])
    store.update(yt, ys, w)
    raw = store._call("roc_auc", average, None if max_fpr is None else float(max_fpr), lab, None)
    return store._result(raw, average, return_undefined, 3)


def average_precision_score(y_true, y_score, *, average="macro", pos_label=1, sample_weight=None,
                            return_undefined=False, ignore_value=None):
    """Average precision for binary and multi-label targets, as
    `sklearn.metrics.average_precision_score` (multi-label extensions as `roc_auc_score`)."""
    check_average(average)
    multilabel = _is_multilabel(y_true)
    check_missing_target(multilabel, ignore_value)
    if multilabel:
        if pos_label != 1:
            raise ValueError("Parameter pos_label is fixed to 1 for multilabel-indicator y_true. "
                             "Do not set pos_label or set pos_label to 1.")
        yt, ys, w = _prepare(y_true, y_score, sample_weight, ignore_value, one_shot=True)
    else:
        y = as_array(y_true, "y_true", class_labels=True).reshape(-1)
        present = np.unique(y)
        if present.shape[0] > 2:
            raise ValueError("multiclass format is not supported by tally.metrics.average_precision_score; "
                             "pass a one-hot (n_samples, n_classes) indicator matrix")
        if present.shape[0] == 2 and pos_label not in present.tolist():
            raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {present}")
        yt = (y == pos_label).reshape(-1, 1)
        ys = _scores(np.asarray(y_score).reshape(-1, 1))
        w = as_sample_weight(sample_weight, yt.shape[0])
        average = "macro"
    store = ScoreTally(yt.shape[1])
    store.update(yt, ys, w)
    raw = store._call("average_precision", average, None, None)
    return store._result(raw, average, return_undefined, 3)


def _binary_curve(kind, y_true, y_score, pos_label, sample_weight, drop_intermediate, name):
    yt = _binary_truth(y_true, pos_label, name)
    ys = _scores(np.asarray(y_score).reshape(-1, 1))
    if ys.shape[0] != yt.shape[0]:
        raise ValueError("Found input variables with inconsistent numbers of samples: "
                         f"[{yt.shape[0]}, {ys.shape[0]}]")
    store = ScoreTally(1)
    store.update(yt, ys, as_sample_weight(sample_weight, yt.shape[0]))
    x, y, t, found = store._call("curve", kind, 0, bool(drop_intermediate))
    emit_warnings(found, stacklevel=4)
    x, y, t = (np.frombuffer(a, dtype=np.float64).copy() for a in (x, y, t))
    if kind == "pr" and ys.dtype == np.float32:
        t = t.astype(np.float32)  # scikit-learn returns thresholds in the scores' dtype
    return x, y, t


def roc_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=True):
    """(fpr, tpr, thresholds) as `sklearn.metrics.roc_curve`."""
    return _binary_curve("roc", y_true, y_score, pos_label, sample_weight, drop_intermediate, "roc_curve")


def precision_recall_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=False):
    """(precision, recall, thresholds) as `sklearn.metrics.precision_recall_curve`."""
    return _binary_curve("pr", y_true, y_score, pos_label, sample_weight, drop_intermediate,
                         "precision_recall_curve")


def _ranking(y_true, y_score, sample_weight, metric, ignore_value=None, **kw):
    yt, ys, w = _prepare(y_true, y_score, sample_weight, ignore_value, one_shot=True,
                         shape_message="y_true and y_score have different shape")
    acc = RankingTally(yt.shape[1], metrics=(metric,), **kw)  # only this metric's per-row work
    acc.update(yt, ys, w)
    return acc


# The ranking functions take `ignore_value` and 2-D weights as `RankingTally` (each row ranked over its known labels).
def label_ranking_average_precision_score(y_true, y_score, *, sample_weight=None, ignore_value=None):
    """As `sklearn.metrics.label_ranking_average_precision_score`."""
    return _ranking(y_true, y_score, sample_weight, "lrap", ignore_value).label_ranking_average_precision()


def coverage_error(y_true, y_score, *, sample_weight=None, ignore_value=None):
    """As `sklearn.metrics.coverage_error`."""
    return _ranking(y_true, y_score, sample_weight, "coverage", ignore_value).coverage_error()


def label_ranking_loss(y_true, y_score, *, sample_weight=None, ignore_value=None):
    """As `sklearn.metrics.label_ranking_loss`."""
    return _ranking(y_true, y_score, sample_weight, "ranking_loss", ignore_value).label_ranking_loss()


def ndcg_score(y_true, y_score, *, k=None, sample_weight=None, ignore_ties=False, ignore_value=None):
    """As `sklearn.metrics.ndcg_score` (tie-averaged; ``ignore_ties=True`` is not supported)."""
    if ignore_ties:
        raise ValueError("Expected `ignore_ties=False` (tally averages tied scores), but got True")
    yt = as_array(y_true, "y_true")
    if yt.ndim == 2 and yt.shape[1] <= 1:
        raise ValueError("Computing NDCG is only meaningful when there is more than 1 document. "
                         f"Got {yt.shape[1]} instead.")
    known = yt if ignore_value is None else np.where(np.isnan(yt) | (yt == ignore_value), 0, yt)
    if known.size and known.min() < 0:
        raise ValueError("ndcg_score should not be used on negative y_true values.")
    if k is not None and (isinstance(k, bool) or int(k) != k or k < 1):
        raise ValueError(f"Expected `k` to be an int >= 1, but got {k!r}")
    return _ranking(native(yt.astype(np.float64)) if yt.dtype.kind != "b" else yt, y_score, sample_weight,
                    "ndcg", ignore_value, k=k).ndcg()


def precision_at_k(y_true, y_score, *, k=1, sample_weight=None, ignore_value=None):
    """Mean over rows of (relevant labels among the k best scores) / min(k, n_labels);
    ties at the k-th score count the expected hits under a random tie order."""
    return _ranking(y_true, y_score, sample_weight, "top_k", ignore_value, top_k=(k,)).precision_at_k()[k]


def recall_at_k(y_true, y_score, *, k=1, sample_weight=None, ignore_value=None):
    """Mean over rows with a relevant label of (relevant labels among the k best) / relevant labels."""
    return _ranking(y_true, y_score, sample_weight, "top_k", ignore_value, top_k=(k,)).recall_at_k()[k]


def tune_thresholds(y_true, y_score, *, objective="f1", beta=None, min_precision=None, min_recall=None,
                    rate=None, sample_weight=None, folds=None, seed=0, ignore_value=None):
    """One threshold per label, tuned exactly on (y_true, y_score): a
    `tally.thresholds.TunedThresholds` (see `ScoreTally.tune_thresholds`).

    objective : "f1" | "fbeta" (needs ``beta``) | "recall_at_precision" (``min_precision``)
        | "precision_at_recall" (``min_recall``) | "youden" | "rate" (``rate``: the highest
        threshold whose predicted-positive rate reaches it).
    folds : int, optional
        Also estimate out of fold: k seeded folds of rows, tuned on k − 1, scored on the
        held-out one (``result.out_of_fold``).
    """
    yt, ys, w = _prepare(y_true, y_score, sample_weight, ignore_value, one_shot=True)
    return ScoreTally(yt.shape[1]).update(yt, ys, w).tune_thresholds(
        objective, beta=beta, min_precision=min_precision, min_recall=min_recall, rate=rate, folds=folds, seed=seed)

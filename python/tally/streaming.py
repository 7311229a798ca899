"""`Tally`: a streaming, mergeable, picklable accumulator of per-label counts."""

from __future__ import annotations

import numpy as np

from . import _tally
from ._convert import as_columns, as_label_names, as_matrix, as_sample_weight, as_thresholds, known_weights, logit
from ._warnings import emit_warnings
from .intervals import as_row_ids, check_bootstrap, check_same_replicates, counts_interval, pack_state, unpack_state
from .metrics import check_average, check_beta, prfs_from_counts

__all__ = ["Tally"]

_ndarray = np.ndarray



class Tally:
    """Exact per-label confusion counts for a multi-label classifier, updated
    batch by batch; scores at any time equal scikit-learn's on the concatenated
    batches.

    Parameters
    ----------
    n_labels : int
        Number of labels (columns) in every batch.
    threshold : float or array of shape (n_labels,), default 0.5
        A score is a positive prediction when ``score >= threshold``.
    from_logits : bool, default False
        Scores are logits: compared against ``logit(threshold)``.
    label_names : sequence of str, optional
        Names used in reports.
    bootstrap : bool or int, default False
        Keep Poisson bootstrap replicates of the counts for
        ``confidence_interval(..., method="bootstrap")``: an int is the number of
        replicates, True the core's default (200). Each replicate costs
        ``8 * (3 * n_labels + 1 + distinct row triples)`` bytes and work per row.
    seed : int, default 0
        Seed of the bootstrap's Poisson draws (see `tally.intervals`).
    ignore_value : number, optional
        Marks unknown entries of ``y_true`` (e.g. -1; nan marks nan): each label is
        then scored on the rows where it is known, as a 2-D ``sample_weight`` of 0
        there would (README "Missing labels"). Default None: nan in ``y_true`` is refused.

    Examples
    --------
    >>> acc = Tally(3)
    >>> acc.update([[1, 0, 1], [0, 1, 1]], [[0.9, 0.2, 0.4], [0.1, 0.8, 0.7]])
    >>> acc.f1(average=None)
    array([1.        , 1.        , 0.66666667])
    """

    def __init__(self, n_labels, threshold=0.5, *, from_logits=False, label_names=None, bootstrap=False, seed=0,
                 ignore_value=None):
        if isinstance(n_labels, bool) or not isinstance(n_labels, (int, np.integer)):
            raise TypeError(f"Expected `n_labels` to be an int, but got {type(n_labels).__name__}")
        n_labels = int(n_labels)
        t = as_thresholds(threshold, n_labels)
        self._threshold = threshold
        self.from_logits = bool(from_logits)
        if self.from_logits:
            t = float(logit(t)) if isinstance(t, float) else np.ascontiguousarray(logit(t))
        self.label_names = as_label_names(label_names, n_labels)
        if ignore_value is not None:  # checked once, here (the core refuses 0 and 1)
            known_weights(np.zeros((0, n_labels)), None, ignore_value)
        self.ignore_value = ignore_value
        replicates = check_bootstrap(bootstrap)
        self._counts = _tally.counts_new(n_labels, t)
        self._bootstrap = None
        if replicates != 0:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
                raise TypeError(f"Expected `seed` to be an int, but got {type(seed).__name__}")
            thresholds = np.frombuffer(self._counts.info()[4], dtype=np.float64)
            self._bootstrap = _tally.bootstrap_new(n_labels, replicates, int(seed), thresholds)

    # -- state -------------------------------------------------------------------------

    @property
    def n_labels(self) -> int:
        return self._counts.info()[0]

    @property
    def n_samples(self) -> int:
        """Rows seen since the last reset."""
        return self._counts.info()[1]

    @property
    def weighted(self) -> bool:
        """Whether a weighted batch was seen (counts are then float sums of weights)."""
        return self._counts.info()[3]

    @property
    def threshold(self):
        return self._threshold

    def update(self, y_true, y_score, sample_weight=None, *, row_ids=None):
        """Add a batch: ``y_true`` (n, n_labels) of 0/1, ``y_score`` (n, n_labels)
        scores (or 0/1 predictions), ``sample_weight`` optional: (n,) one weight
        per row as scikit-learn, or (n, n_labels) one per element, 0 meaning
        missing (an extension: see README "Metrics", 2-D sample weights). Where
        the 2-D weight is 0, ``y_true`` and ``y_score`` are not read (-1 or nan
        may mark a missing label there).

        ``row_ids`` (with bootstrap replicates): the rows' ids for the Poisson
        draws, an int (the first of consecutive ids) or one int per row; by default
        the rows' positions in this accumulator's stream. Accumulators over
        different rows that will be merged need distinct ids (see `tally.intervals`).

        Raises ValueError/TypeError, leaving the counts unchanged, on bad input.
        """
        if (sample_weight is None and row_ids is None and type(y_true) is _ndarray and type(y_score) is _ndarray
                and self._bootstrap is None and self.ignore_value is None):
            # Fast path: arrays the core reads in place go straight through
            # (a training loop calls this once per batch).
            try:
                self._counts.update(y_true, y_score)
                return self
            except (TypeError, ValueError):
                pass  # convert below; a real error is raised again from there
        if self._bootstrap is not None or row_ids is not None:
            return self._update_with_replicates(y_true, y_score, sample_weight, row_ids)
        yt = as_matrix(y_true, "y_true")
        ys = as_matrix(y_score, "y_score")
        w = as_sample_weight(sample_weight, yt.shape[0], element_shape=yt.shape)
        if yt.shape[1:] == (self.n_labels,):  # else the core names the wrong shape
            w = known_weights(yt, w, self.ignore_value)
        self._counts.update(yt, ys, w, False)
        return self

    def _update_with_replicates(self, y_true, y_score, sample_weight, row_ids):
        if self._bootstrap is None:
            raise ValueError("Expected `row_ids` only with bootstrap replicates (Tally(..., bootstrap=...)), "
                             "but this Tally keeps none")
        yt = as_matrix(y_true, "y_true")
        ys = as_matrix(y_score, "y_score")
        w = as_sample_weight(sample_weight, yt.shape[0], element_shape=yt.shape)
        if yt.shape[1:] == (self.n_labels,):
            w = known_weights(yt, w, self.ignore_value)
        ids = as_row_ids(row_ids, yt.shape[0])
        # The replicates check the batch as the counts do, so when they take it the counts will too.
        _tally.bootstrap_update(self._bootstrap, yt, ys, w, ids)
        self._counts.update(yt, ys, w, False)
        return self

    def merge(self, other: "Tally") -> "Tally":
        """Add another accumulator's counts (same labels and thresholds; with
        bootstrap replicates, the same number of them and the same seed)."""
        if not isinstance(other, Tally):
            raise TypeError(f"Expected a Tally to merge, but got {type(other).__name__}")
        if (self._bootstrap is None) != (other._bootstrap is None):
            raise ValueError("Expected both Tally objects to keep bootstrap replicates or neither, but only one does")
        if self._bootstrap is not None:
            _tally.bootstrap_merge(self._bootstrap, other._bootstrap)
        self._counts.merge(other._counts)
        return self

    def __add__(self, other):
        if not isinstance(other, Tally):
            return NotImplemented
        return self.copy().merge(other)

    def __iadd__(self, other):
        if not isinstance(other, Tally):
            return NotImplemented
        return self.merge(other)

    def reset(self):
        self._counts.reset()
        if self._bootstrap is not None:
            _tally.bootstrap_reset(self._bootstrap)
        return self

    def copy(self) -> "Tally":
        new = object.__new__(Tally)
        new.__dict__.update(self.__dict__)
        new._counts = self._counts.copy()
        if self._bootstrap is not None:
            new._bootstrap = _tally.bootstrap_copy(self._bootstrap)
        return new

    def to_bytes(self) -> bytes:
        """The counts (and bootstrap replicates) as bytes (for checkpoints, all-reduce,
        sending between processes)."""
        return pack_state(self._counts.serialize(), self._bootstrap)

    def load_bytes(self, state: bytes) -> "Tally":
        """Replace the counts by ones from `to_bytes()` (same labels and thresholds)."""
        # Only bytes-like objects: bytes(n) of an int would make n zero bytes.
        try:
            data = memoryview(state).tobytes()
        except TypeError:
            raise TypeError(f"Expected `state` to be bytes from to_bytes(), but got {type(state).__name__}") from None
        counts_bytes, replicates = unpack_state(data)
        counts = _tally.counts_from_bytes(counts_bytes)
        info = counts.info()
        if info[0] != self.n_labels or info[4] != self._counts.info()[4]:
            raise ValueError(f"Expected a state with {self.n_labels} labels and the same thresholds, "
                             f"but got {info[0]} labels")
        check_same_replicates(self._bootstrap, replicates)
        self._counts = counts
        self._bootstrap = replicates
        return self

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_counts"] = self._counts.serialize()
        if self._bootstrap is not None:
            state["_bootstrap"] = _tally.bootstrap_serialize(self._bootstrap)
        return state

    def __setstate__(self, state):
        state = dict(state)
        state.setdefault("ignore_value", None)  # pickles from before missing labels
        state["_counts"] = _tally.counts_from_bytes(state["_counts"])
        replicates = state.get("_bootstrap")
        state["_bootstrap"] = None if replicates is None else _tally.bootstrap_from_bytes(replicates)
        self.__dict__.update(state)

    # -- scores ------------------------------------------------------------------------

    def confusion_matrix(self) -> np.ndarray:
        """(n_labels, 2, 2) as `sklearn.metrics.multilabel_confusion_matrix`: [[tn, fp], [fn, tp]]."""
        raw, weighted = self._counts.confusion()
        c = np.frombuffer(raw, dtype=np.float64 if weighted else np.int64).reshape(-1, 4)
        tp, fp, fn, tn = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
        return np.stack([np.stack([tn, fp], axis=1), np.stack([fn, tp], axis=1)], axis=1)

    def precision_recall_fscore_support(self, *, beta=1.0, average=None, zero_division="warn", labels=None,
                                        warn_for=("precision", "recall", "f-score")):
        """As `sklearn.metrics.precision_recall_fscore_support` on every batch seen."""
        beta = check_beta(beta)
        check_average(average, allow_binary=False)
        columns = as_columns(labels)
        return prfs_from_counts(self._counts, beta=beta, average=average, zero_division=zero_division,
                                columns=columns, warn_for=warn_for, weighted=self.weighted)

    def precision(self, average=None, *, zero_division="warn", labels=None):
        return self.precision_recall_fscore_support(average=average, zero_division=zero_division,
                                                    labels=labels, warn_for=("precision",))[0]

    def recall(self, average=None, *, zero_division="warn", labels=None):
        return self.precision_recall_fscore_support(average=average, zero_division=zero_division,
                                                    labels=labels, warn_for=("recall",))[1]

    def fbeta(self, beta, average=None, *, zero_division="warn", labels=None):
        return self.precision_recall_fscore_support(beta=beta, average=average, zero_division=zero_division,
                                                    labels=labels, warn_for=("f-score",))[2]

    def f1(self, average=None, *, zero_division="warn", labels=None):
        return self.fbeta(1.0, average, zero_division=zero_division, labels=labels)

    # Counting metrics over the same counts (tally.metrics has the one-shot forms).

    def jaccard(self, average=None, *, zero_division="warn", labels=None):
        """As `sklearn.metrics.jaccard_score` on every batch seen."""
        from .metrics import parse_zero_division

        check_average(average, allow_binary=False)
        zd = parse_zero_division(zero_division)
        raw, found = _tally.counts_jaccard(self._counts, average, zd, as_columns(labels))
        emit_warnings(found, ("jaccard",))
        v = np.frombuffer(raw, dtype=np.float64).copy()
        return v if average is None else float(v[0])

    def subset_accuracy(self, normalize=True):
        """As `sklearn.metrics.accuracy_score` (every label of a row right)."""
        return _tally.counts_subset_accuracy(self._counts, bool(normalize))

    def zero_one_loss(self, normalize=True):
        return _tally.counts_zero_one_loss(self._counts, bool(normalize))

    def hamming_loss(self):
        return _tally.counts_hamming_loss(self._counts)

    def label_accuracy(self, average=None, *, labels=None):
        """Per label (tp + tn) / n (Keras's BinaryAccuracy per label); "macro" for their mean."""
        v = np.frombuffer(_tally.counts_label_accuracy(self._counts, as_columns(labels), average), dtype=np.float64)
        return v.copy() if average is None else float(v[0])

    def _negative(self, which, average, zero_division, labels):
        from .metrics import parse_zero_division

        check_average(average, allow_binary=False)
        raw, found = _tally.counts_negative_class(self._counts, which, average, parse_zero_division(zero_division),
                                                  as_columns(labels))
        emit_warnings(found, ("specificity", "negative predictive value"), stacklevel=4)
        v = np.frombuffer(raw, dtype=np.float64).copy()
        return v if average is None else float(v[0])

    def specificity(self, average=None, *, zero_division="warn", labels=None):
        """tn / (tn + fp): `recall_score(1 - y_true, 1 - y_pred)` on every batch seen."""
        return self._negative("specificity", average, zero_division, labels)

    def negative_predictive_value(self, average=None, *, zero_division="warn", labels=None):
        """tn / (tn + fn): `precision_score(1 - y_true, 1 - y_pred)` on every batch seen."""
        return self._negative("npv", average, zero_division, labels)

    def matthews_corrcoef(self, average=None, *, labels=None):
        """Per label `sklearn.metrics.matthews_corrcoef(y_true[:, j], y_pred[:, j])`; "macro" for their mean."""
        v = np.frombuffer(_tally.counts_matthews(self._counts, as_columns(labels), average), dtype=np.float64)
        return v.copy() if average is None else float(v[0])

    def confidence_interval(self, metric, average=None, *, level=0.95, method="wilson", beta=1.0,
                            zero_division=0.0, labels=None):
        """Confidence interval of ``metric`` at ``level``: an `Interval` of
        (lower, upper, point), arrays per label or floats for an average.

        ``method="wilson"`` or ``"clopper_pearson"``: for the proportions
        ("precision", "recall", "specificity", "npv", "label_accuracy"), per label or
        ``average="micro"``; the point is successes / trials (nan without trials);
        sample weights count as frequency weights. ``method="bootstrap"`` (needs
        ``Tally(..., bootstrap=...)``): any of those and "f1", "fbeta" (with
        ``beta``), "jaccard", "matthews_corrcoef", with every average the metric
        has; percentiles of the replicates (nan replicates left out) around the
        metric's value with ``zero_division``."""
        return counts_interval(self._counts, self._bootstrap, metric, method=method, beta=beta, average=average,
                               zero_division=zero_division, labels=as_columns(labels), level=level)

    def bootstrap_distribution(self, metric, average=None, *, beta=1.0, zero_division=0.0, labels=None):
        """The metric on every bootstrap replicate: shape (replicates,) for an
        average, (replicates, labels) per label."""
        if self._bootstrap is None:
            raise ValueError("Expected bootstrap replicates, but this Tally keeps none (Tally(..., bootstrap=...))")
        from .metrics import check_average, parse_zero_division

        check_average(average, allow_binary=False)
        raw = _tally.bootstrap_distribution(self._bootstrap, metric, float(beta), average,
                                            parse_zero_division(zero_division), as_columns(labels))
        values = np.frombuffer(raw, dtype=np.float64).copy()
        return values.reshape(_tally.bootstrap_info(self._bootstrap)[1], -1) if average is None else values

    def support(self) -> np.ndarray:
        return self.precision_recall_fscore_support(warn_for=())[3]

    def result(self, *, zero_division=0.0) -> dict:
        """Per-label and averaged precision, recall, F1 and support as a dict."""
        p, r, f, s = self.precision_recall_fscore_support(zero_division=zero_division, warn_for=())
        out = {"precision": p, "recall": r, "f1": f, "support": s, "n_samples": self.n_samples}
        for avg in ("micro", "macro", "weighted", "samples"):
            ap, ar, af, _ = self.precision_recall_fscore_support(average=avg, zero_division=zero_division,
                                                                 warn_for=())
            out[avg] = {"precision": ap, "recall": ar, "f1": af}
        return out

    def names(self):
        return self.label_names or [str(i) for i in range(self.n_labels)]

    def render_report(self, *, format="text", digits=2, zero_division="warn", target_names=None, labels=None,
                      caption=None, ci=None, level=0.95):
        """(report text, [(metric, warning message)]) formatted by the Swift core:
        the same bytes as the `tally report` command line in Swift and Python.
        ``ci`` ("wilson", "clopper_pearson", "bootstrap") adds interval columns at ``level``."""
        from .metrics import parse_zero_division

        zd = parse_zero_division(zero_division)
        names = None if target_names is None else tuple(str(n) for n in target_names)
        columns = None if labels is None else np.ascontiguousarray(labels, dtype=np.int64)
        return self._counts.report(format, int(digits), zd, names, columns, caption, ci, float(level),
                                   self._bootstrap)

    def report(self, *, digits=2, zero_division=0.0, format="text", ci=None, level=0.95) -> str:
        """A per-label table laid out as `sklearn.metrics.classification_report`
        (``format="json"`` or ``"markdown"`` for the other forms); ``ci`` adds
        interval columns (see `render_report`)."""
        text, warnings = self.render_report(format=format, digits=digits, zero_division=zero_division,
                                            target_names=self.label_names, ci=ci, level=level)
        emit_warnings(warnings, ("precision", "recall", "f-score"), stacklevel=3)
        return text

    def __repr__(self):
        info = self._counts.info()
        replicates = "" if self._bootstrap is None else f", bootstrap={_tally.bootstrap_info(self._bootstrap)[1]}"
        return (f"Tally(n_labels={info[0]}, threshold={self._threshold!r}, "
                f"from_logits={self.from_logits}{replicates}, n_samples={info[1]})")

    def _repr_html_(self):
        """The report as the core's HTML table, captioned with the repr (notebooks);
        with bootstrap replicates, their 95% intervals too."""
        return self.render_report(format="html", digits=3, zero_division=0.0, target_names=self.label_names,
                                  caption=repr(self), ci="bootstrap" if self._bootstrap is not None else None)[0]

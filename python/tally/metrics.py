"""scikit-learn-signature metric functions computed by Tally's Swift core.

Each function takes what the scikit-learn function of the same name takes
(lists, numpy arrays in any memory order, pandas frames; multi-label indicator
matrices, binary and multiclass 1-D targets) and returns the same values,
warnings included.
"""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np

from . import _tally
from ._convert import as_array, as_columns, as_sample_weight, check_missing_target, known_weights, native
from ._warnings import emit_warnings
from .report import format_report

__all__ = [
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
    "f1_score",
    "fbeta_score",
    "classification_report",
]

def parse_zero_division(zero_division, *, jaccard=False):
    """"warn" or the float scikit-learn would use; the Swift core parses it and
    refuses anything else with its ValueError (nan too for the Jaccard score)."""
    if isinstance(zero_division, Real) and not isinstance(zero_division, bool):
        zero_division = float(zero_division)  # numpy scalars as Python floats
    return _tally.check_zero_division(zero_division, jaccard)


def check_average(average, allow_binary=True):
    """The Swift core's check of `average` (None or a name); "binary" is the Python
    layer's own (1-D targets), allowed where `allow_binary`."""
    if allow_binary and average == "binary":
        return
    _tally.check_average(average)


def check_beta(beta):
    """`beta` as a float, checked by the core's F-beta (a number >= 0, inf allowed)."""
    if isinstance(beta, Real) and not isinstance(beta, bool):
        beta = float(beta)  # numpy scalars as Python floats
    return _tally.check_beta(beta)


class Targets:
    """y_true and y_pred as 0/1 indicator matrices the core reads, plus which
    columns to score (scikit-learn's `labels=`), the target type and the weights:
    1-D per row, or 2-D per element for multi-label targets, where `ignore_value`
    (README "Missing labels") makes them 0 at the unknown entries of `y_true`."""

    def __init__(self, y_true, y_pred, *, average, labels=None, pos_label=1, sample_weight=None, ignore_value=None):
        check_average(average)
        yt = as_array(y_true, "y_true", class_labels=True)
        yp = as_array(y_pred, "y_pred", class_labels=True)
        for name, a in (("y_true", yt), ("y_pred", yp)):
            if a.ndim == 0 or a.ndim > 2:
                raise ValueError(f"Expected `{name}` to be 1-D or 2-D, but got {a.ndim}-D with shape {a.shape}")
        if yt.shape[0] != yp.shape[0]:
            raise ValueError("Found input variables with inconsistent numbers of samples: "
                             f"[{yt.shape[0]}, {yp.shape[0]}]")
        if yt.shape[0] == 0:
            raise ValueError("Expected at least one sample in `y_true` and `y_pred`, but got 0")
        self.columns = None  # column indices to score, or None for all
        multilabel = (yt.ndim == 2 and yt.shape[1] > 1) or (yp.ndim == 2 and yp.shape[1] > 1)
        check_missing_target(multilabel, ignore_value)
        weight = None
        if multilabel:
            if yt.shape != yp.shape:
                raise ValueError(f"Expected `y_pred` to have shape {yt.shape} like `y_true`, but got {yp.shape}")
            weight = as_sample_weight(sample_weight, yt.shape[0], allow_all_zero=False, element_shape=yt.shape)
            yt = native(yt)
            weight = known_weights(yt, weight, ignore_value, one_shot=True)
            self.type = "multilabel-indicator"
            if average == "binary":
                raise ValueError("Target is multilabel-indicator but average='binary'. Please choose another "
                                 "average setting, one of [None, 'micro', 'macro', 'weighted', 'samples'].")
            if pos_label not in (None, 1):
                _warn_pos_label(pos_label, average)
            if labels is not None:
                self.columns = as_columns(labels)
                _tally.check_labels(self.columns, yt.shape[1])
                if average == "samples":
                    # Rows are scored over the chosen columns only.
                    yt, yp = yt[:, self.columns], yp[:, self.columns]
                    if weight is not None and weight.ndim == 2:
                        weight = np.ascontiguousarray(weight[:, self.columns])
                    self.columns = None
            self.y_true, self.y_pred = native(yt), native(yp)
            self.label_values = np.arange(yt.shape[1]) if self.columns is None else self.columns
        else:
            yt, yp = yt.reshape(-1), yp.reshape(-1)
            _check_discrete(yt, "y_true")
            _check_discrete(yp, "y_pred")
            try:
                classes = np.union1d(yt, yp)
            except TypeError:
                raise TypeError("Expected `y_true` and `y_pred` to hold labels of one type, but got a mix") from None
            self.type = "binary" if classes.shape[0] <= 2 else "multiclass"
            if average == "binary":
                if self.type != "binary":
                    raise ValueError("Target is multiclass but average='binary'. Please choose another average "
                                     "setting, one of [None, 'micro', 'macro', 'weighted'].")
                if pos_label not in classes.tolist() and classes.shape[0] >= 2:
                    raise ValueError(f"pos_label={pos_label!r} is not a valid label. It should be one of "
                                     f"{classes.tolist()}")
                labels = [pos_label]
            else:
                if pos_label not in (None, 1):
                    _warn_pos_label(pos_label, average)
                if average == "samples":
                    raise ValueError("Samplewise metrics are not available outside of multilabel classification.")
            if labels is None:
                universe = classes
            else:
                labels = np.asarray(labels)
                if labels.ndim != 1 or labels.size == 0:
                    raise ValueError(f"Expected `labels` to be a non-empty list of labels, but got {labels!r}")
                universe = np.union1d(classes, labels)
            # One indicator column per class: the multi-class counts are the
            # multi-label counts of the one-hot encodings.
            self.y_true = np.ascontiguousarray(yt[:, None] == universe[None, :])
            self.y_pred = np.ascontiguousarray(yp[:, None] == universe[None, :])
            if labels is not None:
                self.columns = np.ascontiguousarray(np.searchsorted(universe, labels), dtype=np.int64)
                self.label_values = np.asarray(labels)
            else:
                self.label_values = universe
            weight = as_sample_weight(sample_weight, self.y_true.shape[0], allow_all_zero=False)
        self.sample_weight = weight
        # Supports stay integers under a mask alone (its weights are 0 and 1).
        self.weighted = sample_weight is not None
        self.n_labels = self.y_true.shape[1]

    def counts(self):
        """The core's counts for these targets, predictions read as 0/1 labels."""
        c = _tally.counts_new(self.n_labels, 0.5)
        c.update(self.y_true, self.y_pred, self.sample_weight, True)
        return c


def _check_discrete(y, name):
    if y.dtype.kind == "f":
        if np.isnan(y).any():
            raise ValueError(f"Expected `{name}` to hold labels, but got nan")
        if not np.array_equal(y, np.floor(y)):
            raise ValueError(f"Classification metrics can't handle continuous `{name}`: expected labels "
                             f"(0/1 or class values), but got values such as {y[y != np.floor(y)][0]!r}")


def _warn_pos_label(pos_label, average):
    warnings.warn(
        "Note that pos_label (set to %r) is ignored when average != 'binary' (got %r). You may use "
        "labels=[pos_label] to specify a single positive class." % (pos_label, average),
        UserWarning, stacklevel=4)


def prfs_from_counts(counts, *, beta, average, zero_division, columns, warn_for, weighted, stacklevel=4):
    """Precision, recall, F and support from core counts, as scikit-learn returns them.
    Warnings point `stacklevel` frames up from the warning (4: the caller's caller)."""
    zd = parse_zero_division(zero_division)
    core_average = None if average == "binary" else average
    p, r, f, s, found = counts.prfs(float(beta), core_average, zd, columns)
    emit_warnings(found, warn_for, stacklevel=stacklevel)
    p, r, f = (np.frombuffer(x, dtype=np.float64).copy() for x in (p, r, f))
    if average == "binary":
        return float(p[0]), float(r[0]), float(f[0]), None
    if average is not None:
        return float(p[0]), float(r[0]), float(f[0]), None
    support = np.frombuffer(s, dtype=np.float64)
    support = support.copy() if weighted else support.astype(np.int64)
    return p, r, f, support


def precision_recall_fscore_support(y_true, y_pred, *, beta=1.0, labels=None, pos_label=1, average=None,
                                    warn_for=("precision", "recall", "f-score"), sample_weight=None,
                                    zero_division="warn", ignore_value=None):
    """Precision, recall, F-beta and support, exactly as scikit-learn's function of the same name.

    Extensions (multi-label targets): ``sample_weight`` may be 2-D, one weight per
    element; ``ignore_value`` (e.g. -1, or nan) marks unknown entries of ``y_true``,
    and each label is then scored on the rows where it is known (README "Missing labels").

    >>> precision_recall_fscore_support([[1, 0], [1, 1]], [[1, 1], [0, 1]], average=None)
    (array([0.5, 0.5]), array([0.5, 1. ]), array([0.5       , 0.66666667]), array([2, 1]))
    """
    return _prfs(y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label, average=average,
                 warn_for=warn_for, sample_weight=sample_weight, zero_division=zero_division,
                 ignore_value=ignore_value)


def _prfs(y_true, y_pred, *, beta=1.0, labels=None, pos_label=1, average=None, warn_for, sample_weight=None,
          zero_division="warn", ignore_value=None):
    """precision_recall_fscore_support for the public functions, each calling it
    directly, so that warnings point at their caller's line."""
    beta = check_beta(beta)
    parse_zero_division(zero_division)
    targets = Targets(y_true, y_pred, average=average, labels=labels, pos_label=pos_label,
                      sample_weight=sample_weight, ignore_value=ignore_value)
    counts = targets.counts()
    return prfs_from_counts(counts, beta=beta, average=average, zero_division=zero_division,
                            columns=targets.columns, warn_for=warn_for, weighted=targets.weighted, stacklevel=5)


def fbeta_score(y_true, y_pred, *, beta, labels=None, pos_label=1, average="binary", sample_weight=None,
                zero_division="warn", ignore_value=None):
    """The F-beta score, as `sklearn.metrics.fbeta_score`."""
    _, _, f, _ = _prfs(y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label, average=average,
                       warn_for=("f-score",), sample_weight=sample_weight, zero_division=zero_division,
                       ignore_value=ignore_value)
    return f


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
             zero_division="warn", ignore_value=None):
    """The F1 score, as `sklearn.metrics.f1_score`.

    >>> f1_score([[1, 0, 1], [0, 1, 1]], [[1, 0, 0], [0, 1, 1]], average=None)
    array([1.        , 1.        , 0.66666667])
    """
    _, _, f, _ = _prfs(y_true, y_pred, beta=1.0, labels=labels, pos_label=pos_label, average=average,
                       warn_for=("f-score",), sample_weight=sample_weight, zero_division=zero_division,
                       ignore_value=ignore_value)
    return f


def precision_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                    zero_division="warn", ignore_value=None):
    """Precision, as `sklearn.metrics.precision_score`."""
    p, _, _, _ = _prfs(y_true, y_pred, labels=labels, pos_label=pos_label, average=average, warn_for=("precision",),
                       sample_weight=sample_weight, zero_division=zero_division,
                       ignore_value=ignore_value)
    return p


def recall_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                 zero_division="warn", ignore_value=None):
    """Recall, as `sklearn.metrics.recall_score`."""
    _, r, _, _ = _prfs(y_true, y_pred, labels=labels, pos_label=pos_label, average=average, warn_for=("recall",),
                       sample_weight=sample_weight, zero_division=zero_division,
                       ignore_value=ignore_value)
    return r


# -- counting metrics ----------------------------------------------------------------------

__all__ += [
    "multilabel_confusion_matrix", "accuracy_score", "subset_accuracy", "zero_one_loss", "hamming_loss",
    "jaccard_score", "label_accuracy_score", "specificity_score", "negative_predictive_value_score",
    "matthews_corrcoef_per_label",
]


def _labels_only(y_true, y_pred, sample_weight=None, labels=None, average=None, ignore_value=None):
    """Targets whose predictions are labels (no `average` check beyond scikit-learn's)."""
    return Targets(y_true, y_pred, average=average, labels=labels, sample_weight=sample_weight,
                   ignore_value=ignore_value)


def multilabel_confusion_matrix(y_true, y_pred, *, sample_weight=None, labels=None, samplewise=False,
                                ignore_value=None):
    """(n_outputs, 2, 2) confusion matrices [[tn, fp], [fn, tp]], per label or per
    row (`samplewise=True`), as `sklearn.metrics.multilabel_confusion_matrix`.
    With ``ignore_value`` (or 2-D weights), label j's matrix counts its known rows."""
    targets = _labels_only(y_true, y_pred, sample_weight, labels, ignore_value=ignore_value)
    weighted = targets.sample_weight is not None
    if samplewise:
        if targets.type != "multilabel-indicator":
            raise ValueError("Samplewise metrics are not available outside of multilabel classification.")
        if targets.sample_weight is not None and targets.sample_weight.ndim == 2:
            raise ValueError("Expected 1-D `sample_weight` and no unknown entries with samplewise=True "
                             "(a row's matrix over its known labels is not defined), but got 2-D weights")
        yt, yp = targets.y_true, targets.y_pred
        if targets.columns is not None:  # rows are counted over the chosen columns
            yt, yp = native(yt[:, targets.columns]), native(yp[:, targets.columns])
        raw, weighted = _tally.row_confusion(yt, yp, targets.sample_weight, 0.5, True)
        flat = np.frombuffer(raw, dtype=np.float64 if weighted else np.int64)
        return flat.reshape(-1, 2, 2).copy()
    raw, is_float = targets.counts().confusion()
    c = np.frombuffer(raw, dtype=np.float64 if is_float else np.int64).reshape(-1, 4)
    if targets.columns is not None:
        c = c[targets.columns]
    tp, fp, fn, tn = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
    return np.stack([tn, fp, fn, tp], axis=1).reshape(-1, 2, 2).copy()


def accuracy_score(y_true, y_pred, *, normalize=True, sample_weight=None, ignore_value=None):
    """Subset accuracy (a row counts when every label is right), as `sklearn.metrics.accuracy_score`.
    With ``ignore_value``: every known label of the row right; rows with none known weigh 0."""
    counts = _labels_only(y_true, y_pred, sample_weight, ignore_value=ignore_value).counts()
    return _tally.counts_subset_accuracy(counts, bool(normalize))


subset_accuracy = accuracy_score


def zero_one_loss(y_true, y_pred, *, normalize=True, sample_weight=None, ignore_value=None):
    """1 − subset accuracy (or the weight of the wrong rows), as `sklearn.metrics.zero_one_loss`."""
    counts = _labels_only(y_true, y_pred, sample_weight, ignore_value=ignore_value).counts()
    return _tally.counts_zero_one_loss(counts, bool(normalize))


def hamming_loss(y_true, y_pred, *, sample_weight=None, ignore_value=None):
    """The fraction of wrong labels, as `sklearn.metrics.hamming_loss` (of the known ones with ``ignore_value``)."""
    targets = _labels_only(y_true, y_pred, sample_weight, ignore_value=ignore_value)
    counts = targets.counts()
    if targets.type == "multilabel-indicator":
        return _tally.counts_hamming_loss(counts)
    # Binary and multi-class targets: the fraction of wrong rows.
    return _tally.counts_zero_one_loss(counts, True)


def jaccard_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                  zero_division="warn", ignore_value=None):
    """The Jaccard index tp / (tp + fp + fn), as `sklearn.metrics.jaccard_score`
    (whose `zero_division` is "warn", 0 or 1: no nan)."""
    zd = parse_zero_division(zero_division, jaccard=True)
    targets = Targets(y_true, y_pred, average=average, labels=labels, pos_label=pos_label,
                      sample_weight=sample_weight, ignore_value=ignore_value)
    core_average = None if average == "binary" else average
    raw, found = _tally.counts_jaccard(targets.counts(), core_average, zd, targets.columns)
    emit_warnings(found, ("jaccard",))
    values = np.frombuffer(raw, dtype=np.float64).copy()
    return values if average is None else float(values[0])


def _check_small_average(average):
    if average not in (None, "macro"):
        raise ValueError(f"Expected `average` to be None or 'macro', but got {average!r}")


def label_accuracy_score(y_true, y_pred, *, labels=None, average=None, sample_weight=None, ignore_value=None):
    """Per label (tp + tn) / n — scikit-learn's `accuracy_score(y_true[:, j], y_pred[:, j])`,
    Keras's `BinaryAccuracy` per label; `average="macro"` gives their mean."""
    _check_small_average(average)
    targets = _labels_only(y_true, y_pred, sample_weight, labels, ignore_value=ignore_value)
    values = np.frombuffer(_tally.counts_label_accuracy(targets.counts(), targets.columns, average), dtype=np.float64)
    return values.copy() if average is None else float(values[0])


def _negative_class(which, y_true, y_pred, labels, average, sample_weight, zero_division, ignore_value):
    zd = parse_zero_division(zero_division)
    check_average(average, allow_binary=False)
    targets = Targets(y_true, y_pred, average=average, labels=labels, sample_weight=sample_weight,
                      ignore_value=ignore_value)
    raw, found = _tally.counts_negative_class(targets.counts(), which, average, zd, targets.columns)
    emit_warnings(found, ("specificity", "negative predictive value"), stacklevel=4)
    values = np.frombuffer(raw, dtype=np.float64).copy()
    return values if average is None else float(values[0])


def specificity_score(y_true, y_pred, *, labels=None, average=None, sample_weight=None, zero_division="warn",
                      ignore_value=None):
    """Specificity tn / (tn + fp) per label or averaged: defined as scikit-learn's
    `recall_score(1 - y_true, 1 - y_pred)` with the same arguments."""
    return _negative_class("specificity", y_true, y_pred, labels, average, sample_weight, zero_division, ignore_value)


def negative_predictive_value_score(y_true, y_pred, *, labels=None, average=None, sample_weight=None,
                                    zero_division="warn", ignore_value=None):
    """Negative predictive value tn / (tn + fn): scikit-learn's
    `precision_score(1 - y_true, 1 - y_pred)` with the same arguments."""
    return _negative_class("npv", y_true, y_pred, labels, average, sample_weight, zero_division, ignore_value)


def matthews_corrcoef_per_label(y_true, y_pred, *, labels=None, average=None, sample_weight=None, ignore_value=None):
    """Per label `sklearn.metrics.matthews_corrcoef(y_true[:, j], y_pred[:, j])`
    (0 when a label's truth or prediction is constant); `average="macro"` gives their mean."""
    _check_small_average(average)
    targets = _labels_only(y_true, y_pred, sample_weight, labels, ignore_value=ignore_value)
    values = np.frombuffer(_tally.counts_matthews(targets.counts(), targets.columns, average), dtype=np.float64)
    return values.copy() if average is None else float(values[0])


# -- score-based and ranking metrics (defined in tally.scores) ------------------------------

from .scores import (  # noqa: E402  (scores.py needs nothing from here)
    average_precision_score, coverage_error, label_ranking_average_precision_score, label_ranking_loss,
    ndcg_score, precision_at_k, precision_recall_curve, recall_at_k, roc_auc_score, roc_curve, tune_thresholds,
)

__all__ += [
    "confidence_interval", "roc_auc_score", "average_precision_score", "roc_curve", "precision_recall_curve",
    "label_ranking_average_precision_score", "coverage_error", "label_ranking_loss", "ndcg_score",
    "precision_at_k", "recall_at_k", "tune_thresholds",
]

# -- calibration per label (defined in tally.calibration) ------------------------------------

from .calibration import (  # noqa: E402  (calibration.py needs nothing from here)
    binary_log_loss, brier_score, expected_calibration_error, maximum_calibration_error, reliability_curve,
)

__all__ += ["brier_score", "binary_log_loss", "expected_calibration_error", "maximum_calibration_error",
            "reliability_curve"]


def classification_report(y_true, y_pred, *, labels=None, target_names=None, sample_weight=None, digits=2,
                          output_dict=False, zero_division="warn", output=None, ci=None, level=0.95,
                          ignore_value=None):
    """Per-label precision, recall, F1 and support with the averages, as
    `sklearn.metrics.classification_report` (text identical byte for byte, or a dict
    with ``output_dict=True``). ``output="markdown"`` or ``"html"`` gives a table.
    ``ignore_value`` scores each label on its known rows (README "Missing labels").

    ``ci="wilson"``, ``"clopper_pearson"`` or ``"bootstrap"`` (multi-label targets,
    all labels; text, json, markdown or html) adds interval columns at ``level``:
    precision and recall for the labels and the micro average, or with the
    bootstrap (200 replicates, seed 0) precision, recall and F1 for every row."""
    targets = Targets(y_true, y_pred, average=None, labels=labels, sample_weight=sample_weight,
                      ignore_value=ignore_value)
    multilabel = targets.type == "multilabel-indicator"
    if ci is not None and not (multilabel and labels is None and not output_dict and output != "dict"):
        raise ValueError("Expected multi-label targets, all labels and a text, json, markdown or html output for "
                         f"`ci`, but got {targets.type} targets, labels={labels!r}, output={output or 'dict'!r}")
    label_values = list(targets.label_values)
    labels_given = labels is not None
    micro_is_accuracy = not multilabel and (
        not labels_given or set(np.asarray(labels).tolist()) >= set(_present(y_true, y_pred)))
    if target_names is not None and len(label_values) != len(target_names):
        if labels_given:
            warnings.warn(f"labels size, {len(label_values)}, does not match size of target_names, "
                          f"{len(target_names)}", UserWarning, stacklevel=2)
        else:
            raise ValueError(f"Number of classes, {len(label_values)}, does not match size of target_names, "
                             f"{len(target_names)}. Try specifying the labels parameter")
    names = [str(n) for n in target_names] if target_names is not None else ["%s" % l for l in label_values]
    output = output or ("dict" if output_dict else "text")
    # The Swift core's report (the one `Tally.report()` and `tally report` print); with a mask
    # alone and no intervals, the path below, whose supports stay integers.
    if multilabel and labels is None and ((output in ("text", "markdown", "html") and ignore_value is None)
                                          or ci is not None):
        counts, replicates = targets.counts(), None
        if ci == "bootstrap":
            replicates = _tally.bootstrap_new(targets.n_labels, None, 0, np.full(targets.n_labels, 0.5))
            _tally.bootstrap_update(replicates, targets.y_true, targets.y_pred, targets.sample_weight, None)
        text, found = counts.report(output, int(digits), parse_zero_division(zero_division),
                                    tuple(names) if target_names is not None else None, None, None, ci,
                                    float(level), replicates)
        emit_warnings(found, ("precision", "recall", "f-score"))
        return text
    kw = dict(labels=labels, sample_weight=sample_weight, zero_division=zero_division, ignore_value=ignore_value)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, **kw)
    averages = []
    for average in ("micro", "macro", "weighted", "samples") if multilabel else ("micro", "macro", "weighted"):
        heading = "accuracy" if average == "micro" and micro_is_accuracy else f"{average} avg"
        ap, ar, af, _ = precision_recall_fscore_support(y_true, y_pred, average=average, **kw)
        averages.append((heading, (ap, ar, af, np.sum(s))))
    return format_report(names[:len(p)], (p, r, f, s), averages, digits=digits, output=output,
                         weighted=sample_weight is not None)


def confidence_interval(y_true, y_pred, metric, average=None, *, level=0.95, method="wilson", beta=1.0,
                        sample_weight=None, zero_division=0.0, labels=None, bootstrap=True, seed=0):
    """One-shot `Tally.confidence_interval` of multi-label 0/1 predictions ``y_pred``:
    an `tally.intervals.Interval`. ``method="bootstrap"`` draws ``bootstrap``
    replicates (True: 200) with ``seed``."""
    from .intervals import check_bootstrap, counts_interval

    targets = Targets(y_true, y_pred, average=None, sample_weight=sample_weight)
    if targets.type != "multilabel-indicator":
        raise ValueError(f"Expected multi-label targets (2-D, several columns), but got {targets.type} targets")
    replicates = None
    if method == "bootstrap":
        replicates = _tally.bootstrap_new(targets.n_labels, check_bootstrap(bootstrap), int(seed),
                                          np.full(targets.n_labels, 0.5))
    counts = targets.counts()
    if replicates is not None:
        _tally.bootstrap_update(replicates, targets.y_true, targets.y_pred, targets.sample_weight, None)
    return counts_interval(counts, replicates, metric, method=method, beta=beta, average=average,
                           zero_division=zero_division, labels=as_columns(labels), level=level)


def _present(y_true, y_pred):
    yt = as_array(y_true, "y_true", class_labels=True).reshape(-1)
    yp = as_array(y_pred, "y_pred", class_labels=True).reshape(-1)
    return np.union1d(yt, yp).tolist()


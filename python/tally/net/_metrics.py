"""The metrics `fit` and `evaluate` log: names ('f1', 'precision_micro', ...) or
callables, computed from the epoch's exact counts (a `tally.Tally`); and the ranked
ones ('roc_auc', 'ap', 'tuned_f1', 'tuned_youden'), computed from every score of the
validation data (`evaluate`: of its data), which `fit` keeps in a `ScoreTally`; and
the calibration ones ('brier', 'log_loss', 'ece', 'mce', see `_calibration`) from the
same predictions."""

from __future__ import annotations

from .. import _tally
from ..calibration import METRICS
from ..epoch_scores import mean_of_defined, ranking_per_label
from ..streaming import Tally
from ._calibration import parse as parse_calibration

_SCORES = ("precision", "recall", "f1")
_RANKED = ("roc_auc", "ap")
# Objectives that need no parameter, so that a name says it all.
_TUNED = ("tuned_f1", "tuned_youden")


class _Metric:
    """One requested metric: a score and an average (None: the macro value plus
    one scalar per label), or a callable of the epoch's `Tally`."""

    ranked = False  # scored on stored scores (see `ranked_values`), not on the counts

    def __init__(self, spec):
        self.calibration = None
        if callable(spec) and not isinstance(spec, str):
            if _positional_arity(spec) >= 2:
                # A Keras-style `fn(y_true, y_pred)` is the batch-averaged metric Tally replaces.
                raise TypeError(f"Expected a metric callable taking the epoch's tally.Tally, but got "
                                f"{getattr(spec, '__name__', spec)!r}, which takes (y_true, y_pred) like a Keras "
                                "batch metric; pass a name such as 'precision' or 'f1_micro' for exact epoch values")
            self.function = spec
            self.name = getattr(spec, "__name__", None) or getattr(spec, "name", None)
            if not isinstance(self.name, str) or not self.name:
                raise ValueError(f"Expected a metric callable to have a `__name__` or `name`, but got {spec!r}")
            return
        if not isinstance(spec, str):
            raise TypeError(f"Expected a metric name (str) or a callable taking a tally.Tally, but got "
                            f"{type(spec).__name__}")
        self.ranked = spec in _RANKED + _TUNED
        if self.ranked:
            self.function, self.name, self.score, self.average = None, spec, spec, None
            return
        self.calibration = parse_calibration(spec)
        if self.calibration is not None:  # computed from predictions (tally.net._calibration)
            self.function, self.name, self.score, self.average = None, spec, None, None
            return
        score, _, average = spec.partition("_")
        problem = None if score in _SCORES else f"{score!r} is not a score"
        if problem is None and average:
            try:  # the core's one list of averages
                _tally.check_average(average, None, False)
            except ValueError as exc:
                problem = str(exc)
        if problem is not None:
            raise ValueError(f"Expected a metric among {_SCORES}, optionally suffixed with '_' and an average "
                             f"(e.g. 'f1', 'precision_micro'), one of {_RANKED + _TUNED} (validation data), one of "
                             f"{METRICS} (calibration, validation data; '_' and an average optional), or a callable "
                             f"taking a tally.Tally, but got {spec!r}: {problem}")
        self.function = None
        self.name, self.score, self.average = spec, score, average or None

    def values(self, t: Tally, names, cache):
        """{log key: float} for the epoch's counts (nothing for a ranked or calibration metric:
        the training batches' scores are not kept)."""
        if self.ranked or self.calibration is not None:
            return {}
        if self.function is not None:
            v = self.function(t)
            if isinstance(v, dict):
                return {f"{self.name}/{k}" if k else self.name: float(x) for k, x in v.items()}
            return {self.name: float(v)}
        index = _SCORES.index(self.score)
        if self.average is None:
            per_label = _prfs(t, None, cache)[index]
            out = {self.name: float(_prfs(t, "macro", cache)[index])}
            out.update({f"{self.name}/{n}": float(v) for n, v in zip(names, per_label)})
            return out
        return {self.name: float(_prfs(t, self.average, cache)[index])}


    def ranked_values(self, store, names, cache):
        """{log key: float} of a ranked metric from every stored score: per label, and
        under the metric's name the mean over the labels where it is defined. A tuned
        metric also logs `tuned_threshold/<label>` and leaves its result in
        ``cache["tuned"]``."""
        if self.score in _RANKED:
            if "ranking" not in cache:
                cache["ranking"] = ranking_per_label(store)
            values = cache["ranking"][self.score]
            out = {self.name: mean_of_defined(values)}
            out.update({f"{self.name}/{n}": float(v) for n, v in zip(names, values)})
            return out
        tuned = store.tune_thresholds(self.score[len("tuned_"):])
        cache["tuned"] = tuned
        out = {self.name: mean_of_defined(tuned.values, tuned.undefined)}
        out.update({f"{self.name}/{n}": float(v) for n, v in zip(names, tuned.values)})
        out.update({f"tuned_threshold/{n}": float(v) for n, v in zip(names, tuned.thresholds)})
        return out


def _positional_arity(function):
    """How many positional arguments `function` requires (0 when it cannot be told)."""
    import inspect

    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 0
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty for p in parameters)


def _prfs(t: Tally, average, cache):
    # zero_division=0 in logs: an undefined score is logged as 0 without a warning per epoch.
    if average not in cache:
        cache[average] = t.precision_recall_fscore_support(average=average, zero_division=0.0, warn_for=())
    return cache[average]


def _tally_of(state, threshold, label_names):
    """A `tally.Tally` holding an epoch's counts, from the bytes `_tallynet` returns
    (a Swift object cannot pass from one extension module to the other)."""
    counts = _tally.counts_from_bytes(state)
    t = Tally(counts.info()[0], threshold, label_names=label_names)
    t._counts = counts
    return t

"""Per-label decision thresholds tuned exactly from every stored score.

The search runs in the Swift core (`ScoreStore.tuneThresholds`): per label, every
distinct score and +inf (predict nothing) is a candidate, a threshold ``t``
predicts ``score >= t``, and among equal optima the highest threshold wins.
A label whose objective is undefined everywhere (no positives for an objective
that reads recall, no negatives for Youden's J, or no threshold meeting the
constraint) gets ``+inf``, value nan, and ``undefined[j] = True``.

>>> result = tally.metrics.tune_thresholds(y_true, y_score, objective="f1")
>>> acc = tally.Tally(n_labels, threshold=result)     # or result.thresholds
>>> result.save("thresholds.json")                     # or .npy: the thresholds alone
"""

from __future__ import annotations

import json
import os

import numpy as np

from . import _tally

__all__ = ["TunedThresholds", "OutOfFold", "OBJECTIVES"]

OBJECTIVES = ("f1", "fbeta", "precision_at_recall", "recall_at_precision", "youden", "rate")

_ARRAYS = ("thresholds", "values", "precision", "recall", "support", "predicted")


def objective_arguments(objective, beta, min_precision, min_recall, rate):
    """The positional arguments the core's objective parser reads (it checks them)."""
    if not isinstance(objective, str):
        raise TypeError(f"Expected `objective` to be a str, but got {type(objective).__name__}")
    def number(v):
        return None if v is None else float(v)
    return (objective, number(beta), number(min_precision), number(min_recall), number(rate))


class OutOfFold:
    """What thresholds tuned on k − 1 folds reach on the held-out fold, pooled
    over the folds: per label (``values``, ``precision``, ``recall``) and the mean
    of the defined labels (``average``). ``fold_of_row`` and ``fold_thresholds``
    (folds × labels) say how it was done."""

    def __init__(self, folds, seed, fold_of_row, fold_thresholds, values, precision, recall, undefined, average):
        self.folds, self.seed = folds, seed
        self.fold_of_row = fold_of_row
        self.fold_thresholds = fold_thresholds
        self.values, self.precision, self.recall = values, precision, recall
        self.undefined = undefined
        self.average = average

    def __repr__(self):
        return f"OutOfFold(folds={self.folds}, seed={self.seed}, average={self.average!r})"


class TunedThresholds:
    """One threshold per label (float64) and what it reaches on the rows it was
    tuned on: ``values`` (the objective), ``precision``, ``recall``, ``support``
    (positive weight) and ``predicted`` (predicted-positive weight) there, and the
    ``undefined`` mask. Binned results also carry ``lower_bound``/``upper_bound``
    on the exact optimum; out-of-fold tuning adds ``out_of_fold``.

    Usable wherever a per-label threshold is (``np.asarray(result)`` is the thresholds).
    """

    def __init__(self, text, out_of_fold=None):
        self._text = text
        fields = json.loads(text)
        self.objective = fields["objective"]
        self.params = {k: fields[k] for k in ("beta", "min_precision", "min_recall", "rate") if k in fields}
        for name in _ARRAYS:
            setattr(self, name, np.asarray(fields[name], dtype=np.float64))
        self.undefined = np.zeros(len(self.thresholds), dtype=bool)
        self.undefined[np.asarray(fields["undefined"], dtype=np.int64)] = True
        self.lower_bound = np.asarray(fields["lower_bound"], dtype=np.float64) if "lower_bound" in fields else None
        self.upper_bound = np.asarray(fields["upper_bound"], dtype=np.float64) if "upper_bound" in fields else None
        self.out_of_fold = out_of_fold

    @property
    def n_labels(self):
        return len(self.thresholds)

    def __array__(self, dtype=None, copy=None):
        return self.thresholds.astype(dtype or np.float64, copy=True)

    def __len__(self):
        return self.n_labels

    def __repr__(self):
        params = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return (f"TunedThresholds(objective={self.objective!r}{params}, n_labels={self.n_labels}, "
                f"undefined={int(self.undefined.sum())})")

    # -- plain data ----------------------------------------------------------------

    def to_json(self) -> str:
        """The core's JSON text (Python's spellings ``Infinity``/``NaN`` for the non-finite)."""
        return self._text

    @classmethod
    def from_json(cls, text: str) -> "TunedThresholds":
        """Reads `to_json()`'s text; the core checks every field."""
        return cls(_tally.thresholds_parse(str(text)))

    def save(self, path) -> None:
        """``.json``: the whole result; ``.npy``: the thresholds alone (float64, one per label)."""
        path = os.fspath(path)
        if path.endswith(".npy"):
            with open(path, "wb") as f:
                f.write(_tally.thresholds_npy(self._text))
        elif path.endswith(".json"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(self._text)
        else:
            raise ValueError(f"Expected a path ending in .json or .npy, but got {path!r}")

    @classmethod
    def load(cls, path):
        """A result from ``.json``; from ``.npy``, the thresholds as a float64 array."""
        path = os.fspath(path)
        if path.endswith(".npy"):
            t = np.load(path)
            if t.ndim != 1 or t.dtype.kind != "f":
                raise ValueError(f"Expected a 1-D float array of thresholds in {path}, but got {t.dtype} of shape {t.shape}")
            return t.astype(np.float64)
        if path.endswith(".json"):
            with open(path, encoding="utf-8") as f:
                return cls.from_json(f.read())
        raise ValueError(f"Expected a path ending in .json or .npy, but got {path!r}")


def tune(store, objective, beta, min_precision, min_recall, rate, folds, seed, threads):
    """`ScoreTally.tune_thresholds`' work: the core's tuning and out-of-fold estimate."""
    args = objective_arguments(objective, beta, min_precision, min_recall, rate)
    if folds is None:
        return TunedThresholds(_tally.scores_tune(store._handle, *args, threads))
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)):
        raise TypeError(f"Expected `folds` to be an int or None, but got {type(folds).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"Expected `seed` to be an int, but got {type(seed).__name__}")
    text, rows, fold_t, values, precision, recall, undefined, average = _tally.scores_tune_out_of_fold(
        store._handle, *args, int(folds), int(seed), threads)
    n = store.n_labels
    as_f = lambda b: np.frombuffer(b, dtype=np.float64).copy()  # noqa: E731
    mask = np.zeros(n, dtype=bool)
    mask[np.frombuffer(undefined, dtype=np.int64)] = True
    oof = OutOfFold(int(folds), int(seed), np.frombuffer(rows, dtype=np.int64).copy(),
                    as_f(fold_t).reshape(int(folds), n), as_f(values), as_f(precision), as_f(recall), mask, average)
    return TunedThresholds(text, oof)

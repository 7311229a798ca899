"""DeLong's paired test of two models' per-label ROC AUC on the same rows, from
the exact score stores (the core's Sun & Xu midrank algorithm). The interval of
one model's AUC is `ScoreTally.confidence_interval`."""

from __future__ import annotations

import numpy as np

from . import _tally
from ._convert import as_array, as_columns
from .intervals import DeLongTest
from .scores import ScoreTally

__all__ = ["delong_test", "roc_auc_delong_test"]


def delong_test(a, b, *, labels=None):
    """DeLong's paired test of two models' per-label ROC AUC on the same rows:
    ``a`` and ``b`` are `ScoreTally` objects fed the same ``y_true`` in the same row
    order. Returns a `DeLongTest` of arrays (one entry per label)."""
    for name, s in (("a", a), ("b", b)):
        if not isinstance(s, ScoreTally):
            raise TypeError(f"Expected `{name}` to be a ScoreTally, but got {type(s).__name__}")
    raw = _tally.scores_delong_test(a._handle, b._handle, as_columns(labels))
    return DeLongTest(*(np.frombuffer(v, dtype=np.float64).copy() for v in raw))


def roc_auc_delong_test(y_true, y_score_a, y_score_b, *, labels=None):
    """`delong_test` on arrays: two models' scores ``y_score_a`` and ``y_score_b`` of the same ``y_true``."""
    yt = as_array(y_true, "y_true")
    n = yt.shape[1] if yt.ndim == 2 else 1
    a, b = ScoreTally(n), ScoreTally(n)
    a.update(y_true, y_score_a)
    b.update(y_true, y_score_b)
    return delong_test(a, b, labels=labels)

"""The core's warnings reach Python through `tally._warnings`, with their category
and message, attributed to the line that called Tally (not to a line inside the
package), whichever way in: a function, a streaming object, a report."""

import os
import warnings

import numpy as np
import pytest

import tally
import tally.metrics as tm

HERE = os.path.abspath(__file__)


def _caught(call):
    """The warnings `call()` raised: (category, message, file it points at)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [(w.category, str(w.message), os.path.abspath(w.filename)) for w in caught]


# A label no row has and no row predicts: its precision, recall and F are 0/0.
Y_TRUE = np.array([[1, 0], [0, 0], [1, 0]])
Y_PRED = np.array([[1, 0], [1, 0], [0, 0]])
# A label with one class only: ROC-AUC is undefined for it.
Y_SCORE = np.array([[0.9, 0.2], [0.3, 0.8], [0.6, 0.4]])


def _counted():
    t = tally.Tally(2)
    t.update(Y_TRUE, Y_PRED)
    return t


def _scored(kind=tally.ScoreTally):
    s = kind(2)
    s.update(Y_TRUE, Y_SCORE)
    return s


CASES = {
    "precision_score": lambda: tm.precision_score(Y_TRUE, Y_PRED, average=None),
    "jaccard_score": lambda: tm.jaccard_score(Y_TRUE, Y_PRED, average=None),
    "specificity_score": lambda: tm.specificity_score(1 - Y_TRUE, 1 - Y_PRED, average=None),
    "Tally.precision_recall_fscore_support": lambda: _counted().precision_recall_fscore_support(),
    "Tally.jaccard": lambda: _counted().jaccard(),
    "Tally.report": lambda: _counted().report(zero_division="warn"),
    "roc_auc_score": lambda: tm.roc_auc_score(Y_TRUE, Y_SCORE, average=None),
    "ScoreTally.roc_auc": lambda: _scored().roc_auc(average=None),
    "ScoreTally.average_precision": lambda: _scored().average_precision(average=None),
    "ScoreTally.roc_curve": lambda: _scored().roc_curve(1),
    "BinnedScoreTally.roc_auc": lambda: _scored(tally.BinnedScoreTally).roc_auc(average=None),
    "precision_recall_fscore_support": lambda: tm.precision_recall_fscore_support(Y_TRUE, Y_PRED),
    "precision_score": lambda: tm.precision_score(Y_TRUE, Y_PRED, average=None),
    "f1_score": lambda: tm.f1_score(Y_TRUE, Y_PRED, average=None),
    "recall_score": lambda: tm.recall_score(Y_TRUE, Y_PRED, average=None),
    "fbeta_score": lambda: tm.fbeta_score(Y_TRUE, Y_PRED, beta=2.0, average=None),
}
# Every way in warns at its caller's line (precision_score and f1_score used to warn one
# frame too shallow, at their own line in metrics.py); kept for a future known exception.
MISATTRIBUTED = set()


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="warns inside metrics.py, see MISATTRIBUTED"))
    if n in MISATTRIBUTED else n for n in CASES])
def test_each_way_in_warns_at_the_callers_line(name):
    found = _caught(CASES[name])
    assert found, f"{name}: expected a warning, got none"
    for category, message, where in found:
        assert issubclass(category, UserWarning), (name, category, message)
        assert where == HERE, f"{name}: the warning points at {where}, not at the caller"

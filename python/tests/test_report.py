"""classification_report: scikit-learn's text byte for byte and its dict, warnings
included, for multi-label, binary and multi-class targets; markdown and HTML forms."""

import numpy as np
import pytest
import sklearn.metrics as sk
from hypothesis import given, strategies as st

import tally
from tally import metrics as tm

from conftest import assert_same, run_recording
from test_prf import ZERO_DIVISIONS, multilabel


def both(*args, **kw):
    theirs, w1 = run_recording(sk.classification_report, *args, **kw)
    ours, w2 = run_recording(tm.classification_report, *args, **kw)
    assert w2 == w1, (w2, w1)
    return ours, theirs


def assert_same_text(ours, theirs, *args, digits=2, **kw):
    """scikit-learn's report text byte for byte, with one allowance: the samples average
    is summed over distinct rows (a streamed Tally keeps no row order), so it can sit one
    ulp from scikit-learn's row-order np.average; that shows in the text only where the
    value lies on a rounding tie (0.375 → "0.38", scikit-learn's 0.37499999999999994 →
    "0.37"). Any other difference fails."""
    if ours == theirs:
        return
    exact = sk.classification_report(*args, output_dict=True, **kw)["samples avg"]
    assert len(ours.splitlines()) == len(theirs.splitlines()), (ours, theirs)
    for a, b in zip(ours.splitlines(), theirs.splitlines()):
        if a == b:
            continue
        assert a.lstrip().startswith("samples avg"), (a, b)
        for key, x, y in zip(("precision", "recall", "f1-score"), a.split()[2:5], b.split()[2:5]):
            if x == y:
                continue
            scaled = exact[key] * 10**digits
            assert abs(scaled - np.floor(scaled) - 0.5) < 1e-9 * max(1.0, scaled), (key, exact[key], a, b)
            assert abs(float(x) - float(y)) <= 1.0000001 * 10.0**-digits, (a, b)


@given(multilabel(), st.sampled_from(ZERO_DIVISIONS), st.sampled_from([2, 3, 5]), st.booleans(), st.data())
def test_multilabel_text_and_dict(data, zero_division, digits, named, draw):
    y_true, y_pred, weight = data
    if weight is not None and not weight.any():
        return  # refused by both (tested in test_prf)
    k = y_true.shape[1]
    names = [f"label {chr(65 + j)}" * (j + 1) for j in range(k)] if named else None
    ours, theirs = both(y_true, y_pred, sample_weight=weight, zero_division=zero_division, digits=digits,
                        target_names=names)
    assert_same_text(ours, theirs, y_true, y_pred, sample_weight=weight, zero_division=zero_division, digits=digits,
                     target_names=names)
    labels = draw.draw(st.none() | st.lists(st.integers(0, k - 1), min_size=1, max_size=k, unique=True))
    ours, theirs = both(y_true, y_pred, sample_weight=weight, zero_division=zero_division, labels=labels,
                        digits=digits)
    assert_same_text(ours, theirs, y_true, y_pred, sample_weight=weight, zero_division=zero_division, labels=labels,
                     digits=digits)
    ours, theirs = both(y_true, y_pred, sample_weight=weight, zero_division=zero_division, labels=labels,
                        output_dict=True)
    assert ours.keys() == theirs.keys()
    for key in theirs:
        assert_same(tuple(ours[key].values()), tuple(theirs[key].values()))


def test_samples_average_on_a_rounding_tie():
    # The case hypothesis found: the weighted samples precision is 0.375 exactly; scikit-learn's
    # row-order sum gives 0.37499999999999994 ("0.37"), Tally's distinct-row sum 0.375 ("0.38").
    y_true = np.array([[0, 1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1, 0], [1, 0, 0, 1, 0, 1, 0],
                       [1, 0, 0, 1, 0, 1, 1], [0, 0, 0, 1, 0, 1, 0], [1, 0, 0, 0, 1, 0, 0], [1, 0, 0, 0, 1, 1, 0],
                       [1, 0, 1, 0, 0, 0, 0], [0, 1, 1, 1, 1, 0, 0], [1, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
                       [0, 0, 0, 0, 0, 0, 1], [1, 1, 0, 1, 1, 1, 0], [1, 0, 0, 1, 0, 1, 0], [0, 0, 0, 0, 0, 1, 1],
                       [1, 1, 0, 1, 0, 0, 0]])
    y_pred = np.array([[0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 1, 0, 0, 0], [0, 1, 0, 0, 1, 0, 0], [0, 0, 0, 0, 1, 0, 1],
                       [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1, 0], [0, 0, 1, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 0],
                       [0, 0, 0, 0, 0, 0, 0], [0, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0, 0],
                       [0, 0, 1, 0, 0, 0, 0], [1, 0, 1, 0, 1, 0, 0], [0, 0, 0, 1, 0, 0, 0], [0, 1, 0, 0, 1, 0, 0],
                       [1, 0, 0, 0, 1, 0, 1]])
    w = np.array([0.5, 0.5, 0.5, 3, 1, 0, 0, 1, 0, 0.5, 2.5, 1, 0.5, 2.5, 2.5, 3, 1])
    ours, theirs = both(y_true, y_pred, sample_weight=w, zero_division=1)
    assert ours.splitlines()[-1].split()[2] == "0.38" and theirs.splitlines()[-1].split()[2] == "0.37"
    assert_same_text(ours, theirs, y_true, y_pred, sample_weight=w, zero_division=1)
    # Every other line is scikit-learn's, and the allowance is refused anywhere else.
    assert ours.splitlines()[:-1] == theirs.splitlines()[:-1]
    with pytest.raises(AssertionError):
        assert_same_text(ours.replace("0.30", "0.31"), theirs, y_true, y_pred, sample_weight=w, zero_division=1)


@pytest.mark.parametrize("zero_division", ["warn", 0, 1])
def test_binary_and_multiclass_text_and_dict(zero_division):
    rng = np.random.default_rng(4)
    classes = np.array(["ant", "bee", "cat"])
    y_true, y_pred = classes[rng.integers(0, 3, 60)], classes[rng.integers(0, 2, 60)]
    for kw in ({}, {"labels": ["cat", "ant"]}, {"sample_weight": rng.random(60)},
               {"target_names": ["A", "B", "C"]}, {"labels": ["ant", "bee", "cat", "dog"]}):
        ours, theirs = both(y_true, y_pred, zero_division=zero_division, **kw)
        assert ours == theirs, kw
        ours, theirs = both(y_true, y_pred, zero_division=zero_division, output_dict=True, **kw)
        assert ours.keys() == theirs.keys()
    yt, yp = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
    ours, theirs = both(yt, yp, zero_division=zero_division)
    assert ours == theirs


def test_markdown_and_html_forms():
    y_true = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0]])
    y_pred = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0]])
    md = tm.classification_report(y_true, y_pred, output="markdown", zero_division=0, target_names=["b", "c", "d"])
    assert md.splitlines()[0].endswith("| precision | recall | f1-score | support |")
    assert any(line.startswith("| samples avg |") for line in md.splitlines())
    page = tm.classification_report(y_true, y_pred, output="html", zero_division=0, target_names=["<x>", "c", "d"])
    assert page.startswith("<table") and "&lt;x&gt;" in page and page.count("<tr") == 1 + 3 + 4
    with pytest.raises(ValueError, match="Expected `output`"):
        tm.classification_report(y_true, y_pred, output="latex")


def test_tally_report_is_the_same_text():
    rng = np.random.default_rng(8)
    y_true = rng.random((200, 5)) < 0.3
    y_score = rng.random((200, 5))
    acc = tally.Tally(5, label_names=list("vwxyz"))
    for part in np.array_split(np.arange(200), 6):
        acc.update(y_true[part], y_score[part])
    expected = sk.classification_report(y_true, y_score >= 0.5, target_names=list("vwxyz"), zero_division=0)
    assert acc.report(zero_division=0) == expected
    assert tm.classification_report(y_true, y_score >= 0.5, target_names=list("vwxyz"), zero_division=0) == expected


def test_target_names_mismatch():
    y = np.array([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="Number of classes, 2, does not match size of target_names, 3"):
        tm.classification_report(y, y, target_names=["a", "b", "c"])
    with pytest.warns(UserWarning, match="labels size, 1, does not match size of target_names, 2"):
        tm.classification_report(y, y, labels=[1], target_names=["a", "b"])

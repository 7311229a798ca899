"""tally.metrics precision/recall/F against scikit-learn, on generated and hand-made arrays."""

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as sk
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tally
from tally import metrics as tm

from conftest import assert_same, run_recording

AVERAGES = [None, "micro", "macro", "weighted", "samples"]
ZERO_DIVISIONS = ["warn", 0, 1, 0.0, 1.0, np.nan]
NAMES = ["precision_score", "recall_score", "f1_score"]


@st.composite
def multilabel(draw, min_labels=2):
    """y_true, y_pred (0/1) and maybe weights, with empty rows, all-zero labels, ties."""
    n = draw(st.integers(1, 40))
    k = draw(st.integers(min_labels, 8))
    density = draw(st.sampled_from([0.0, 0.05, 0.3, 0.7, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    r = np.random.default_rng(seed)
    y_true = (r.random((n, k)) < density).astype(np.int64)
    y_pred = (r.random((n, k)) < draw(st.sampled_from([0.0, 0.2, 0.5, 0.9]))).astype(np.int64)
    if draw(st.booleans()):
        y_true[:, r.integers(k)] = 0
    if draw(st.booleans()):
        y_pred[r.integers(n)] = 0
    weight = None
    if draw(st.booleans()):
        weight = r.choice([0.0, 0.5, 1.0, 2.5, 3.0], size=n)
    return y_true, y_pred, weight


def compare(name, y_true, y_pred, **kw):
    try:
        theirs, their_warnings = run_recording(getattr(sk, name), y_true, y_pred, **kw)
    except ValueError as exc:
        # Where scikit-learn refuses (all-zero weights, say), Tally refuses too.
        with pytest.raises(ValueError):
            getattr(tm, name)(y_true, y_pred, **kw)
        return exc
    ours, our_warnings = run_recording(getattr(tm, name), y_true, y_pred, **kw)
    assert_same(ours, theirs)
    assert our_warnings == their_warnings, (our_warnings, their_warnings)
    if kw.get("average") is None and isinstance(theirs, tuple) and theirs[3] is not None:
        assert ours[3].dtype == theirs[3].dtype


@given(multilabel(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISIONS),
       st.sampled_from([0.0, 0.5, 1.0, 2.0, np.inf]))
def test_prfs_equals_sklearn(data, average, zero_division, beta):
    y_true, y_pred, weight = data
    compare("precision_recall_fscore_support", y_true, y_pred, average=average, zero_division=zero_division,
            beta=beta, sample_weight=weight)


@given(multilabel(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISIONS), st.sampled_from(NAMES))
def test_scores_equal_sklearn(data, average, zero_division, name):
    y_true, y_pred, weight = data
    compare(name, y_true, y_pred, average=average, zero_division=zero_division, sample_weight=weight)


@given(multilabel(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISIONS), st.data())
def test_labels_subset_and_order(data, average, zero_division, draw):
    y_true, y_pred, weight = data
    k = y_true.shape[1]
    labels = draw.draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=k, unique=True))
    compare("precision_recall_fscore_support", y_true, y_pred, average=average,
            zero_division=zero_division, labels=labels, sample_weight=weight)


@given(multilabel(), st.sampled_from(AVERAGES), st.floats(0, 5))
def test_fbeta_equals_sklearn(data, average, beta):
    y_true, y_pred, weight = data
    compare("fbeta_score", y_true, y_pred, beta=beta, average=average, zero_division=0, sample_weight=weight)


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("zero_division", ZERO_DIVISIONS)
def test_every_average_and_zero_division_on_edge_table(average, zero_division):
    # Label 0 never true, label 1 never predicted, label 2 never either, row 3 empty.
    y_true = np.array([[0, 1, 0, 1], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]])
    y_pred = np.array([[1, 0, 0, 1], [0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]])
    for name in NAMES + ["precision_recall_fscore_support"]:
        compare(name, y_true, y_pred, average=average, zero_division=zero_division)
        compare(name, y_true, y_pred, average=average, zero_division=zero_division,
                sample_weight=[1.0, 2.0, 0.0, 0.5])


def test_hand_checked_sklearn_example():
    # scikit-learn's test_precision_recall_f1_score_multilabel_1
    y_true = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]])
    y_pred = np.array([[0, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0]])
    p, r, f, s = tm.precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    np.testing.assert_allclose(p, [0, 0.5, 1, 0])
    np.testing.assert_allclose(r, [0, 1, 1, 0])
    np.testing.assert_allclose(f, [0, 1 / 1.5, 1, 0])
    np.testing.assert_array_equal(s, [1, 1, 1, 1])
    assert tm.f1_score(y_true, y_pred, average="macro", zero_division=0) == pytest.approx(2.5 / 1.5 * 0.25)
    assert tm.f1_score(y_true, y_pred, average="samples") == pytest.approx(0.5)


@pytest.mark.parametrize("convert", [
    lambda a: a.tolist(),
    lambda a: np.asfortranarray(a),
    lambda a: a[:, ::-1][:, ::-1],           # a non-contiguous view
    lambda a: pd.DataFrame(a),
    lambda a: a.astype(bool),
    lambda a: a.astype(np.float32),
    lambda a: a.astype(np.float16),
    lambda a: a.astype(">i4"),                # byte-swapped
    lambda a: np.ma.asarray(a),
])
def test_accepts_what_sklearn_accepts(convert):
    rng = np.random.default_rng(0)
    y_true = (rng.random((30, 5)) < 0.4).astype(int)
    y_pred = (rng.random((30, 5)) < 0.4).astype(int)
    for average in AVERAGES:
        ours = tm.f1_score(convert(y_true), convert(y_pred), average=average, zero_division=0)
        theirs = sk.f1_score(y_true, y_pred, average=average, zero_division=0)
        assert_same(ours, theirs)


@pytest.mark.parametrize("average", ["binary", None, "micro", "macro", "weighted"])
def test_binary_and_multiclass_targets(average):
    rng = np.random.default_rng(5)
    binary_true, binary_pred = rng.integers(0, 2, 50), rng.integers(0, 2, 50)
    compare("precision_recall_fscore_support", binary_true, binary_pred, average=average, zero_division="warn")
    compare("f1_score", list(binary_true), list(binary_pred), average=average)
    if average == "binary":
        compare("f1_score", binary_true, binary_pred, average=average, pos_label=0)
        return
    classes = np.array(["cat", "dog", "pig"])
    y_true, y_pred = classes[rng.integers(0, 3, 40)], classes[rng.integers(0, 2, 40)]
    compare("precision_recall_fscore_support", y_true, y_pred, average=average)
    compare("precision_recall_fscore_support", y_true, y_pred, average=average, labels=["pig", "cat"])
    compare("precision_recall_fscore_support", y_true, y_pred, average=average,
            sample_weight=rng.random(40))


def test_errors_name_what_was_expected():
    y = np.array([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="average='binary'"):
        tm.f1_score(y, y)
    with pytest.raises(ValueError, match=r"Expected `y_pred` to have shape \(2, 2\) like `y_true`, but got \(2, 3\)"):
        tm.f1_score(y, np.zeros((2, 3)), average="macro")
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        tm.f1_score(y, np.zeros((3, 2)), average="macro")
    with pytest.raises(ValueError, match=r"Expected `y_true` to hold only 0 and 1, but got 2 at row 1, column 0"):
        tm.f1_score(np.array([[1, 0], [2, 0]]), y, average="macro")
    with pytest.raises(ValueError, match=r"Expected `y_pred` to hold only 0 and 1, but got 0.3"):
        tm.f1_score(y, np.array([[0.3, 0], [1, 0]]), average="macro")
    with pytest.raises(ValueError, match="zero_division"):
        tm.f1_score(y, y, average="macro", zero_division=2)
    with pytest.raises(ValueError, match="Expected `average`"):
        tm.f1_score(y, y, average="mean")
    with pytest.raises(ValueError, match="beta"):
        tm.fbeta_score(y, y, beta=-1, average="macro")
    with pytest.raises(ValueError, match=r"All labels must be in \[0, n labels\)"):
        tm.f1_score(y, y, average="macro", labels=[2])
    with pytest.raises(ValueError, match="at least one sample"):
        tm.f1_score(np.zeros((0, 2)), np.zeros((0, 2)), average="macro")
    with pytest.raises(TypeError, match="Expected `y_true` to be array-like, but got None"):
        tm.f1_score(None, y, average="macro")
    with pytest.raises(TypeError, match="hold numbers"):
        tm.f1_score(np.array([[object(), 1], [1, 0]]), y, average="macro")
    with pytest.raises(ValueError, match=r"Expected `sample_weight` to have 2 values"):
        tm.f1_score(y, y, average="macro", sample_weight=[1, 2, 3])
    with pytest.raises(ValueError, match="Samplewise metrics are not available"):
        tm.f1_score([0, 1, 2], [0, 1, 1], average="samples")


def test_the_warning_class_is_tallys():
    y_true = np.array([[0, 1], [0, 1]])
    with pytest.warns(tally.UndefinedMetricWarning, match="Precision is ill-defined"):
        tm.precision_score(y_true, y_true * 0, average=None)

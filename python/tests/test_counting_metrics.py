"""Counting metrics (confusion matrices, accuracy, Hamming, zero-one, Jaccard,
specificity, NPV, MCC) against scikit-learn, warnings included."""

import numpy as np
import pytest
import sklearn.metrics as sk
from hypothesis import event, given, strategies as st

from tally import metrics as tm

from conftest import assert_same, run_recording
from test_prf import AVERAGES, ZERO_DIVISIONS, compare, multilabel


@given(multilabel(), st.booleans(), st.data())
def test_multilabel_confusion_matrix(data, samplewise, draw):
    y_true, y_pred, weight = data
    k = y_true.shape[1]
    labels = draw.draw(st.none() | st.lists(st.integers(0, k - 1), min_size=1, max_size=k, unique=True))
    compare("multilabel_confusion_matrix", y_true, y_pred, sample_weight=weight, labels=labels,
            samplewise=samplewise)
    if weight is None:
        ours = tm.multilabel_confusion_matrix(y_true, y_pred, labels=labels, samplewise=samplewise)
        theirs = sk.multilabel_confusion_matrix(y_true, y_pred, labels=labels, samplewise=samplewise)
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)


@given(multilabel(), st.booleans())
def test_accuracy_hamming_zero_one(data, normalize):
    y_true, y_pred, weight = data
    compare("accuracy_score", y_true, y_pred, sample_weight=weight, normalize=normalize)
    compare("zero_one_loss", y_true, y_pred, sample_weight=weight, normalize=normalize)
    compare("hamming_loss", y_true, y_pred, sample_weight=weight)
    assert tm.subset_accuracy is tm.accuracy_score


@given(multilabel(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISIONS), st.data())
def test_jaccard(data, average, zero_division, draw):
    y_true, y_pred, weight = data
    k = y_true.shape[1]
    labels = draw.draw(st.none() | st.lists(st.integers(0, k - 1), min_size=1, max_size=k, unique=True))
    compare("jaccard_score", y_true, y_pred, average=average, zero_division=zero_division, sample_weight=weight,
            labels=labels)


NEGATIVE_REFERENCE = {"specificity_score": sk.recall_score, "negative_predictive_value_score": sk.precision_score}


def _negative(name, y_true, y_pred, **kw):
    """Specificity is recall of the negative class; NPV its precision. Returns which
    comparison ran ("refused", "compared" or "compared, weight-0 rows dropped")."""
    reference = NEGATIVE_REFERENCE[name]
    try:
        theirs, their_warnings = run_recording(reference, 1 - y_true, 1 - y_pred, **kw)
    except ValueError:
        with pytest.raises(ValueError):
            getattr(tm, name)(y_true, y_pred, **kw)
        return "refused"
    ours, our_warnings = run_recording(getattr(tm, name), y_true, y_pred, **kw)
    assert_same(ours, theirs)
    how = "compared"
    weight = kw.get("sample_weight")
    if kw.get("average") == "samples" and weight is not None and (np.asarray(weight) == 0).any():
        # Documented deviation, in the warnings only: the row histogram files a weight-0 row
        # as (tp, fp, fn) = (0, 0, 0), whose negative-class score is defined, where
        # scikit-learn (scaling the row by 0) finds 0/0 and warns. A weight-0 row adds
        # nothing to the weighted mean, so scikit-learn without those rows gives the same
        # value, and its warnings are Tally's.
        keep = np.asarray(weight) > 0
        theirs_kept, their_warnings = run_recording(reference, 1 - y_true[keep], 1 - y_pred[keep],
                                                    **(kw | {"sample_weight": np.asarray(weight)[keep]}))
        assert_same(theirs_kept, theirs)
        how = "compared, weight-0 rows dropped"
    # Same warnings, named for the negative class.
    rename = {"specificity_score": ("Recall is", "Specificity is", "no true ", "no negative "),
              "negative_predictive_value_score": ("Precision is", "Negative predictive value is",
                                                  "no predicted ", "no predicted negative ")}[name]
    expected = [(c, m.replace(rename[0], rename[1]).replace(rename[2], rename[3])) for c, m in their_warnings]
    assert our_warnings == expected, (our_warnings, expected)
    return how


@given(multilabel(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISIONS),
       st.sampled_from(["specificity_score", "negative_predictive_value_score"]))
def test_specificity_and_npv(data, average, zero_division, name):
    y_true, y_pred, weight = data
    how = _negative(name, y_true, y_pred, average=average, zero_division=zero_division, sample_weight=weight)
    event(f"{average}, {'weighted' if weight is not None else 'unweighted'}: {how}")


# Rows: ordinary, all labels positive (no negative), all predicted positive (no predicted
# negative), empty, and the same kinds again with weight 0 in the first weighting.
SAMPLES_TRUE = np.array([[1, 0, 1, 0], [1, 1, 1, 1], [0, 1, 0, 0], [0, 0, 0, 0], [0, 1, 1, 0],
                         [1, 1, 1, 1], [1, 0, 0, 1], [0, 0, 0, 0], [1, 0, 1, 1]])
SAMPLES_PRED = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0], [0, 1, 0, 0],
                         [1, 0, 1, 1], [1, 1, 1, 1], [1, 0, 0, 0], [1, 0, 1, 1]])


@pytest.mark.parametrize("zero_division", ZERO_DIVISIONS)
@pytest.mark.parametrize("name", ["specificity_score", "negative_predictive_value_score"])
@pytest.mark.parametrize("weight", [[2.5, 1, 0.5, 3, 1, 0, 0, 0, 2],    # weight-0 rows of every kind
                                    [2.5, 1, 0.5, 3, 1, 1, 2, 0.5, 2],  # none
                                    [0, 0, 0, 0, 0, 0, 0, 0, 1.5]])     # one row left
def test_weighted_samples_specificity_and_npv(name, zero_division, weight):
    """The case the hypothesis test above met only now and then, every time: weighted
    average="samples", with and without weight-0 rows, compared with scikit-learn."""
    how = _negative(name, SAMPLES_TRUE, SAMPLES_PRED, average="samples", zero_division=zero_division,
                    sample_weight=np.array(weight))
    assert how == ("compared" if min(weight) > 0 else "compared, weight-0 rows dropped")


@given(multilabel())
def test_label_accuracy_and_matthews_per_label(data):
    y_true, y_pred, weight = data
    try:
        expected_acc = [sk.accuracy_score(y_true[:, j], y_pred[:, j], sample_weight=weight)
                        for j in range(y_true.shape[1])]
    except ValueError:
        with pytest.raises(ValueError):
            tm.label_accuracy_score(y_true, y_pred, sample_weight=weight)
        return
    assert_same(tm.label_accuracy_score(y_true, y_pred, sample_weight=weight), np.array(expected_acc))
    assert_same(tm.label_accuracy_score(y_true, y_pred, sample_weight=weight, average="macro"),
                np.mean(expected_acc))
    expected_mcc = [sk.matthews_corrcoef(y_true[:, j], y_pred[:, j], sample_weight=weight)
                    for j in range(y_true.shape[1])]
    assert_same(tm.matthews_corrcoef_per_label(y_true, y_pred, sample_weight=weight), np.array(expected_mcc))
    assert_same(tm.matthews_corrcoef_per_label(y_true, y_pred, sample_weight=weight, labels=[1, 0]),
                np.array(expected_mcc)[[1, 0]])


@pytest.mark.parametrize("average", ["binary", None, "micro", "macro", "weighted"])
def test_binary_and_multiclass_targets(average):
    rng = np.random.default_rng(3)
    yt, yp = rng.integers(0, 2, 60), rng.integers(0, 2, 60)
    compare("jaccard_score", yt, yp, average=average)
    classes = np.array(["a", "b", "c"])
    ct, cp = classes[rng.integers(0, 3, 50)], classes[rng.integers(0, 3, 50)]
    for fn in ("accuracy_score", "hamming_loss", "zero_one_loss"):
        compare(fn, yt, yp)
        compare(fn, ct, cp, sample_weight=rng.random(50))
    compare("multilabel_confusion_matrix", ct, cp, labels=["c", "a"])
    if average != "binary":
        compare("jaccard_score", ct, cp, average=average, labels=["b", "c"])


def test_scikit_learn_examples():
    # From scikit-learn's jaccard_score docstring.
    y_true = np.array([[0, 1, 1], [1, 1, 0]])
    y_pred = np.array([[1, 1, 1], [1, 0, 0]])
    assert tm.jaccard_score(y_true, y_pred, average="samples") == pytest.approx(0.5833333333333333)
    assert tm.jaccard_score(y_true, y_pred, average="macro") == pytest.approx(2 / 3)
    np.testing.assert_allclose(tm.jaccard_score(y_true, y_pred, average=None), [0.5, 0.5, 1.0])
    # test_multilabel_hamming_loss / test_multilabel_zero_one_loss_subset
    y1 = np.array([[0, 1, 1], [1, 0, 1]])
    y2 = np.array([[0, 0, 1], [1, 0, 1]])
    w = np.array([1, 3])
    assert tm.hamming_loss(y1, y2) == 1 / 6
    assert tm.hamming_loss(y1, y2, sample_weight=w) == 1.0 / 12
    assert tm.zero_one_loss(y1, y2) == 0.5
    assert tm.accuracy_score(y1, y2, normalize=False) == 1


def test_errors():
    y = np.array([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="Samplewise metrics are not available"):
        tm.multilabel_confusion_matrix([0, 1, 1], [0, 1, 0], samplewise=True)
    with pytest.raises(ValueError, match=r"All labels must be in \[0, n labels\)"):
        tm.jaccard_score(y, y, average="macro", labels=[3])
    with pytest.raises(ValueError, match="average='binary'"):
        tm.jaccard_score(y, y)
    with pytest.raises(ValueError, match="Expected `average` to be None or 'macro'"):
        tm.matthews_corrcoef_per_label(y, y, average="micro")
    with pytest.raises(ValueError, match=r"Expected `y_pred` to hold only 0 and 1, but got 2"):
        tm.accuracy_score(y, np.array([[2, 0], [0, 1]]))


@given(multilabel(), st.sampled_from(AVERAGES), st.lists(st.integers(0, 40), max_size=3))
def test_tally_methods_stream_to_the_one_shot_values(data, average, cuts):
    import tally

    y_true, y_pred, weight = data
    if weight is not None and not weight.any():
        return
    acc = tally.Tally(y_true.shape[1])
    edges = [0] + sorted(c for c in cuts if c <= len(y_true)) + [len(y_true)]
    for a, b in zip(edges, edges[1:]):
        acc.update(y_true[a:b], y_pred[a:b].astype(np.float64), None if weight is None else weight[a:b])
    pairs = [
        (lambda: acc.jaccard(average, zero_division=0),
         lambda: tm.jaccard_score(y_true, y_pred, average=average, zero_division=0, sample_weight=weight)),
        (lambda: acc.specificity(average, zero_division=1),
         lambda: tm.specificity_score(y_true, y_pred, average=average, zero_division=1, sample_weight=weight)),
        (lambda: acc.negative_predictive_value(average, zero_division=0),
         lambda: tm.negative_predictive_value_score(y_true, y_pred, average=average, zero_division=0,
                                                    sample_weight=weight)),
        (acc.subset_accuracy, lambda: sk.accuracy_score(y_true, y_pred, sample_weight=weight)),
        (acc.hamming_loss, lambda: sk.hamming_loss(y_true, y_pred, sample_weight=weight)),
        (acc.zero_one_loss, lambda: sk.zero_one_loss(y_true, y_pred, sample_weight=weight)),
        (acc.label_accuracy, lambda: tm.label_accuracy_score(y_true, y_pred, sample_weight=weight)),
        (acc.matthews_corrcoef, lambda: tm.matthews_corrcoef_per_label(y_true, y_pred, sample_weight=weight)),
    ]
    for ours, theirs in pairs:
        assert_same(ours(), theirs())

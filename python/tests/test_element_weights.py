"""2-D sample weights (one weight per element, 0 = missing label) on `tally.Tally`.

The extension's meaning (README "Metrics", 2-D sample weights): label j's
counts are scikit-learn's on the rows where W[:, j] != 0, weighted by W[:, j];
micro pools the unmasked elements; a row's own counts (average="samples",
subset accuracy) are over its unmasked labels and the row weighs its common
nonzero weight. Each number is checked against scikit-learn computed that way,
and a 2-D weight that repeats a 1-D weight must give the 1-D result.
"""

import pickle
import warnings

import numpy as np
import pytest
import sklearn.metrics as sk
from hypothesis import given, strategies as st

import tally

from conftest import run_recording


@st.composite
def masked(draw, *, row_weights=True):
    """(y_true, y_score, W) with W = mask · row weight: the case scikit-learn can
    be asked about directly (masked cells zeroed, rows weighted)."""
    n = draw(st.integers(1, 25))
    k = draw(st.integers(2, 6))  # one column is "binary" to scikit-learn
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    y_true = (rng.random((n, k)) < draw(st.sampled_from([0.1, 0.4, 0.8]))).astype(np.int64)
    # Few distinct scores: ties at the threshold and constant columns happen.
    y_score = rng.choice(np.array([0.1, 0.5, 0.7, 0.9]), size=(n, k))
    mask = rng.random((n, k)) < draw(st.sampled_from([0.3, 0.7, 1.0]))
    if not mask.any():
        mask[0, 0] = True
    rows = rng.integers(1, 4, size=n).astype(np.float64) if row_weights and draw(st.booleans()) else np.ones(n)
    return y_true, y_score, mask * rows[:, None]


def _sk_label(fn, y_true, y_pred, W, j, **kw):
    m = W[:, j] != 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(y_true[m, j], y_pred[m, j], sample_weight=W[m, j], **kw)


def _row_reference(y_true, y_pred, W):
    """The arrays scikit-learn sees for the row-wise metrics: masked cells set to
    (0, 0), which adds nothing to a row's tp, fp or fn, and the row weights."""
    mask = W != 0
    row_weight = np.where(mask.any(axis=1), W.max(axis=1), 0.0)
    return y_true * mask, y_pred * mask, row_weight


@given(masked())
def test_per_label_metrics_match_sklearn_on_unmasked_rows(data):
    y_true, y_score, W = data
    y_pred = (y_score >= 0.5).astype(np.int64)
    k = y_true.shape[1]
    acc = tally.Tally(k).update(y_true, y_score, sample_weight=W)
    assert acc.weighted

    # multilabel_confusion_matrix per label: [[tn, fp], [fn, tp]] on the unmasked rows.
    cm = acc.confusion_matrix()
    for j in range(k):
        m = W[:, j] != 0
        if m.any():
            theirs = sk.confusion_matrix(y_true[m, j], y_pred[m, j], sample_weight=W[m, j], labels=[0, 1])
        else:
            theirs = np.zeros((2, 2))
        np.testing.assert_allclose(cm[j], theirs, rtol=1e-12, atol=1e-12)

    for zd in (0.0, 1.0):
        ours = acc.precision_recall_fscore_support(zero_division=zd, warn_for=())
        for j in range(k):
            m = W[:, j] != 0
            if not m.any():
                assert ours[0][j] == zd and ours[1][j] == zd and ours[3][j] == 0
                continue
            p, r, f, _ = _sk_label(sk.precision_recall_fscore_support, y_true, y_pred, W, j,
                                   average="binary", zero_division=zd)
            np.testing.assert_allclose([ours[0][j], ours[1][j], ours[2][j]], [p, r, f], rtol=1e-12)
            assert ours[3][j] == pytest.approx((W[m, j] * y_true[m, j]).sum())
            np.testing.assert_allclose(acc.jaccard(zero_division=zd)[j],
                                       _sk_label(sk.jaccard_score, y_true, y_pred, W, j, zero_division=zd))
            np.testing.assert_allclose(acc.specificity(zero_division=zd)[j],
                                       _sk_label(sk.recall_score, 1 - y_true, 1 - y_pred, W, j, zero_division=zd))
            np.testing.assert_allclose(
                acc.negative_predictive_value(zero_division=zd)[j],
                _sk_label(sk.precision_score, 1 - y_true, 1 - y_pred, W, j, zero_division=zd))
            np.testing.assert_allclose(acc.label_accuracy()[j], _sk_label(sk.accuracy_score, y_true, y_pred, W, j))
            np.testing.assert_allclose(acc.matthews_corrcoef()[j],
                                       _sk_label(sk.matthews_corrcoef, y_true, y_pred, W, j), atol=1e-12)

        # micro: scikit-learn on the unmasked elements pooled.
        M = W != 0
        p, r, f, _ = sk.precision_recall_fscore_support(y_true[M], y_pred[M], sample_weight=W[M],
                                                         average="binary", zero_division=zd)
        micro = acc.precision_recall_fscore_support(average="micro", zero_division=zd, warn_for=())
        np.testing.assert_allclose(micro[:3], (p, r, f), rtol=1e-12)
        assert acc.jaccard("micro", zero_division=zd) == pytest.approx(
            sk.jaccard_score(y_true[M], y_pred[M], sample_weight=W[M], zero_division=zd), rel=1e-12)
        # macro / weighted: plain and support-weighted means of the per-label scores.
        per_label = acc.precision_recall_fscore_support(zero_division=zd, warn_for=())
        macro = acc.precision_recall_fscore_support(average="macro", zero_division=zd, warn_for=())
        np.testing.assert_allclose(macro[:3], [v.mean() for v in per_label[:3]], rtol=1e-12)
        support = per_label[3]
        if support.sum() > 0:
            weighted = acc.precision_recall_fscore_support(average="weighted", zero_division=zd, warn_for=())
            np.testing.assert_allclose(weighted[:3], [np.average(v, weights=support) for v in per_label[:3]],
                                       rtol=1e-12)

    assert acc.hamming_loss() == pytest.approx(sk.hamming_loss(y_true[M], y_pred[M], sample_weight=W[M]), rel=1e-12)


@given(masked())
def test_row_wise_metrics_match_sklearn_with_masked_cells_zeroed(data):
    y_true, y_score, W = data
    y_pred = (y_score >= 0.5).astype(np.int64)
    acc = tally.Tally(y_true.shape[1]).update(y_true, y_score, sample_weight=W)
    t, p, row_weight = _row_reference(y_true, y_pred, W)
    if not row_weight.any():
        return
    assert acc.subset_accuracy() == pytest.approx(sk.accuracy_score(t, p, sample_weight=row_weight), rel=1e-12)
    assert acc.subset_accuracy(normalize=False) == pytest.approx(
        sk.accuracy_score(t, p, sample_weight=row_weight, normalize=False), rel=1e-12)
    assert acc.zero_one_loss() == pytest.approx(sk.zero_one_loss(t, p, sample_weight=row_weight), rel=1e-12, abs=1e-12)
    for zd in (0.0, 1.0):
        theirs = sk.precision_recall_fscore_support(t, p, sample_weight=row_weight, average="samples", zero_division=zd)
        ours = acc.precision_recall_fscore_support(average="samples", zero_division=zd, warn_for=())
        np.testing.assert_allclose(ours[:3], theirs[:3], rtol=1e-12)
        assert acc.jaccard("samples", zero_division=zd) == pytest.approx(
            sk.jaccard_score(t, p, sample_weight=row_weight, average="samples", zero_division=zd), rel=1e-12)


@given(masked(row_weights=False), st.sampled_from([None, "micro", "macro", "weighted", "samples"]))
def test_broadcast_of_a_1d_weight_equals_the_1d_result(data, average):
    y_true, y_score, _ = data
    n, k = y_true.shape
    w = np.random.default_rng(n * 7 + k).choice([0.0, 0.25, 1.0, 3.0, 0.1], size=n)
    one = tally.Tally(k).update(y_true, y_score, sample_weight=w)
    two = tally.Tally(k).update(y_true, y_score, sample_weight=np.repeat(w[:, None], k, axis=1))
    kw = dict(average=average, zero_division="warn")
    a, a_warn = run_recording(one.precision_recall_fscore_support, **kw)
    b, b_warn = run_recording(two.precision_recall_fscore_support, **kw)
    assert a_warn == b_warn
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)  # to the bit
    np.testing.assert_array_equal(one.confusion_matrix(), two.confusion_matrix())
    for name in ("jaccard", "specificity", "negative_predictive_value"):
        x, xw = run_recording(getattr(one, name), **kw)
        y, yw = run_recording(getattr(two, name), **kw)
        np.testing.assert_array_equal(x, y)
        assert xw == yw
    if average in (None, "macro"):
        np.testing.assert_array_equal(one.label_accuracy(average), two.label_accuracy(average))
        np.testing.assert_array_equal(one.matthews_corrcoef(average), two.matthews_corrcoef(average))
    np.testing.assert_array_equal(one.subset_accuracy(), two.subset_accuracy())
    # Hamming divides by the label totals' sum instead of rows · labels · mean weight: equal up to rounding.
    np.testing.assert_allclose(one.hamming_loss(), two.hamming_loss(), rtol=1e-14, equal_nan=True)
    assert one.report() == two.report()


def test_missing_labels_may_hold_anything_where_masked():
    y_true = np.array([[1, -1, 0], [0, 1, -1], [1, 1, 1]])
    y_score = np.array([[0.9, np.nan, 0.2], [0.1, 0.8, 0.3], [0.7, 0.2, np.nan]])
    W = (y_true != -1) & ~np.isnan(y_score)
    acc = tally.Tally(3).update(y_true, y_score, sample_weight=W.astype(float))
    np.testing.assert_array_equal(acc.confusion_matrix()[:, 1, 1], [2, 1, 0])   # tp per label
    np.testing.assert_array_equal(acc.support(), [2, 2, 0])
    np.testing.assert_array_equal(acc.label_accuracy(), [1.0, 0.5, 1.0])
    assert acc.n_samples == 3


def test_bad_2d_weights_raise_and_change_nothing():
    acc = tally.Tally(3).update([[1, 0, 1]], [[0.9, 0.2, 0.4]])
    before = acc.to_bytes()
    y_true = np.array([[1, 0, 1], [0, 1, 1]])
    y_score = np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.7]])
    with pytest.raises(ValueError, match=r"Expected a 2-D `sample_weight` to have shape \(2, 3\) like `y_true`, but got \(2, 2\)"):
        acc.update(y_true, y_score, sample_weight=np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"Expected `sample_weight` to hold finite numbers, but got inf at row 1, column 2"):
        acc.update(y_true, y_score, sample_weight=np.array([[1, 1, 1], [1, 1, np.inf]]))
    with pytest.raises(ValueError, match=r"Expected `y_true` to hold only 0 and 1 where `sample_weight` is not 0, "
                                         r"but got -1 at row 1, column 0"):
        acc.update(np.array([[1, 0, 1], [-1, 1, 1]]), y_score, sample_weight=np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Expected `y_score` to hold numbers where `sample_weight` is not 0, "
                                         r"but got nan at row 0, column 1"):
        acc.update(y_true, np.array([[0.9, np.nan, 0.4], [0.1, 0.8, 0.7]]), sample_weight=np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Expected `sample_weight` to be 1-D \(one weight per row\) or 2-D "
                                         r"\(one per label\), but got 3-D"):
        acc.update(y_true, y_score, sample_weight=np.ones((2, 3, 1)))
    assert acc.to_bytes() == before


def test_row_wise_specificity_refused_once_a_row_is_partly_masked():
    acc = tally.Tally(2).update([[1, 0], [0, 1]], [[0.9, 0.2], [0.1, 0.8]], sample_weight=[[1.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="Expected no partly masked rows for specificity with average='samples'"):
        acc.specificity("samples")
    with pytest.raises(ValueError, match="negative predictive value"):
        acc.negative_predictive_value("samples")
    np.testing.assert_array_equal(acc.specificity(zero_division=1.0), [1.0, 1.0])  # label 1: no negative left
    # Whole rows masked (or none) keep it defined: their tn is labels − tp − fp − fn.
    whole = tally.Tally(2).update([[1, 0], [0, 1]], [[0.9, 0.2], [0.1, 0.8]], sample_weight=[[0.0, 0.0], [1.0, 1.0]])
    assert whole.specificity("samples") == 1.0


@given(masked(), st.integers(1, 5))
def test_streaming_merge_and_pickle_equal_one_shot(data, parts):
    y_true, y_score, W = data
    n, k = y_true.shape
    whole = tally.Tally(k).update(y_true, y_score, sample_weight=W)
    cuts = np.linspace(0, n, parts + 1).astype(int)
    streamed = tally.Tally(k)
    shards = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        streamed.update(y_true[a:b], y_score[a:b], sample_weight=W[a:b])
        shards.append(pickle.loads(pickle.dumps(tally.Tally(k).update(y_true[a:b], y_score[a:b], sample_weight=W[a:b]))))
    merged = tally.Tally(k)
    for s in reversed(shards):
        merged.merge(s)
    for acc in (streamed, merged, tally.Tally(k).load_bytes(whole.to_bytes())):
        np.testing.assert_allclose(acc.confusion_matrix(), whole.confusion_matrix(), rtol=1e-12)
        for avg in (None, "micro", "macro", "samples"):
            np.testing.assert_allclose(acc.f1(avg, zero_division=0), whole.f1(avg, zero_division=0), rtol=1e-12)
        assert acc.subset_accuracy() == pytest.approx(whole.subset_accuracy(), rel=1e-12)
        assert acc.hamming_loss() == pytest.approx(whole.hamming_loss(), rel=1e-12)


def test_mixing_unweighted_1d_and_2d_batches():
    rng = np.random.default_rng(5)
    y_true = (rng.random((30, 4)) < 0.4).astype(int)
    y_score = rng.random((30, 4))
    w = rng.integers(1, 3, size=30).astype(float)
    W = np.ones((30, 4))
    W[20:] = w[20:, None] * (rng.random((10, 4)) < 0.6)
    mixed = (tally.Tally(4).update(y_true[:10], y_score[:10])
             .update(y_true[10:20], y_score[10:20], sample_weight=w[10:20])
             .update(y_true[20:], y_score[20:], sample_weight=W[20:]))
    W[10:20] = w[10:20, None]
    one_call = tally.Tally(4).update(y_true, y_score, sample_weight=W)
    np.testing.assert_array_equal(mixed.confusion_matrix(), one_call.confusion_matrix())
    assert mixed.hamming_loss() == one_call.hamming_loss()
    # Merging a 2-D state into a plain one (and the other way) gives the same counts.
    plain = tally.Tally(4).update(y_true[:20], y_score[:20], sample_weight=np.r_[np.ones(10), w[10:20]])
    masked_part = tally.Tally(4).update(y_true[20:], y_score[20:], sample_weight=W[20:])
    np.testing.assert_array_equal((plain + masked_part).confusion_matrix(), one_call.confusion_matrix())
    np.testing.assert_array_equal((masked_part + plain).confusion_matrix(), one_call.confusion_matrix())

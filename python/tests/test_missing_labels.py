"""Missing labels (README "Missing labels"): entries of `y_true` marked unknown by
`ignore_value` (a number, or nan) are scored as 2-D sample weights of 0.

Every reference is scikit-learn, asked label by label on the rows where the label
is known (a loop in this file), or on arrays built so that scikit-learn's own
arithmetic does the rest:
- per-label and micro/macro/weighted precision, recall, F and Jaccard: each known
  cell of label j becomes a row of its own holding that cell in column j and 0/0
  elsewhere; a 0/0 cell adds only a true negative, which these scores never read;
- `average="samples"` and subset accuracy: the rows with a known label, unknown
  cells set to 0/0 (which adds nothing to a row's tp, fp or fn);
- ranking metrics: scikit-learn on each row restricted to its known labels,
  averaged over the rows that have one.
Hypothesis draws masks with labels that have no known row, rows that have no known
label, and no unknown entry at all (which must equal the unmasked call exactly).
"""

import pickle
import warnings

import numpy as np
import pytest
import sklearn.metrics as sk
from hypothesis import given, settings, strategies as st

import tally
from tally import metrics as M

from conftest import assert_same

IGNORE = -1


@st.composite
def masked(draw, *, graded=False):
    """(y_true with -1 at unknown entries, y_score, known mask)."""
    n = draw(st.integers(1, 20))
    k = draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y = (rng.random((n, k)) < draw(st.sampled_from([0.2, 0.5, 0.8]))).astype(np.int64)
    if graded:
        y = y * rng.integers(1, 4, size=(n, k))
    # Few distinct scores: ties (within rows and labels) happen.
    score = rng.choice(np.array([0.1, 0.3, 0.5, 0.7, 0.9]), size=(n, k))
    known = rng.random((n, k)) < draw(st.sampled_from([0.4, 0.8, 1.0]))
    shape = draw(st.sampled_from(["any", "dead label", "dead row", "all known"]))
    if shape == "dead label":
        known[:, draw(st.integers(0, k - 1))] = False
    elif shape == "dead row":
        known[draw(st.integers(0, n - 1))] = False
    elif shape == "all known":
        known[:] = True
    if not known.any():
        known[0, 0] = True
    return np.where(known, y, IGNORE), score, known


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def stacked_cells(y_true, y_pred, known):
    """One row per known cell, that cell in its column and 0/0 elsewhere."""
    rows, cols = np.nonzero(known)
    t = np.zeros((rows.size, known.shape[1]), np.int64)
    p = np.zeros_like(t)
    t[np.arange(rows.size), cols] = y_true[rows, cols]
    p[np.arange(rows.size), cols] = y_pred[rows, cols]
    return t, p


def known_rows(y_true, y_pred, known):
    """The rows with a known label, unknown cells set to 0/0."""
    live = known.any(axis=1)
    return np.where(known, y_true, 0)[live], np.where(known, y_pred, 0)[live]


# -- counting metrics ------------------------------------------------------------------------

@settings(max_examples=40)
@given(masked(), st.sampled_from([0, 1, np.nan]))
def test_prfs_per_label_loop_and_every_average_match_sklearn(data, zd):
    y_true, score, known = data
    y_pred = (score >= 0.5).astype(np.int64)
    # average=None, label by label on the known rows (a label without one: zero_division).
    p, r, f, s = quiet(M.precision_recall_fscore_support, y_true, y_pred, zero_division=zd, ignore_value=IGNORE)
    assert s.dtype == np.int64
    for j in range(y_true.shape[1]):
        m = known[:, j]
        if m.any():
            expected = quiet(sk.precision_recall_fscore_support, y_true[m, j], y_pred[m, j], average="binary",
                             zero_division=zd)
            assert_same((p[j], r[j], f[j]), expected[:3])
        else:
            assert_same((p[j], r[j], f[j]), (zd, zd, zd))
        assert s[j] == y_true[m, j].sum()
    t, q = stacked_cells(y_true, y_pred, known)
    for average in ("micro", "macro", "weighted"):
        ours = quiet(M.precision_recall_fscore_support, y_true, y_pred, average=average, zero_division=zd,
                     ignore_value=IGNORE)
        assert_same(ours, quiet(sk.precision_recall_fscore_support, t, q, average=average, zero_division=zd))
        assert_same(quiet(M.jaccard_score, y_true, y_pred, average=average, zero_division=zd if zd == zd else 0,
                          ignore_value=IGNORE),
                    quiet(sk.jaccard_score, t, q, average=average, zero_division=zd if zd == zd else 0))
    # Samples: each row over its known labels; a row with none is skipped.
    t, q = known_rows(y_true, y_pred, known)
    ours = quiet(M.precision_recall_fscore_support, y_true, y_pred, average="samples", zero_division=zd,
                 ignore_value=IGNORE)
    assert_same(ours, quiet(sk.precision_recall_fscore_support, t, q, average="samples", zero_division=zd))
    assert_same(M.accuracy_score(y_true, y_pred, ignore_value=IGNORE), sk.accuracy_score(t, q))


@settings(max_examples=30)
@given(masked())
def test_true_negative_metrics_label_by_label(data):
    y_true, score, known = data
    y_pred = (score >= 0.5).astype(np.int64)
    acc = M.label_accuracy_score(y_true, y_pred, ignore_value=IGNORE)
    spec = quiet(M.specificity_score, y_true, y_pred, zero_division=0, ignore_value=IGNORE)
    mcc = M.matthews_corrcoef_per_label(y_true, y_pred, ignore_value=IGNORE)
    mcm = M.multilabel_confusion_matrix(y_true, y_pred, ignore_value=IGNORE)
    for j in range(y_true.shape[1]):
        m = known[:, j]
        if not m.any():  # no known row: an all-zero matrix
            assert_same(mcm[j], np.zeros((2, 2)))
            continue
        assert_same(mcm[j], sk.confusion_matrix(y_true[m, j], y_pred[m, j], labels=[0, 1]))
        assert_same(acc[j], sk.accuracy_score(y_true[m, j], y_pred[m, j]))
        assert_same(spec[j], quiet(sk.recall_score, 1 - y_true[m, j], 1 - y_pred[m, j], zero_division=0))
        assert_same(mcc[j], quiet(sk.matthews_corrcoef, y_true[m, j], y_pred[m, j]))
    assert_same(M.hamming_loss(y_true, y_pred, ignore_value=IGNORE),
                sk.hamming_loss(y_true[known], y_pred[known]))


@settings(max_examples=25)
@given(masked())
def test_nothing_unknown_equals_the_unmasked_call_exactly(data):
    y_true, score, known = data
    y_true = np.where(known, y_true, 0)
    y_pred = (score >= 0.5).astype(np.int64)
    for average in (None, "micro", "macro", "weighted", "samples"):
        a = quiet(M.precision_recall_fscore_support, y_true, y_pred, average=average, ignore_value=IGNORE)
        b = quiet(M.precision_recall_fscore_support, y_true, y_pred, average=average)
        assert_same(a, b, tol=0)
        assert_same(quiet(M.roc_auc_score, y_true, score, average=average, ignore_value=np.nan),
                    quiet(M.roc_auc_score, y_true, score, average=average), tol=0)
    assert M.coverage_error(y_true, score, ignore_value=IGNORE) == M.coverage_error(y_true, score)
    assert quiet(M.classification_report, y_true, y_pred, ignore_value=IGNORE) == quiet(
        M.classification_report, y_true, y_pred)


def test_nan_marks_unknown_entries_and_a_float_ignore_value_works():
    y = np.array([[1.0, np.nan, 0.0], [0.0, 1.0, np.nan], [1.0, 0.0, 1.0]])
    p = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0]])
    # Label 0: rows 0-2 (tp 2, fp 1); label 1: rows 1-2 (tp 1); label 2: rows 0, 2 (fp 1, fn 1).
    assert_same(quiet(M.precision_score, y, p, average=None, ignore_value=np.nan), np.array([2 / 3, 1.0, 0.0]))
    assert_same(quiet(M.recall_score, y, p, average=None, ignore_value=np.nan), np.array([1.0, 1.0, 0.0]))
    # -1 marks; nan in y_true is still unknown once an ignore_value is given.
    y2 = np.where(np.isnan(y), -1.0, y)
    assert_same(quiet(M.f1_score, y2, p, average=None, ignore_value=-1.0),
                quiet(M.f1_score, y, p, average=None, ignore_value=np.nan))


def test_samples_average_skips_rows_with_no_known_label():
    # Row 1 has no known label: it is left out, not counted as a row of zero_division.
    y = np.array([[1, 0], [-1, -1], [1, 1]])
    p = np.array([[1, 1], [1, 1], [0, 1]])
    # Row 0: precision 1/2, row 2: precision 1/1 -> mean 0.75 over two rows.
    assert M.precision_score(y, p, average="samples", ignore_value=-1) == 0.75
    assert M.accuracy_score(y, p, ignore_value=-1) == 0.0
    assert M.accuracy_score(y, p, ignore_value=-1, normalize=False) == 0.0


def test_two_d_sample_weights_in_one_shot_functions():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    p = np.array([[1, 1], [0, 1], [0, 1], [1, 0]])
    s = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.5, 0.3]])
    w = np.array([[2.0, 0.0], [1.0, 1.0], [1.0, 3.0], [0.5, 1.0]])
    # Label 0: tp 2 (row 0), fn 1 (row 2), fp 0.5 (row 3); label 1: tp 1 + 3, row 0 unknown.
    p_, r_, _, s_ = M.precision_recall_fscore_support(y, p, sample_weight=w)
    assert_same((p_, r_, s_), (np.array([2 / 2.5, 1.0]), np.array([2 / 3, 1.0]), np.array([3.0, 4.0])))
    for j in range(2):
        m = w[:, j] != 0
        assert_same(M.roc_auc_score(y, s, sample_weight=w, average=None)[j],
                    sk.roc_auc_score(y[m, j], s[m, j], sample_weight=w[m, j]))
        assert_same(M.average_precision_score(y, s, sample_weight=w, average=None)[j],
                    sk.average_precision_score(y[m, j], s[m, j], sample_weight=w[m, j]))
    # Rows weigh the common value of their nonzero weights (row 2: 1 and 3 differ: their mean, 2).
    rows = [sk.label_ranking_loss(y[[i]][:, w[i] != 0], s[[i]][:, w[i] != 0]) if (w[i] != 0).sum() > 1 else 0.0
            for i in range(4)]
    assert_same(M.label_ranking_loss(y, s, sample_weight=w), np.average(rows, weights=[2.0, 1.0, 2.0, 0.75]))


# -- score store, curves and the binned histograms -----------------------------------------

def _per_label_scores(fn, y_true, score, known):
    out = []
    for j in range(y_true.shape[1]):
        m = known[:, j]
        if m.any():
            out.append(quiet(fn, y_true[m, j], score[m, j]))
        else:
            out.append(np.nan if fn is sk.roc_auc_score else 0.0)
    return np.array(out)


@settings(max_examples=40)
@given(masked())
def test_roc_auc_and_average_precision_match_sklearn_on_known_rows(data):
    y_true, score, known = data
    for fn, ours_fn in ((sk.roc_auc_score, M.roc_auc_score), (sk.average_precision_score, M.average_precision_score)):
        per_label = _per_label_scores(fn, y_true, score, known)
        assert_same(quiet(ours_fn, y_true, score, average=None, ignore_value=IGNORE), per_label)
        support = np.array([(y_true[known[:, j], j] == 1).sum() for j in range(y_true.shape[1])], float)
        assert_same(quiet(ours_fn, y_true, score, average="macro", ignore_value=IGNORE), np.mean(per_label))
        if support.sum() > 0:
            expected = np.sum(np.where(support > 0, per_label * support, 0)) / support.sum()
            assert_same(quiet(ours_fn, y_true, score, average="weighted", ignore_value=IGNORE), expected)
        if known.sum() > 0 and len(np.unique(y_true[known])) == 2:
            assert_same(quiet(ours_fn, y_true, score, average="micro", ignore_value=IGNORE),
                        quiet(fn, y_true[known], score[known]))
        rows = [quiet(fn, y_true[i, known[i]], score[i, known[i]]) for i in range(len(y_true)) if known[i].any()]
        assert_same(quiet(ours_fn, y_true, score, average="samples", ignore_value=IGNORE), np.mean(rows))


@settings(max_examples=25)
@given(masked(), st.integers(1, 4))
def test_score_accumulators_batching_merging_and_bytes(data, parts):
    y_true, score, known = data
    whole = tally.ScoreTally(y_true.shape[1], ignore_value=IGNORE).update(y_true, score)
    pieces = [tally.ScoreTally(y_true.shape[1], ignore_value=IGNORE) for _ in range(parts)]
    for i, chunk in enumerate(np.array_split(np.arange(len(y_true)), parts)):
        pieces[i % parts].update(y_true[chunk], score[chunk])
    merged = pieces[0]
    for other in pieces[1:]:
        merged.merge(other)
    restored = tally.ScoreTally.from_bytes(merged.to_bytes())
    again = pickle.loads(pickle.dumps(merged))
    for acc in (merged, restored, again):
        assert_same(quiet(acc.roc_auc, average=None), quiet(whole.roc_auc, average=None), tol=0)
        assert_same(quiet(acc.average_precision, average="samples"), quiet(whole.average_precision, average="samples"), tol=0)
    j = int(np.argmax(known.sum(axis=0)))
    m = known[:, j]
    if len(np.unique(y_true[m, j])) == 2:
        for ours, theirs in ((whole.roc_curve(j), sk.roc_curve(y_true[m, j], score[m, j])),
                             (whole.precision_recall_curve(j), sk.precision_recall_curve(y_true[m, j], score[m, j]))):
            assert_same(ours, theirs)
    binned = tally.BinnedScoreTally(y_true.shape[1], bins=10, ignore_value=IGNORE).update(y_true, score)
    # Scores 0.1, ..., 0.9 fall in distinct bins: the binned value is the exact one.
    assert_same(quiet(binned.roc_auc, average=None), quiet(whole.roc_auc, average=None))
    assert_same(quiet(binned.average_precision, average="macro"), quiet(whole.average_precision, average="macro"))
    # A masked histogram state leaves each label's unknown rows uncounted: its bytes still restore
    # (pickle, Dask partials); they were refused before.
    restored = pickle.loads(pickle.dumps(binned))
    assert restored.to_bytes() == binned.to_bytes()
    assert_same(quiet(restored.roc_auc, average=None), quiet(binned.roc_auc, average=None), tol=0)


def test_mixing_masked_unmasked_and_row_weighted_batches_in_the_store():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    s = np.array([[0.9, 0.2], [0.3, 0.8], [0.6, 0.4], [0.5, 0.1]])
    w = np.array([1.0, 2.0, 1.0, 3.0])
    acc = tally.ScoreTally(2, ignore_value=-1)
    acc.update(y[:2], s[:2], w[:2])
    acc.update(np.array([[1, -1], [-1, 0]]), s[2:], w[2:])
    # Label 0: rows 0, 1, 2 with weights 1, 2, 1; label 1: rows 0, 1, 3 with weights 1, 2, 3.
    for j, rows in ((0, [0, 1, 2]), (1, [0, 1, 3])):
        t = np.array([1, 0, 1, 0])[rows] if j == 0 else np.array([0, 1, 1, 0])[rows]
        assert_same(acc.roc_auc(average=None)[j], sk.roc_auc_score(t, s[rows, j], sample_weight=w[rows]))


# -- ranking --------------------------------------------------------------------------------

def _row_metric(fn, t, s):
    if t.size == 1:  # scikit-learn wants two labels in a row; one label ranks trivially
        return {"coverage_error": float(t[0] > 0), "label_ranking_loss": 0.0,
                "label_ranking_average_precision_score": 1.0, "ndcg_score": float(t[0] > 0)}[fn.__name__]
    return quiet(fn, t[None, :], s[None, :])


@settings(max_examples=30)
@given(masked(), st.booleans())
def test_ranking_metrics_rank_each_row_over_its_known_labels(data, weighted):
    y_true, score, known = data
    rng = np.random.default_rng(len(y_true))
    w = rng.integers(1, 4, size=len(y_true)).astype(float) if weighted else None
    live = known.any(axis=1)
    for fn, ours in ((sk.label_ranking_average_precision_score, M.label_ranking_average_precision_score),
                     (sk.coverage_error, M.coverage_error), (sk.label_ranking_loss, M.label_ranking_loss),
                     (sk.ndcg_score, M.ndcg_score)):
        values = [_row_metric(fn, y_true[i, known[i]], score[i, known[i]]) for i in np.nonzero(live)[0]]
        expected = np.average(values, weights=None if w is None else w[live])
        assert_same(ours(y_true, score, sample_weight=w, ignore_value=IGNORE), expected)
    # precision@k over min(k, known labels); continuous scores, so no ties.
    s = rng.random(score.shape)
    for k in (1, 2):
        hits = [y_true[i, known[i]][np.argsort(-s[i, known[i]])[:k]].sum() / min(k, known[i].sum())
                for i in np.nonzero(live)[0]]
        assert_same(M.precision_at_k(y_true, s, k=k, ignore_value=IGNORE), np.mean(hits))


@settings(max_examples=20)
@given(masked(graded=True))
def test_ndcg_with_graded_relevance_and_a_stream(data):
    y_true, score, known = data
    live = known.any(axis=1)
    values = [_row_metric(sk.ndcg_score, y_true[i, known[i]], score[i, known[i]]) for i in np.nonzero(live)[0]]
    assert_same(M.ndcg_score(y_true, score, ignore_value=IGNORE), np.mean(values))
    acc = tally.RankingTally(y_true.shape[1], ignore_value=IGNORE, metrics=("ndcg",))
    for chunk in np.array_split(np.arange(len(y_true)), 3):
        acc.update(y_true[chunk], score[chunk])
    assert_same(acc.ndcg(), np.mean(values))


# -- accumulators, report, bad input ---------------------------------------------------------

@settings(max_examples=20)
@given(masked())
def test_tally_with_ignore_value_equals_the_one_shot_functions(data):
    y_true, score, known = data
    acc = tally.Tally(y_true.shape[1], ignore_value=IGNORE)
    for chunk in np.array_split(np.arange(len(y_true)), 2):
        acc.update(y_true[chunk], score[chunk])
    acc = pickle.loads(pickle.dumps(acc))
    y_pred = (score >= 0.5).astype(np.int64)
    for average in (None, "micro", "macro", "samples"):
        assert_same(quiet(acc.f1, average, zero_division=0),
                    quiet(M.f1_score, y_true, y_pred, average=average, zero_division=0, ignore_value=IGNORE))


def test_classification_report_on_known_rows():
    y = np.array([[1, 0, -1], [0, -1, 1], [1, 1, 0], [0, -1, -1]])
    p = np.array([[1, 1, 0], [0, 0, 1], [1, 0, 0], [1, 1, 1]])
    known = y != -1
    t, q = stacked_cells(y, p, known)
    ours = quiet(M.classification_report, y, p, ignore_value=-1, output_dict=True)
    theirs = quiet(sk.classification_report, t, q, output_dict=True)
    for name in ("0", "1", "2", "micro avg", "macro avg", "weighted avg"):
        for key in ("precision", "recall", "f1-score", "support"):
            assert_same(ours[name][key], theirs[name][key])
    tr, qr = known_rows(y, p, known)
    assert_same(ours["samples avg"]["f1-score"], quiet(sk.f1_score, tr, qr, average="samples"))
    text = quiet(M.classification_report, y, p, ignore_value=-1)
    assert "       0       0.67      1.00      0.80         2\n" in text


@pytest.mark.parametrize("make", [
    lambda: tally.Tally(3, ignore_value=-1),
    lambda: tally.ScoreTally(3, ignore_value=-1),
    lambda: tally.BinnedScoreTally(3, ignore_value=-1),
    lambda: tally.RankingTally(3, ignore_value=-1),
])
def test_bad_input_raises_clearly_and_changes_nothing(make):
    acc = make()
    acc.update(np.array([[1, 0, -1]]), np.array([[0.9, 0.2, 0.4]]))
    before = acc.to_bytes()
    bad = [
        ((np.array([[1, -2, -1]]), np.array([[0.5, 0.5, 0.5]])), ValueError, "y_true"),
        ((np.array([[1, 0, -1]]), np.array([[np.nan, 0.5, 0.5]])), ValueError, "nan"),
        ((np.array([[1, 0, -1]]), np.array([[0.5, 0.5]])), ValueError, "shape"),
        ((np.array([[1, 0, -1]]), np.array([[0.5, 0.5, 0.5]]), np.ones((1, 2))), ValueError, "sample_weight"),
        ((np.array([[1, 0, -1]]), np.array([[0.5, 0.5, 0.5]]), np.ones(2)), ValueError, "sample_weight"),
    ]
    for args, error, word in bad:
        with pytest.raises(error, match=word):
            acc.update(*args)
        assert acc.to_bytes() == before
    # nan at an unknown entry is not read.
    acc.update(np.array([[1, 0, -1]]), np.array([[0.9, 0.2, np.nan]]))


@pytest.mark.parametrize("value", [0, 1, 1.0, True])
def test_ignore_value_colliding_with_a_label_is_refused(value):
    with pytest.raises((ValueError, TypeError), match="ignore_value"):
        M.f1_score([[1, 0], [0, 1]], [[1, 0], [0, 1]], average="macro", ignore_value=value)
    for make in (tally.Tally, tally.ScoreTally, tally.RankingTally):
        with pytest.raises((ValueError, TypeError), match="ignore_value"):
            make(2, ignore_value=value)


def test_other_refusals_name_what_was_expected():
    y = np.array([[-1, -1], [-1, -1]])
    with pytest.raises(ValueError, match="at least one known entry"):
        M.f1_score(y, np.zeros((2, 2), int), average="macro", ignore_value=-1)
    with pytest.raises(ValueError, match="multilabel-indicator"):
        M.f1_score([1, 0, -1], [1, 0, 0], ignore_value=-1)
    with pytest.raises(TypeError, match="ignore_value"):
        M.roc_auc_score([[1, 0], [0, 1]], [[0.1, 0.2], [0.3, 0.4]], ignore_value="missing")
    with pytest.raises(ValueError, match="y_true"):  # nan without ignore_value: refused as before
        M.f1_score([[1.0, np.nan], [0.0, 1.0]], [[1, 0], [0, 1]], average="macro")
    with pytest.raises(ValueError, match="samplewise"):
        M.multilabel_confusion_matrix([[1, -1], [0, 1]], [[1, 0], [0, 1]], samplewise=True, ignore_value=-1)


# -- intervals --------------------------------------------------------------------------------

def test_intervals_on_known_rows():
    """Wilson/Clopper-Pearson per label equal statsmodels on the known rows; DeLong's
    interval equals a numpy DeLong (test_intervals.numpy_delong) on the known rows."""
    from statsmodels.stats.proportion import proportion_confint
    from test_intervals import numpy_delong

    rng = np.random.default_rng(5)
    y = (rng.random((200, 3)) < 0.4).astype(int)
    score = np.clip(y * 0.3 + rng.random((200, 3)) * 0.7, 0, 1)
    known = rng.random((200, 3)) < 0.6
    marked = np.where(known, y, -1)
    acc = tally.Tally(3, ignore_value=-1).update(marked, score)
    pred = score >= 0.5
    for method, sm in (("wilson", "wilson"), ("clopper_pearson", "beta")):
        ci = acc.confidence_interval("recall", method=method)
        for j in range(3):
            m = known[:, j] & (y[:, j] == 1)
            lo, hi = proportion_confint(int(pred[m, j].sum()), int(m.sum()), alpha=0.05, method=sm)
            assert_same((ci.lower[j], ci.upper[j]), (lo, hi), tol=1e-9)
    store = tally.ScoreTally(3, ignore_value=-1).update(marked, score)
    ci, variance = store.confidence_interval(return_variance=True)
    for j in range(3):
        m = known[:, j]
        auc, cov = numpy_delong(y[m, j], score[None, m, j])
        assert_same((ci.point[j], variance[j]), (auc[0], cov[0, 0]), tol=1e-12)
    # The bootstrap's replicates take the mask as the counts do: as its 2-D weights of 0.
    masked = tally.Tally(3, ignore_value=-1, bootstrap=30, seed=4).update(marked, score)
    weighted = tally.Tally(3, bootstrap=30, seed=4).update(np.where(known, y, 0), score, known.astype(float))
    assert_same(masked.bootstrap_distribution("f1"), weighted.bootstrap_distribution("f1"), tol=0)

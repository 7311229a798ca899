"""Calibration per label (`tally.CalibrationTally`, the one-shot functions in
`tally.metrics`, equal-mass bins from `tally.ScoreTally`) against scikit-learn's
`brier_score_loss`, `log_loss` and `calibration_curve` column by column, and
against a numpy reference of ECE/MCE written here."""

import pickle

import numpy as np
import pytest
from hypothesis import given, strategies as st
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss

import tally
from tally import metrics
from tally.calibration import (
    CalibrationTally, calibration_error_from_scores, log_entries, reliability_from_scores,
)
from test_cli import swift_cli  # noqa: F401  (the fixture: skips outside a source checkout)

AVERAGES = [None, "micro", "macro", "weighted", "samples"]


def make(rng, n=300, labels=5, dtype=np.float64, weighted=False):
    y = (rng.random((n, labels)) < np.linspace(0.05, 0.6, labels)).astype(np.uint8)
    p = np.clip(y * 0.35 + rng.random((n, labels)) * 0.65, 0, 1).astype(dtype)
    w = rng.random(n) * 3 if weighted else None
    return y, p, w


# -- numpy references (independent of the code under test) -------------------------------

def sk_per_label(fn, y, p, w, **kw):
    return np.array([fn(y[:, j], p[:, j], sample_weight=w, **kw) for j in range(y.shape[1])])


def float32_log_loss_cells(y, p):
    """scikit-learn's float32 clipping (eps of float32, 1 − p in float32), logs in float64."""
    eps = np.finfo(np.float32).eps
    q = np.where(y == 1, p, np.float32(1) - p)
    return -np.log(np.clip(q, eps, np.float32(1) - eps).astype(np.float64))


def reference_loss(name, y, p, w, average):
    """scikit-learn per column, then the average written out in numpy. Float32 scores:
    scikit-learn computes in float32, Tally in float64 after float32's clipping, so the
    reference is scikit-learn on the float64 copy (Brier; exact, 1 − p is exact) or
    numpy (log loss)."""
    fn = brier_score_loss if name == "brier" else log_loss
    kw = {} if name == "brier" else {"labels": [0, 1]}
    ww = np.ones(y.shape[0]) if w is None else w
    if name == "log_loss" and p.dtype == np.float32:
        cells = float32_log_loss_cells(y, p)
        per = np.average(cells, weights=ww, axis=0)
        fn = lambda yy, pp, sample_weight, **_: np.average(float32_log_loss_cells(yy, pp), weights=sample_weight)  # noqa: E731
    else:
        p = p.astype(np.float64)
        per = sk_per_label(fn, y, p, w, **kw)
    if average is None:
        return per
    if average == "micro":
        return fn(y.ravel(), p.ravel(), sample_weight=np.repeat(ww, y.shape[1]), **kw)
    if average == "macro":
        return per.mean()
    if average == "weighted":
        support = (y * ww[:, None]).sum(axis=0)
        return np.average(per, weights=support) if support.sum() else per.mean()
    # samples: each row's mean over labels of the per-cell loss, weighted over rows
    if name == "brier":
        cell = (y - p.astype(np.float64)) ** 2
    elif p.dtype == np.float32:
        cell = float32_log_loss_cells(y, p)
    else:
        cell = -np.log(np.clip(np.where(y == 1, p, 1 - p), np.finfo(np.float64).eps, 1 - np.finfo(np.float64).eps))
    return np.average(cell.mean(axis=1), weights=ww)


def reference_bins(p, y, w, edges):
    """Per bin (count, weight, Σw·p, Σw·y) with a score on an inner edge in the lower bin."""
    n_bins = len(edges) - 1
    ids = np.zeros(p.shape[0], dtype=int)
    for k in range(1, n_bins):  # a score strictly above inner edge k is past it
        ids += p > edges[k]
    ww = np.ones(p.shape[0]) if w is None else w
    count = np.array([(ids == b).sum() for b in range(n_bins)])
    weight = np.array([ww[ids == b].sum() for b in range(n_bins)])
    score = np.array([(ww * p)[ids == b].sum() for b in range(n_bins)])
    pos = np.array([(ww * y)[ids == b].sum() for b in range(n_bins)])
    return count, weight, score, pos


def reference_errors(p, y, w, edges):
    """(ECE, MCE): Σ_b weight_b/weight · |mean score − fraction positive|, and the max."""
    _, weight, score, pos = reference_bins(p.astype(np.float64), y, w, edges)
    full = weight > 0
    gap = np.abs(score[full] / weight[full] - pos[full] / weight[full])
    if not full.any():
        return np.nan, np.nan
    return float((weight[full] / weight.sum() * gap).sum()), float(gap.max())


def quantile_edges(p, n_bins):
    return np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)


# -- missing labels ----------------------------------------------------------------------

def masked(rng, n=400, labels=5, dtype=np.float64, weighted=False):
    """y_true with -1 at unknown entries: a label with no known row, a row with none."""
    y, p, w = make(rng, n, labels, dtype, weighted)
    unknown = rng.random(y.shape) < 0.3
    unknown[:, labels - 1] = True
    unknown[7] = True
    return np.where(unknown, -1.0, y), p, w, y, ~unknown


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_missing_labels_score_each_label_on_its_known_rows_as_scikit_learn(rng, weighted, dtype):
    marked, p, w, y, known = masked(rng, dtype=dtype, weighted=weighted)
    cal = CalibrationTally(5, n_bins=10, ignore_value=-1)
    for rows in np.array_split(np.arange(len(y)), 3):  # streamed
        cal.update(marked[rows], p[rows], None if w is None else w[rows])
    ww = np.ones(len(y)) if w is None else w
    brier, loss = cal.brier_score(None), cal.log_loss(None)
    ece, mce = cal.expected_calibration_error(None), cal.maximum_calibration_error(None)
    edges = np.linspace(0, 1, 11)
    for j in range(4):
        k = known[:, j]
        yy, pp = y[k, j], p[k, j]
        np.testing.assert_allclose(brier[j], brier_score_loss(yy, pp.astype(np.float64), sample_weight=ww[k]), rtol=1e-12)
        ref_loss = (np.average(float32_log_loss_cells(yy, pp), weights=ww[k]) if dtype == np.float32
                    else log_loss(yy, pp, labels=[0, 1], sample_weight=ww[k]))
        np.testing.assert_allclose(loss[j], ref_loss, rtol=1e-12)
        np.testing.assert_allclose((ece[j], mce[j]), reference_errors(pp, yy, ww[k], edges), rtol=1e-12)
        r = cal.reliability(j)
        count, weight, _, _ = reference_bins(pp.astype(np.float64), yy, ww[k], edges)
        assert np.array_equal(r.count, count)  # unknown entries are not counted
        np.testing.assert_allclose(r.weight, weight, rtol=1e-12)
    # The label with no known row: nan (scikit-learn would raise on no rows), no counts.
    assert np.isnan([brier[4], loss[4], ece[4], mce[4]]).all() and cal.reliability(4).count.sum() == 0
    # Averages: micro pools the known cells, macro/weighted skip the label without rows,
    # samples averages each row's mean over its known labels and skips row 7.
    cells = np.broadcast_to(ww[:, None], y.shape)[known]
    np.testing.assert_allclose(cal.brier_score("micro"),
                               brier_score_loss(y[known], p[known].astype(np.float64), sample_weight=cells), rtol=1e-12)
    np.testing.assert_allclose(cal.brier_score("macro"), brier[:4].mean(), rtol=1e-12)
    support = np.array([(ww * y[:, j])[known[:, j]].sum() for j in range(5)])
    np.testing.assert_allclose(cal.brier_score("weighted"), np.average(brier[:4], weights=support[:4]), rtol=1e-12)
    live = known.any(axis=1)
    assert not live[7]
    row_means = np.array([np.mean((y[r, known[r]] - p[r, known[r]].astype(np.float64)) ** 2) for r in np.flatnonzero(live)])
    np.testing.assert_allclose(cal.brier_score("samples"), np.average(row_means, weights=ww[live]), rtol=1e-12)


def test_missing_labels_nan_marks_two_d_weights_and_nothing_unknown(rng):
    marked, p, w, y, known = masked(rng, weighted=True)
    by_mark = CalibrationTally(5, ignore_value=-1).update(marked, p, w)
    by_nan = CalibrationTally(5, ignore_value=np.nan).update(np.where(known, y, np.nan), p, w)
    by_weight = CalibrationTally(5).update(y, p, known * w[:, None])  # a 2-D weight of 0 is unknown
    assert by_mark.to_bytes() == by_nan.to_bytes() == by_weight.to_bytes()
    # Nothing unknown: the unmasked path, the same bytes.
    assert (CalibrationTally(5, ignore_value=-1).update(y, p, w).to_bytes()
            == CalibrationTally(5).update(y, p, w).to_bytes())
    # The one-shot functions and the pickled accumulator keep the mark.
    np.testing.assert_allclose(metrics.brier_score(marked, p, average=None, sample_weight=w, ignore_value=-1)[:4],
                               by_mark.brier_score(None)[:4], rtol=0)
    again = pickle.loads(pickle.dumps(by_mark)).update(marked[:3], p[:3])
    assert again.ignore_value == -1 and again.n_samples == 403


def test_missing_labels_equal_mass_bins_and_bad_input(rng):
    marked, p, _, y, known = masked(rng)
    # Equal-mass bins from every known score: calibration_curve on each label's known rows.
    for j in range(4):
        k = known[:, j]
        r = metrics.reliability_curve(marked, p, label=j, n_bins=6, strategy="quantile", ignore_value=-1)
        prob_true, prob_pred = calibration_curve(y[k, j], p[k, j], n_bins=6, strategy="quantile")
        full = r.count > 0
        np.testing.assert_allclose(r.fraction_positive[full], prob_true, rtol=1e-12)
        np.testing.assert_allclose(r.mean_score[full], prob_pred, rtol=1e-12)
        assert r.count.sum() == k.sum()
    # A score outside [0, 1] where the label is unknown is never read; where it is known it is refused.
    q = p.copy()
    q[~known] = 7.0
    ok = CalibrationTally(5, ignore_value=-1).update(marked, q)
    assert ok.to_bytes() == CalibrationTally(5, ignore_value=-1).update(marked, p).to_bytes()
    r, c = np.argwhere(known)[3]
    q[r, c] = 1.5
    before = ok.to_bytes()
    with pytest.raises(ValueError, match=rf"Expected `y_prob` to hold probabilities in \[0, 1\] where `sample_weight` "
                                         rf"is not 0, but got 1.5 at row {r}, column {c}"):
        ok.update(marked, q)
    with pytest.raises(ValueError, match="Expected `y_true` to hold only 0 and 1 where `sample_weight` is not 0"):
        ok.update(np.where(known, 2.0, -1.0), p)
    with pytest.raises(ValueError, match="Expected at least one known entry in `y_true`"):
        metrics.brier_score(np.full((3, 5), -1.0), p[:3], ignore_value=-1)
    assert ok.to_bytes() == before


# -- Brier score and log loss ------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("name", ["brier", "log_loss"])
def test_losses_equal_scikit_learn_per_column(rng, name, average, weighted):
    y, p, w = make(rng, weighted=weighted)
    p[:4, 0], p[4:8, 0] = 0.0, 1.0  # clipped by the log loss
    cal = CalibrationTally(y.shape[1]).update(y, p, w)
    ours = cal.brier_score(average) if name == "brier" else cal.log_loss(average)
    np.testing.assert_allclose(ours, reference_loss(name, y, p, w, average), rtol=1e-13)
    one_shot = metrics.brier_score if name == "brier" else metrics.binary_log_loss
    np.testing.assert_allclose(one_shot(y, p, average=average, sample_weight=w), ours, rtol=0)


@pytest.mark.parametrize("name", ["brier", "log_loss"])
def test_float32_scores_follow_scikit_learns_clipping(rng, name):
    y, p, w = make(rng, dtype=np.float32, weighted=True)
    p[:3, 1], p[3:6, 1] = 0.0, 1.0
    p[6:9, 1], y[6:9, 1] = np.float32(1e-9), 1  # below float32's eps: clipped there, not at float64's
    cal = CalibrationTally(y.shape[1]).update(y, p, w)
    ours = cal.brier_score() if name == "brier" else cal.log_loss()
    # scikit-learn computes float32 arrays in float32: within float32 rounding.
    fn, kw = (brier_score_loss, {}) if name == "brier" else (log_loss, {"labels": [0, 1]})
    np.testing.assert_allclose(ours, sk_per_label(fn, y, p, w, **kw), rtol=2e-6)
    if name == "brier":  # the same terms in float64 (1 − p is exact for a float32 p)
        expected = sk_per_label(brier_score_loss, y, p.astype(np.float64), w)
    else:
        expected = np.average(float32_log_loss_cells(y, p), weights=w, axis=0)
        # Rows 6-8 of label 1 are positives scored 1e-9: float32 clips them at its eps, float64
        # would not, so the float64 copy of the same scores has a larger loss.
        assert ours[1] < log_loss(y[:, 1], p[:, 1].astype(np.float64), labels=[0, 1], sample_weight=w) - 0.01
    np.testing.assert_allclose(ours, expected, rtol=1e-13)


def test_log_loss_hand_checked_table():
    # Label 0: rows (y=1, p=0.8) and (y=0, p=0.4): (−ln 0.8 − ln 0.6) / 2.
    # Label 1: (y=1, p=0) is clipped to eps = 2^-52: (52 ln 2 − ln 1) / 2 with p=0 for y=0.
    y = np.array([[1, 1], [0, 0]])
    p = np.array([[0.8, 0.0], [0.4, 0.0]])
    cal = CalibrationTally(2).update(y, p)
    np.testing.assert_allclose(cal.log_loss(), [(0.22314355131420976 + 0.5108256237659907) / 2,
                                                52 * 0.6931471805599453 / 2], rtol=1e-15)
    # Brier: label 0 ((0.2)² + (0.4)²) / 2 = 0.1, label 1 (1 + 0) / 2 = 0.5
    np.testing.assert_allclose(cal.brier_score(), [0.1, 0.5], rtol=1e-15)


def test_labels_without_positives_and_the_labels_argument(rng):
    y, p, _ = make(rng, labels=4)
    y[:, 2] = 0
    cal = CalibrationTally(4).update(y, p)
    np.testing.assert_allclose(cal.brier_score(labels=[2, 0]), [brier_score_loss(y[:, 2], p[:, 2]),
                                                                 brier_score_loss(y[:, 0], p[:, 0])], rtol=1e-13)
    # weighted: a label without positives weighs nothing
    per = sk_per_label(brier_score_loss, y, p, None)
    np.testing.assert_allclose(cal.brier_score("weighted"), np.average(per, weights=y.sum(0)), rtol=1e-13)
    with pytest.raises(ValueError, match="all labels in order with average='samples'"):
        cal.brier_score("samples", labels=[0, 1])


def test_zero_weight_gives_nan_where_scikit_learn_raises(rng):
    y, p, _ = make(rng, n=10, labels=2)
    cal = CalibrationTally(2).update(y, p, np.zeros(10))
    assert np.isnan(cal.brier_score()).all() and np.isnan(cal.expected_calibration_error("macro"))
    with pytest.raises(ValueError, match="at least one non-zero"):
        brier_score_loss(y[:, 0], p[:, 0], sample_weight=np.zeros(10))
    with pytest.raises(ValueError, match="at least one non-zero"):
        metrics.brier_score(y, p, sample_weight=np.zeros(10))


# -- reliability bins, ECE, MCE ----------------------------------------------------------

@pytest.mark.parametrize("n_bins", [1, 3, 10, 15])
def test_uniform_bins_equal_calibration_curve_and_the_numpy_reference(rng, n_bins):
    y, p, _ = make(rng)
    p[:6, 0] = np.linspace(0, 1, n_bins + 1)[np.arange(6) % (n_bins + 1)]  # scores on the edges
    cal = CalibrationTally(y.shape[1], n_bins).update(y, p)
    edges = np.linspace(0, 1, n_bins + 1)
    for j in range(y.shape[1]):
        r = cal.reliability(j)
        np.testing.assert_array_equal(r.edges, edges)
        count, weight, score, pos = reference_bins(p[:, j], y[:, j], None, edges)
        np.testing.assert_array_equal(r.count, count)
        np.testing.assert_array_equal(r.weight, weight)
        prob_true, prob_pred = calibration_curve(y[:, j], p[:, j], n_bins=n_bins, strategy="uniform")
        full = r.count > 0  # calibration_curve drops empty bins
        np.testing.assert_allclose(r.fraction_positive[full], prob_true, rtol=1e-14)
        np.testing.assert_allclose(r.mean_score[full], prob_pred, rtol=1e-14)
        assert np.isnan(r.mean_score[~full]).all() and np.isnan(r.fraction_positive[~full]).all()
    ece, mce = zip(*(reference_errors(p[:, j], y[:, j], None, edges) for j in range(y.shape[1])))
    np.testing.assert_allclose(cal.expected_calibration_error(), ece, rtol=1e-13)
    np.testing.assert_allclose(cal.maximum_calibration_error(), mce, rtol=1e-13)


def test_ece_hand_checked():
    # Two bins. Label 0: bin 0 holds p=0.2 (y=0) and 0.4 (y=1): mean 0.3, fraction 0.5;
    # bin 1 holds p=0.9 (y=1): gap 0.1. ECE = 2/3·0.2 + 1/3·0.1 = 0.5/3; MCE = 0.2.
    y = np.array([[0], [1], [1]])
    p = np.array([[0.2], [0.4], [0.9]])
    cal = CalibrationTally(1, n_bins=2).update(y, p)
    np.testing.assert_allclose(cal.expected_calibration_error(), [0.5 / 3], rtol=1e-15)
    np.testing.assert_allclose(cal.maximum_calibration_error(), [0.2], rtol=1e-15)
    # p = 0.5 sits on the inner edge: the lower bin, as np.searchsorted(side="left")
    r = CalibrationTally(1, n_bins=2).update([[1]], [[0.5]]).reliability(0)
    np.testing.assert_array_equal(r.count, [1, 0])


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_ece_mce_averages_weighted(rng, average):
    y, p, w = make(rng, weighted=True)
    cal = CalibrationTally(y.shape[1], 10).update(y, p, w)
    edges = np.linspace(0, 1, 11)
    per = np.array([reference_errors(p[:, j], y[:, j], w, edges) for j in range(y.shape[1])])
    if average is None:
        expected = per.T
    elif average == "micro":
        expected = reference_errors(p.ravel(), y.ravel(), np.repeat(w, y.shape[1]), edges)
    elif average == "macro":
        expected = per.mean(axis=0)
    else:
        expected = np.average(per, weights=(y * w[:, None]).sum(0), axis=0)
    np.testing.assert_allclose(cal.expected_calibration_error(average), expected[0], rtol=1e-13)
    np.testing.assert_allclose(cal.maximum_calibration_error(average), expected[1], rtol=1e-13)
    with pytest.raises(ValueError, match="'samples'"):
        cal.expected_calibration_error("samples")


@pytest.mark.parametrize("n_bins", [2, 5, 10])
def test_equal_mass_bins_equal_calibration_curve_quantile(rng, n_bins):
    y, p, _ = make(rng, n=157)
    p[:40, 2] = 0.25  # ties: equal edges, empty bins (dropped by scikit-learn)
    store = tally.ScoreTally(y.shape[1]).update(y, p)
    for j in range(y.shape[1]):
        r = reliability_from_scores(store, j, n_bins=n_bins)
        edges = quantile_edges(p[:, j], n_bins)
        np.testing.assert_array_equal(r.edges, edges)
        count, _, _, _ = reference_bins(p[:, j], y[:, j], None, edges)
        np.testing.assert_array_equal(r.count, count)
        prob_true, prob_pred = calibration_curve(y[:, j], p[:, j], n_bins=n_bins, strategy="quantile")
        full = r.count > 0
        np.testing.assert_allclose(r.fraction_positive[full], prob_true, rtol=1e-14)
        np.testing.assert_allclose(r.mean_score[full], prob_pred, rtol=1e-14)
    ece = [reference_errors(p[:, j], y[:, j], None, quantile_edges(p[:, j], n_bins))[0] for j in range(y.shape[1])]
    np.testing.assert_allclose(calibration_error_from_scores(store, n_bins=n_bins), ece, rtol=1e-13)
    np.testing.assert_array_equal(metrics.expected_calibration_error(y, p, n_bins=n_bins, strategy="quantile",
                                                                     average=None),
                                  calibration_error_from_scores(store, n_bins=n_bins))
    micro = reference_errors(p.ravel(), y.ravel(), None, quantile_edges(p.ravel(), n_bins))
    np.testing.assert_allclose(calibration_error_from_scores(store, "mce", n_bins=n_bins, average="micro"),
                               micro[1], rtol=1e-13)


def test_equal_mass_bins_leave_out_rows_of_weight_zero(rng):
    y, p, w = make(rng, n=120, weighted=True)
    w[::3] = 0
    store = tally.ScoreTally(y.shape[1]).update(y, p, w)
    keep = w > 0
    edges = quantile_edges(p[keep, 1], 6)
    r = reliability_from_scores(store, 1, n_bins=6)
    np.testing.assert_array_equal(r.edges, edges)
    ece, mce = reference_errors(p[keep, 1], y[keep, 1], w[keep], edges)
    np.testing.assert_allclose(calibration_error_from_scores(store, "ece", n_bins=6, labels=[1]), [ece], rtol=1e-13)
    np.testing.assert_allclose(calibration_error_from_scores(store, "mce", n_bins=6, labels=[1]), [mce], rtol=1e-13)


# -- streaming: batching, merging, bytes -------------------------------------------------

def _state(cal):
    return (cal.brier_score(None), cal.log_loss(None), cal.brier_score("samples"),
            cal.expected_calibration_error(None), cal.maximum_calibration_error("micro"))


@given(st.integers(1, 80), st.integers(1, 6), st.integers(0, 2**32 - 1), st.booleans(),
       st.sampled_from([np.float32, np.float64]), st.sampled_from(AVERAGES))
def test_any_batching_and_merge_order_gives_the_same_bits(n, labels, seed, weighted, dtype, average):
    rng = np.random.default_rng(seed)
    y, p, w = make(rng, n=n, labels=labels, dtype=dtype, weighted=weighted)
    whole = CalibrationTally(labels, 7).update(y, p, w)
    cuts = np.sort(rng.integers(0, n + 1, size=3))
    parts = []
    for a, b in zip([0, *cuts], [*cuts, n]):
        parts.append(CalibrationTally(labels, 7).update(y[a:b], p[a:b], None if w is None else w[a:b]))
    merged = CalibrationTally(labels, 7)
    for part in reversed(parts):
        merged.merge(part)
    for a, b in zip(_state(whole), _state(merged)):
        np.testing.assert_array_equal(a, b)  # exact sums: bit for bit
    restored = CalibrationTally.from_bytes(merged.to_bytes())
    for a, b in zip(_state(whole), _state(pickle.loads(pickle.dumps(restored)))):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(whole.brier_score(average), reference_loss("brier", y, p, w, average), rtol=1e-12)
    np.testing.assert_allclose(whole.log_loss(average), reference_loss("log_loss", y, p, w, average), rtol=1e-12)


def test_sums_are_exact_where_a_running_sum_is_not():
    # 1e8 rows of p=0.1 with y=0 in two batches vs one: a float64 running sum drifts,
    # the exact sum does not. Here: p = 0.1 for 3 rows, and one tiny score.
    y = np.zeros((4, 1))
    p = np.array([[0.1], [0.1], [0.1], [1e-300]])
    a = CalibrationTally(1, 1).update(y, p)
    b = CalibrationTally(1, 1).update(y[::-1], p[::-1])
    assert a.reliability(0).mean_score[0] == b.reliability(0).mean_score[0]
    # (0.1 + 0.1 + 0.1 + 1e-300) / 4 exactly rounded: 0.3000000000000000166533453693773481063544750213623046875/4
    assert a.reliability(0).mean_score[0] == 0.07500000000000001


# -- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    (lambda y, p: (y, p + 1.5), r"Expected `y_prob` to hold probabilities in \[0, 1\], but got"),
    (lambda y, p: (y, p - 1.5), r"probabilities in \[0, 1\]"),
    (lambda y, p: (y, np.where(p > 0.5, np.nan, p)), "finite numbers"),
    (lambda y, p: (y, p[:, :2]), r"Expected `y_prob` to have shape \(20, 3\)"),
    (lambda y, p: (y[:, :2], p[:, :2]), "Expected `y_true` to have 3 columns, but got 2"),
    (lambda y, p: (y * 2, p), "Expected `y_true` to hold only 0 and 1"),
])
def test_bad_input_raises_and_changes_nothing(rng, bad, message):
    y, p, _ = make(rng, n=20, labels=3)
    cal = CalibrationTally(3, 5).update(y, p)
    before = cal.to_bytes()
    with pytest.raises(ValueError, match=message):
        cal.update(*bad(y, p))
    with pytest.raises(ValueError, match="sample_weight"):
        cal.update(y, p, -np.ones(20))
    assert cal.to_bytes() == before


def test_bad_arguments():
    for n_bins in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="Expected `n_bins` to be an integer >= 1"):
            CalibrationTally(3, n_bins)
    with pytest.raises(ValueError, match="n_labels"):
        CalibrationTally(0)
    cal = CalibrationTally(2, 3)
    with pytest.raises(ValueError, match="at least one row"):
        cal.brier_score()
    cal.update([[0, 1]], [[0.2, 0.7]])
    with pytest.raises(ValueError, match="average"):
        cal.brier_score("mean")
    with pytest.raises(ValueError, match=r"label"):
        cal.reliability(2)
    with pytest.raises(ValueError, match="merge"):
        cal.merge(CalibrationTally(2, 4))
    with pytest.raises(TypeError, match="CalibrationTally"):
        cal.merge(tally.ScoreTally(2))
    with pytest.raises(ValueError, match=r"Expected bytes from CalibrationSums.serialized\(\), but"):
        CalibrationTally.from_bytes(cal.to_bytes()[:-8])
    with pytest.raises(ValueError, match="strategy"):
        metrics.expected_calibration_error([[0, 1]], [[0.2, 0.7]], strategy="kmeans")
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        metrics.expected_calibration_error([[0, 1]], [[0.2, 1.7]], strategy="quantile")
    store = tally.ScoreTally(2).update([[0, 1]], [[0.2, 0.7]])
    with pytest.raises(ValueError, match="n_bins"):
        reliability_from_scores(store, 0, n_bins=0)


def test_log_entries_name_each_label_and_average(rng):
    y, p, _ = make(rng, labels=3)
    cal = CalibrationTally(3).update(y, p)
    logs = log_entries(cal, ["a", "b", "c"], metrics=("brier", "ece"), averages=("macro", "samples"))
    assert logs["val_brier/b"] == cal.brier_score()[1]
    assert logs["val_macro_ece"] == cal.expected_calibration_error("macro")
    assert logs["val_samples_brier"] == cal.brier_score("samples")
    assert "val_samples_ece" not in logs


# -- the picture -------------------------------------------------------------------------

def _curve(fig, j):
    lines = [line for ax in fig.axes for line in ax.get_lines() if line.get_gid() == f"reliability/{j}"]
    assert len(lines) == 1
    return lines[0].get_data()


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_reliability_plot_draws_one_panel_per_label_with_calibration_curves_points(rng, strategy):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tally import plot

    y, p, _ = make(rng, labels=5)
    fig = plot.reliability(y, p, labels=[0, 3, 4], n_bins=8, strategy=strategy, label_names=list("abcde"))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3
    assert [ax.get_title().split()[0] for ax in visible] == ["a", "d", "e"]
    for j in (0, 3, 4):
        x, yy = _curve(fig, j)
        prob_true, prob_pred = calibration_curve(y[:, j], p[:, j], n_bins=8, strategy=strategy)
        np.testing.assert_allclose(x, prob_pred, rtol=1e-14)
        np.testing.assert_allclose(yy, prob_true, rtol=1e-14)
    plt.close(fig)
    cal = CalibrationTally(5, 8).update(y, p)
    fig = plot.reliability(calibration=cal, labels=3)
    np.testing.assert_allclose(_curve(fig, 3)[1], calibration_curve(y[:, 3], p[:, 3], n_bins=8)[0], rtol=1e-14)
    assert f"{cal.expected_calibration_error()[3]:.3f}" in fig.axes[0].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="exactly one of"):
        plot.reliability(y, p, calibration=cal)
    with pytest.raises(ValueError, match="labels"):
        plot.reliability(calibration=cal, labels=[7])
    # Missing labels: each panel is calibration_curve on the label's known rows.
    known = rng.random(y.shape) < 0.7
    fig = plot.reliability(np.where(known, y, -1.0), p, labels=[1], n_bins=8, strategy=strategy, ignore_value=-1)
    prob_true, prob_pred = calibration_curve(y[known[:, 1], 1], p[known[:, 1], 1], n_bins=8, strategy=strategy)
    np.testing.assert_allclose(_curve(fig, 1), (prob_pred, prob_true), rtol=1e-14)
    plt.close(fig)


# -- the command line (Swift and Python print the core's table) ----------------------------

def test_cli_calibration_table_swift_and_python_agree_and_equal_sklearn(swift_cli, tmp_path):
    import subprocess
    import sys

    rng = np.random.default_rng(9)
    y, p, w = make(rng, n=250, labels=4, dtype=np.float32, weighted=True)
    np.save(tmp_path / "y.npy", y.astype(bool))
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "w.npy", w)
    (tmp_path / "names.txt").write_text("cat\ndog\nowl\nfox\n")
    swift = swift_cli
    args = ["calibration", "--true", str(tmp_path / "y.npy"), "--score", str(tmp_path / "p.npy"), "--bins", "10",
            "--weights", str(tmp_path / "w.npy"), "--labels", str(tmp_path / "names.txt"), "--digits", "6"]
    from_swift = subprocess.run([swift, *args], capture_output=True, text=True)
    from_python = subprocess.run([sys.executable, "-m", "tally.cli", *args], capture_output=True, text=True)
    assert from_swift.returncode == 0 and from_python.returncode == 0, (from_swift.stderr, from_python.stderr)
    assert from_swift.stdout == from_python.stdout
    lines = {line.split()[0]: line.split()[1:] for line in from_python.stdout.splitlines()[3:] if line.strip()}
    cal = CalibrationTally(4, 10).update(y, p, w)
    for j, name in enumerate(["cat", "dog", "owl", "fox"]):
        brier, loss, ece, mce, positives = (float(v) for v in lines[name])
        assert abs(brier - brier_score_loss(y[:, j], p[:, j].astype(np.float64), sample_weight=w)) <= 5e-7
        assert abs(loss - float(reference_loss("log_loss", y[:, [j]], p[:, [j]], w, None)[0])) <= 5e-7
        assert abs(ece - reference_errors(p[:, j], y[:, j], w, np.linspace(0, 1, 11))[0]) <= 5e-7
        assert abs(positives - (w * y[:, j]).sum()) <= 5e-7
        assert mce == float(f"{cal.maximum_calibration_error()[j]:.6f}")
    assert lines["samples"][1:4] == [f"{cal.brier_score('samples'):.6f}", f"{cal.log_loss('samples'):.6f}",
                                    f"{(w[:, None] * y).sum():.6f}"]
    bad = subprocess.run([sys.executable, "-m", "tally.cli", "calibration", "--true", str(tmp_path / "y.npy"),
                          "--score", str(tmp_path / "w.npy")], capture_output=True, text=True)
    assert bad.returncode == 2 and "Expected" in bad.stderr

"""Confidence intervals against independent references: statsmodels' proportion_confint
(Wilson, 'beta' = Clopper-Pearson), scikit-learn on every bootstrap replicate with the
replicate's Poisson weights (drawn here by numpy from the documented rule), numpy
percentiles, and a numpy DeLong (Sun & Xu 2014) written here; plus bad input,
merging, batching, save/load and a seeded coverage simulation."""

import pickle

import numpy as np
import pytest
import sklearn.metrics as sk
from hypothesis import given, settings, strategies as st
from statsmodels.stats.proportion import proportion_confint

import tally
from tally.delong import delong_test, roc_auc_delong_test
from tally.intervals import poisson_weights, proportion_interval
from tally.scores import ScoreTally

from test_cli import recorded, swift_cli  # noqa: F401  (fixtures: the recorded arrays, the Swift CLI)

PROPORTIONS = ["precision", "recall", "specificity", "npv", "label_accuracy"]


def data(seed, n=240, k=5, weighted=False):
    r = np.random.default_rng(seed)
    y_true = (r.random((n, k)) < [0.05, 0.2, 0.5, 0.7, 0.0][:k]).astype(np.int8)
    y_score = np.round(np.clip(y_true * 0.3 + r.random((n, k)) * 0.8, 0, 1), 2)
    weight = np.round(r.random(n) * 3, 1) if weighted else None
    return y_true, y_score, weight


def successes_trials(metric, y_true, y_pred, w):
    """Independent counts per label (numpy), (successes, trials) as the metric defines them."""
    w = np.ones(len(y_true)) if w is None else w
    t, p = y_true.astype(bool), y_pred.astype(bool)
    tp = (w[:, None] * (t & p)).sum(0)
    fp = (w[:, None] * (~t & p)).sum(0)
    fn = (w[:, None] * (t & ~p)).sum(0)
    tn = (w[:, None] * (~t & ~p)).sum(0)
    return {"precision": (tp, tp + fp), "recall": (tp, tp + fn), "specificity": (tn, tn + fp),
            "npv": (tn, tn + fn), "label_accuracy": (tp + tn, tp + fp + fn + tn)}[metric]


def statsmodels_interval(successes, trials, level, method):
    lower, upper = np.full(len(trials), np.nan), np.full(len(trials), np.nan)
    ok = trials > 0
    if ok.any():
        lower[ok], upper[ok] = proportion_confint(successes[ok], trials[ok], alpha=1 - level,
                                                  method={"wilson": "wilson", "clopper_pearson": "beta"}[method])
    return lower, upper


# -- Wilson and Clopper-Pearson --------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("method", ["wilson", "clopper_pearson"])
@pytest.mark.parametrize("metric", PROPORTIONS)
def test_proportions_match_statsmodels(metric, method, weighted):
    y_true, y_score, w = data(1, weighted=weighted)
    acc = tally.Tally(5).update(y_true, y_score, w)
    successes, trials = successes_trials(metric, y_true, y_score >= 0.5, w)
    for level in (0.95, 0.8, 0.999):
        got = acc.confidence_interval(metric, level=level, method=method)
        lower, upper = statsmodels_interval(successes, trials, level, method)
        np.testing.assert_allclose(got.lower, lower, rtol=1e-10, atol=1e-15, equal_nan=True)
        np.testing.assert_allclose(got.upper, upper, rtol=1e-10, atol=1e-15, equal_nan=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            np.testing.assert_allclose(got.point, successes / trials, rtol=1e-12, equal_nan=True)
        micro = acc.confidence_interval(metric, "micro", level=level, method=method)
        lower, upper = statsmodels_interval(np.array([successes.sum()]), np.array([trials.sum()]), level, method)
        np.testing.assert_allclose([micro.lower, micro.upper], [lower[0], upper[0]], rtol=1e-10, atol=1e-15)


def test_label_without_positives_has_nan_precision_interval():
    y_true, y_score, _ = data(2)
    got = tally.Tally(5).update(y_true, np.zeros_like(y_score)).confidence_interval("precision")
    assert np.isnan(got.lower).all() and np.isnan(got.upper).all() and np.isnan(got.point).all()


def test_integer_weights_are_frequency_weights():
    # The stated rule: a row of weight 2 counts as the row twice.
    y_true, y_score, _ = data(3, n=60)
    w = np.random.default_rng(0).integers(0, 4, len(y_true)).astype(float)
    weighted = tally.Tally(5).update(y_true, y_score, w)
    repeated = tally.Tally(5).update(np.repeat(y_true, w.astype(int), 0), np.repeat(y_score, w.astype(int), 0))
    for method in ("wilson", "clopper_pearson"):
        a = weighted.confidence_interval("recall", method=method)
        b = repeated.confidence_interval("recall", method=method)
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-12, equal_nan=True)


def test_one_shot_proportion_interval_matches_statsmodels_on_a_grid():
    trials = np.array([1, 2, 7, 50, 1000, 123457, 10**6] * 3, dtype=float)
    successes = np.round(trials * np.repeat([0.0, 0.37, 1.0], 7))
    successes[-1] = trials[-1] - 1
    for method in ("wilson", "clopper_pearson"):
        for level in (0.5, 0.9, 0.95, 0.99):
            got = proportion_interval(successes, trials, level, method)
            want = statsmodels_interval(successes, trials, level, method)
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)
    assert proportion_interval(3, 10) == pytest.approx(proportion_confint(3, 10, alpha=0.05, method="wilson"),
                                                       rel=1e-12)


# -- Poisson bootstrap -------------------------------------------------------------------

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def mix(z):
    z = z.astype(np.uint64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def numpy_poisson_weights(seed, ids, replicates):
    """The documented rule (tally.intervals / PoissonDraws.swift), in numpy."""
    with np.errstate(over="ignore"):
        row = mix(mix(np.array([seed], dtype=np.uint64)) ^ (np.asarray(ids, dtype=np.uint64)
                                                             * np.uint64(0x9E3779B97F4A7C15)))
        b = np.arange(1, replicates + 1, dtype=np.uint64)
        bits = mix(row[:, None] + b[None, :] * np.uint64(0xD1B54A32D192ED03))
    u = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
    term, cdf = np.exp(-1.0), [np.exp(-1.0)]
    for k in range(1, 20):
        term /= k
        cdf.append(cdf[-1] + term)
    return np.searchsorted(np.array(cdf), u, side="right").astype(np.float64)


def test_poisson_draws_follow_the_documented_rule():
    ids = np.array([0, 1, 2, 17, 2**40, 2**62 + 5])
    np.testing.assert_array_equal(poisson_weights(7, ids, 300), numpy_poisson_weights(7, ids, 300))
    w = poisson_weights(0, np.arange(2000), 100)
    # Poisson(1): mean 1, variance 1 (2e5 draws: standard errors about 0.002 and 0.005).
    assert abs(w.mean() - 1) < 0.01 and abs(w.var() - 1) < 0.03
    assert not np.array_equal(poisson_weights(1, ids, 50), poisson_weights(2, ids, 50))


def sk_metric(metric, average, y_true, y_pred, w, beta=2.0):
    """scikit-learn's value of `metric` with sample_weight `w` (zero_division 0)."""
    zd = dict(zero_division=0.0)
    if metric in ("precision", "recall", "f1", "fbeta"):
        fn = {"precision": sk.precision_score, "recall": sk.recall_score, "f1": sk.f1_score}.get(metric)
        if metric == "fbeta":
            return sk.fbeta_score(y_true, y_pred, beta=beta, average=average, sample_weight=w, **zd)
        return fn(y_true, y_pred, average=average, sample_weight=w, **zd)
    if metric == "jaccard":
        return sk.jaccard_score(y_true, y_pred, average=average, sample_weight=w, **zd)
    if metric == "specificity":
        return sk.recall_score(1 - y_true, 1 - y_pred, average=average, sample_weight=w, **zd)
    if metric == "npv":
        return sk.precision_score(1 - y_true, 1 - y_pred, average=average, sample_weight=w, **zd)
    per_label = {"matthews_corrcoef": sk.matthews_corrcoef, "label_accuracy": sk.accuracy_score}[metric]
    values = np.array([per_label(y_true[:, j], y_pred[:, j], sample_weight=w) for j in range(y_true.shape[1])])
    return values if average is None else values.mean()


CASES = [(m, a) for m in ("f1", "fbeta", "precision", "recall", "jaccard", "specificity", "npv")
         for a in (None, "micro", "macro", "weighted", "samples")]
CASES += [("matthews_corrcoef", None), ("matthews_corrcoef", "macro"), ("label_accuracy", None),
          ("label_accuracy", "macro")]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("metric,average", CASES)
def test_bootstrap_equals_sklearn_on_each_replicate(metric, average, weighted):
    y_true, y_score, w = data(4, n=120, weighted=weighted)
    B, seed = 40, 11
    acc = tally.Tally(5, bootstrap=B, seed=seed)
    for a, b in ((0, 50), (50, 51), (51, 120)):
        acc.update(y_true[a:b], y_score[a:b], None if w is None else w[a:b])
    y_pred = (y_score >= 0.5).astype(np.int8)
    draws = numpy_poisson_weights(seed, np.arange(len(y_true)), B)
    rows = draws if w is None else draws * w[:, None]
    reference = np.array([sk_metric(metric, average, y_true, y_pred, rows[:, b]) for b in range(B)])
    ours = acc.bootstrap_distribution(metric, average, beta=2.0)
    np.testing.assert_allclose(ours.reshape(reference.shape), reference, rtol=1e-11, atol=1e-14)
    got = acc.confidence_interval(metric, average, level=0.9, method="bootstrap", beta=2.0)
    lower, upper = np.nanpercentile(reference, [5, 95], axis=0)
    np.testing.assert_allclose(got.lower, lower, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(got.upper, upper, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(got.point, sk_metric(metric, average, y_true, y_pred, w), rtol=1e-11, atol=1e-14)


def test_bootstrap_nan_replicates_are_left_out():
    # zero_division=nan: a replicate that draws no positive prediction of label 0 is nan there.
    y_true, y_score, _ = data(5, n=30)
    y_score[:, 0] = 0
    y_score[:2, 0] = 0.9  # two predicted positives: about 1 replicate in 7 draws neither
    acc = tally.Tally(5, bootstrap=60, seed=1).update(y_true, y_score)
    values = acc.bootstrap_distribution("precision", zero_division=np.nan)
    assert 0 < np.isnan(values[:, 0]).sum() < 30
    got = acc.confidence_interval("precision", method="bootstrap", zero_division=np.nan)
    lower, upper = np.nanpercentile(values, [2.5, 97.5], axis=0)
    np.testing.assert_allclose(got.lower, lower, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(got.upper, upper, rtol=1e-12, equal_nan=True)


@settings(max_examples=15)
@given(st.integers(0, 2**31), st.lists(st.integers(0, 90), max_size=4), st.booleans())
def test_bootstrap_invariant_to_batching_and_merging(seed, cuts, weighted):
    y_true, y_score, w = data(seed, n=90, weighted=weighted)
    one = tally.Tally(5, bootstrap=16, seed=seed % 1000).update(y_true, y_score, w)
    edges = [0] + sorted(cuts) + [90]
    batched = tally.Tally(5, bootstrap=16, seed=seed % 1000)
    shards = []
    for a, b in zip(edges, edges[1:]):
        wb = None if w is None else w[a:b]
        batched.update(y_true[a:b], y_score[a:b], wb)
        shards.append(tally.Tally(5, bootstrap=16, seed=seed % 1000).update(y_true[a:b], y_score[a:b], wb,
                                                                            row_ids=np.arange(a, b)))
    merged = shards[-1]
    for s in reversed(shards[:-1]):  # merge order differs from row order
        merged.merge(s)
    if w is None:  # integer sums: bit for bit (weighted sums round in another order)
        assert batched.to_bytes() == one.to_bytes()
        assert merged.to_bytes() == one.to_bytes()
    for acc in (merged, batched):
        for metric, average in (("f1", None), ("f1", "samples"), ("matthews_corrcoef", None)):
            np.testing.assert_allclose(acc.bootstrap_distribution(metric, average),
                                       one.bootstrap_distribution(metric, average), rtol=1e-12)


def test_bootstrap_save_load_copy_reset():
    y_true, y_score, w = data(6, weighted=True)
    acc = tally.Tally(5, bootstrap=30, seed=4).update(y_true, y_score, w)
    restored = tally.Tally(5, bootstrap=30, seed=4).load_bytes(acc.to_bytes())
    assert restored.to_bytes() == acc.to_bytes()
    assert pickle.loads(pickle.dumps(acc)).to_bytes() == acc.to_bytes()
    copy = acc.copy()
    copy.update(y_true, y_score)
    assert copy.to_bytes() != acc.to_bytes()
    interval = acc.confidence_interval("f1", "macro", method="bootstrap")
    assert restored.confidence_interval("f1", "macro", method="bootstrap") == interval
    fresh = tally.Tally(5, bootstrap=30, seed=4)
    assert acc.copy().reset().to_bytes() == fresh.to_bytes()
    # A Tally without replicates keeps its old bytes.
    assert tally.Tally(5).update(y_true, y_score).to_bytes() == tally.Tally(5).update(y_true, y_score)._counts.serialize()


def test_default_replicates_and_seeds():
    y_true, y_score, _ = data(7)
    a = tally.Tally(5, bootstrap=True).update(y_true, y_score)
    assert a.bootstrap_distribution("f1", "micro").shape == (200,)
    b = tally.Tally(5, bootstrap=200, seed=0).update(y_true, y_score)
    c = tally.Tally(5, bootstrap=200, seed=1).update(y_true, y_score)
    assert a.to_bytes() == b.to_bytes() and a.to_bytes() != c.to_bytes()


def test_bootstrap_covers_the_truth_at_about_the_nominal_rate():
    # Seeded simulation: labels independent, prediction = truth with flips; the
    # population F1 of label j is 2a / (2a + b + c) with a, b, c the rates of tp, fp, fn.
    r = np.random.default_rng(2024)
    prevalence, miss, false_alarm = np.array([0.3, 0.1]), np.array([0.2, 0.4]), np.array([0.1, 0.05])
    a = prevalence * (1 - miss)
    truth = 2 * a / (2 * a + (1 - prevalence) * false_alarm + prevalence * miss)
    runs, covered, wilson_covered = 200, np.zeros(2), np.zeros(2)
    for i in range(runs):
        y = r.random((300, 2)) < prevalence
        flip = np.where(y, r.random((300, 2)) < miss, r.random((300, 2)) < false_alarm)
        acc = tally.Tally(2, bootstrap=200, seed=i).update(y, (y ^ flip).astype(np.float64))
        ci = acc.confidence_interval("f1", level=0.9, method="bootstrap")
        covered += (ci.lower <= truth) & (truth <= ci.upper)
        w = acc.confidence_interval("recall", level=0.9, method="wilson")
        wilson_covered += (w.lower <= 1 - miss) & (1 - miss <= w.upper)
    # 200 runs at 90%: standard error 2.1 points; allow about 3.
    assert np.all(np.abs(covered / runs - 0.9) < 0.065), covered / runs
    assert np.all(np.abs(wilson_covered / runs - 0.9) < 0.065), wilson_covered / runs


def test_bootstrap_memory_is_independent_of_rows():
    from tally import _tally

    acc = tally.Tally(39, bootstrap=1000)
    r = np.random.default_rng(0)
    sizes = []
    for _ in range(3):
        acc.update(r.random((2000, 39)) < 0.05, r.random((2000, 39)) < 0.05)
        sizes.append(_tally.bootstrap_info(acc._bootstrap)[4])
    assert sizes[0] < 4_000_000 and sizes[-1] < 1.5 * sizes[0], sizes


# -- DeLong --------------------------------------------------------------------------------


def midranks(x):
    """1-based midranks (ties share their mean rank), numpy only."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(len(x))
    i = 0
    while i < len(x):
        j = i
        while j < len(x) and sorted_x[j] == sorted_x[i]:
            j += 1
        ranks[order[i:j]] = 0.5 * (i + j - 1) + 1
        i = j
    return ranks


def numpy_delong(y, scores):
    """Sun & Xu (2014): AUCs and their covariance for models in the rows of `scores`."""
    positive = y == 1
    m, n = positive.sum(), (~positive).sum()
    v10, v01, aucs = [], [], []
    for s in scores:
        x, z = s[positive], s[~positive]
        tx, ty, tz = midranks(x), midranks(z), midranks(s)
        aucs.append(tz[positive].sum() / (m * n) - (m + 1) / (2 * n))
        v10.append((tz[positive] - tx) / n)
        v01.append(1 - (tz[~positive] - ty) / m)
    s10 = np.atleast_2d(np.cov(np.array(v10)))
    s01 = np.atleast_2d(np.cov(np.array(v01)))
    return np.array(aucs), s10 / m + s01 / n


def delong_case(seed, n=150, k=4):
    r = np.random.default_rng(seed)
    y = (r.random((n, k)) < [0.1, 0.3, 0.5, 0.02][:k]).astype(np.int8)
    y[:2, 3] = 1  # label 3: two positives
    a = np.round(y * 0.4 + r.random((n, k)), 1)  # rounded: many ties
    b = np.round(0.6 * a + 0.5 * r.random((n, k)), 2)
    return y, a, b


@pytest.mark.parametrize("level", [0.95, 0.8])
def test_delong_interval_matches_numpy(level):
    from scipy.stats import norm

    y, a, _ = delong_case(8)
    store = ScoreTally(4).update(y[:70], a[:70]).update(y[70:], a[70:])
    interval, variance = store.confidence_interval(level=level, return_variance=True)
    for j in range(4):
        auc, cov = numpy_delong(y[:, j], a[None, :, j])
        assert interval.point[j] == pytest.approx(sk.roc_auc_score(y[:, j], a[:, j]), rel=1e-12)
        assert interval.point[j] == pytest.approx(auc[0], rel=1e-12)
        assert variance[j] == pytest.approx(cov[0, 0], rel=1e-10)
        half = norm.isf((1 - level) / 2) * np.sqrt(cov[0, 0])
        assert interval.lower[j] == pytest.approx(max(0, auc[0] - half), rel=1e-10)
        assert interval.upper[j] == pytest.approx(min(1, auc[0] + half), rel=1e-10)


def test_delong_paired_test_matches_numpy():
    from scipy.stats import norm

    y, a, b = delong_case(9)
    result = roc_auc_delong_test(y, a, b)
    for j in range(4):
        aucs, cov = numpy_delong(y[:, j], np.stack([a[:, j], b[:, j]]))
        var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
        z = (aucs[0] - aucs[1]) / np.sqrt(var)
        assert result.auc_a[j] == pytest.approx(aucs[0], rel=1e-12)
        assert result.auc_b[j] == pytest.approx(aucs[1], rel=1e-12)
        assert result.variance[j] == pytest.approx(var, rel=1e-9)
        assert result.z[j] == pytest.approx(z, rel=1e-9)
        assert result.p_value[j] == pytest.approx(2 * norm.sf(abs(z)), rel=1e-9)
    same = roc_auc_delong_test(y, a, a)
    assert np.all(same.variance == 0) and np.all(np.isnan(same.z))


def test_delong_undefined_labels_are_nan():
    # Label 1: one class (AUC undefined); label 2: one positive (variance undefined, ddof 1).
    y = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 0], [0, 0, 0]])
    s = np.array([[0.9, 0.1, 0.3], [0.2, 0.3, 0.1], [0.4, 0.5, 0.2], [0.1, 0.2, 0.4]])
    interval, variance = ScoreTally(3).update(y, s).confidence_interval(return_variance=True)
    assert np.isnan(interval.point[1]) and np.isnan(interval.lower[1]) and np.isnan(interval.upper[1])
    assert interval.point[2] == 2 / 3 and np.isnan(variance[2])
    assert np.isnan(interval.lower[2]) and np.isnan(interval.upper[2])
    assert interval.point[0] == 0.75 and not np.isnan(interval.lower[0])


# -- bad input -------------------------------------------------------------------------


def test_bad_input_is_refused_and_changes_nothing():
    y_true, y_score, _ = data(10)
    acc = tally.Tally(5, bootstrap=10).update(y_true, y_score)
    before = acc.to_bytes()
    cases = [
        (dict(metric="f1", level=1.0, method="bootstrap"), ValueError, "Expected `level` to be between 0 and 1"),
        (dict(metric="f1", level=0.0, method="bootstrap"), ValueError, "but got 0.0"),
        (dict(metric="recall", level=float("nan")), ValueError, "but got nan"),
        (dict(metric="recall", method="normal"), ValueError,
         "Expected `method` to be one of 'wilson', 'clopper_pearson', 'bootstrap', 'delong', but got 'normal'"),
        (dict(metric="auc"), ValueError, "Expected `metric` to be one of 'precision'"),
        (dict(metric="f1", method="wilson"), ValueError, "use method='bootstrap'"),
        (dict(metric="recall", method="wilson", average="macro"), ValueError, "Expected `average` to be None or 'micro'"),
        (dict(metric="recall", method="delong"), ValueError, "for a counting metric, but got 'delong'"),
        (dict(metric="matthews_corrcoef", method="bootstrap", average="micro"), ValueError, "Matthews"),
        (dict(metric="fbeta", method="bootstrap", beta=-1), ValueError, "beta"),
        (dict(metric="recall", average="mean"), ValueError, "average"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace("'", "'")):
            acc.confidence_interval(**kwargs)
    with pytest.raises(ValueError, match="Expected `y_true` to hold only 0 and 1 where `sample_weight` is not 0"):
        acc.update(y_true * 2, y_score, np.ones(y_true.shape))
    with pytest.raises(ValueError, match="Expected `y_true` to hold only 0 and 1"):
        acc.update(y_true * 2, y_score)
    with pytest.raises(ValueError, match=r"Expected `row_ids` to have 240 values \(one per row\), but got 3"):
        acc.update(y_true, y_score, row_ids=[1, 2, 3])
    with pytest.raises(ValueError, match="Expected `row_ids` to be an int >= 0"):
        acc.update(y_true, y_score, row_ids=-1)
    with pytest.raises(ValueError, match="bootstrap=10 and seed=0 to merge, but got bootstrap=10 and seed=1"):
        acc.merge(tally.Tally(5, bootstrap=10, seed=1))
    with pytest.raises(ValueError, match="keep bootstrap replicates or neither"):
        acc.merge(tally.Tally(5))
    with pytest.raises(ValueError, match="Expected a state with bootstrap=10, seed=0 like this Tally"):
        acc.load_bytes(tally.Tally(5, bootstrap=10, seed=2).to_bytes())
    assert acc.to_bytes() == before
    plain = tally.Tally(5).update(y_true, y_score)
    with pytest.raises(ValueError, match="Expected bootstrap replicates for method='bootstrap'"):
        plain.confidence_interval("f1", method="bootstrap")
    with pytest.raises(ValueError, match="Expected `row_ids` only with bootstrap replicates"):
        plain.update(y_true, y_score, row_ids=0)
    with pytest.raises(ValueError, match="Expected `bootstrap` to be an int >= 0"):
        tally.Tally(5, bootstrap=-3)
    with pytest.raises(TypeError, match="Expected `seed` to be an int"):
        tally.Tally(5, bootstrap=3, seed="x")
    with pytest.raises(ValueError, match="Expected `level` to be between 0 and 1"):
        proportion_interval(1, 2, level=2)


def test_delong_bad_input():
    y, a, b = delong_case(11)
    store = ScoreTally(4).update(y, a)
    with pytest.raises(ValueError, match="Expected unweighted scores for DeLong"):
        ScoreTally(4).update(y, a, np.ones(len(y))).confidence_interval()
    with pytest.raises(ValueError, match="label 0's y_true differs"):
        delong_test(store, ScoreTally(4).update(1 - y, b))
    with pytest.raises(ValueError, match="Expected two score stores of the same rows"):
        delong_test(store, ScoreTally(4).update(y[:10], b[:10]))
    with pytest.raises(ValueError, match="Expected `level` to be between 0 and 1"):
        store.confidence_interval(level=-0.5)
    with pytest.raises(ValueError, match="Expected `method` to be 'delong'"):
        store.confidence_interval(method="bootstrap")
    with pytest.raises(ValueError, match="Expected `average` to be None"):
        store.confidence_interval(average="macro")
    with pytest.raises(TypeError, match="Expected `b` to be a ScoreTally"):
        delong_test(store, tally.Tally(4))


# -- reports ---------------------------------------------------------------------------


def test_report_interval_columns_match_statsmodels_and_the_bootstrap_reference():
    import json

    y_true, y_score, _ = data(12, n=200, k=4)
    y_pred = (y_score >= 0.5).astype(np.int8)
    plain = tally.metrics.classification_report(y_true, y_pred, zero_division=0)
    text = tally.metrics.classification_report(y_true, y_pred, zero_division=0, ci="wilson")
    lines, plain_lines = text.split("\n"), plain.split("\n")
    # scikit-learn's columns unchanged, intervals after them, no trailing spaces, the note last.
    assert lines[0].startswith(plain_lines[0]) and lines[0].endswith("precision CI     recall CI")
    assert all(a.startswith(b) for a, b in zip(lines, plain_lines))
    assert all(line == line.rstrip() for line in lines)
    assert lines[-2] == "intervals: wilson, level 0.95"
    for method in ("wilson", "clopper_pearson"):
        report = json.loads(tally.metrics.classification_report(y_true, y_pred, zero_division=0, ci=method,
                                                                level=0.9, output="json"))
        for metric, column in (("precision", "precision CI"), ("recall", "recall CI")):
            successes, trials = successes_trials(metric, y_true, y_pred, None)
            lower, upper = statsmodels_interval(successes, trials, 0.9, method)
            for j in range(4):
                if trials[j] > 0:
                    np.testing.assert_allclose(report[str(j)][column], [lower[j], upper[j]], rtol=1e-10, atol=1e-15)
            lower, upper = statsmodels_interval(np.array([successes.sum()]), np.array([trials.sum()]), 0.9, method)
            np.testing.assert_allclose(report["micro avg"][column], [lower[0], upper[0]], rtol=1e-10)
            assert column not in report["macro avg"]
    report = json.loads(tally.metrics.classification_report(y_true, y_pred, zero_division=0, ci="bootstrap",
                                                            output="json"))
    draws = numpy_poisson_weights(0, np.arange(len(y_true)), 200)
    for average, row in (("macro", "macro avg"), ("samples", "samples avg"), (None, "2")):
        values = np.array([sk_metric("f1", average, y_true, y_pred, draws[:, b]) for b in range(200)])
        values = values if average is None else values[:, None]
        column = 2 if average is None else 0
        np.testing.assert_allclose(report[row]["f1-score CI"], np.percentile(values[:, column], [2.5, 97.5]),
                                   rtol=1e-11)


def test_html_repr_has_intervals_with_replicates_only():
    y_true, y_score, _ = data(13, n=50, k=3)
    assert "CI" not in tally.Tally(3).update(y_true, y_score)._repr_html_()
    html = tally.Tally(3, bootstrap=20).update(y_true, y_score)._repr_html_()
    assert "<th>f1-score CI</th>" in html and "intervals: bootstrap, level 0.95" in html
    with pytest.raises(ValueError, match="Expected multi-label targets, all labels"):
        tally.metrics.classification_report(y_true[:, 0], y_true[:, 0], ci="wilson")


@pytest.mark.parametrize("extra", [
    ["--ci", "wilson"],
    ["--ci", "clopper_pearson", "--level", "0.9", "--format", "markdown"],
    ["--ci", "bootstrap", "--bootstrap", "30", "--seed", "5", "--digits", "3"],
    ["--ci", "bootstrap", "--format", "json", "--weights", "{d}/w.npy"],
    ["--ci", "bootstrap", "--format", "html", "--labels", "{d}/names.txt"],
    ["--ci", "normal"],
    ["--ci", "wilson", "--level", "1.5"],
])
def test_cli_intervals_same_bytes_in_swift_and_python(swift_cli, recorded, extra):
    import subprocess
    import sys

    d, _, _ = recorded
    args = ["report", "--true", f"{d}/y_true.npy", "--score", f"{d}/y_score.npy"] + [a.format(d=d) for a in extra]
    swift = subprocess.run([swift_cli] + args, capture_output=True, text=True)
    python = subprocess.run([sys.executable, "-m", "tally.cli"] + args, capture_output=True, text=True)
    assert (swift.returncode, swift.stdout, swift.stderr) == (python.returncode, python.stdout, python.stderr)
    assert swift.returncode == (2 if extra[1] == "normal" or "1.5" in extra else 0)


def test_one_shot_confidence_interval():
    y_true, y_score, w = data(14, n=150, weighted=True)
    y_pred = (y_score >= 0.5).astype(np.int8)
    got = tally.metrics.confidence_interval(y_true, y_pred, "npv", method="clopper_pearson", sample_weight=w)
    successes, trials = successes_trials("npv", y_true, y_pred, w)
    lower, upper = statsmodels_interval(successes, trials, 0.95, "clopper_pearson")
    np.testing.assert_allclose(got.lower, lower, rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(got.upper, upper, rtol=1e-10, equal_nan=True)
    one_shot = tally.metrics.confidence_interval(y_true, y_pred, "jaccard", "weighted", method="bootstrap", seed=3)
    streamed = tally.Tally(5, bootstrap=True, seed=3).update(y_true, y_pred)
    assert one_shot == streamed.confidence_interval("jaccard", "weighted", method="bootstrap")
    with pytest.raises(ValueError, match="Expected multi-label targets"):
        tally.metrics.confidence_interval(y_true[:, 0], y_pred[:, 0], "recall")


def test_dask_partitions_draw_distinct_bootstrap_weights():
    pytest.importorskip("dask")
    import dask
    import dask.array as da

    import tally.dask

    y_true, y_score, _ = data(15, n=90, k=3)
    with dask.config.set(scheduler="sync"):
        got = tally.dask.update(tally.Tally(3, bootstrap=20, seed=2), da.from_array(y_true, chunks=(30, 3)),
                                da.from_array(y_score, chunks=(30, 3)))
    # Partition i numbers its rows from (i + 1) * 2**40.
    want = tally.Tally(3, bootstrap=20, seed=2)
    for i in range(3):
        want.update(y_true[30 * i:30 * (i + 1)], y_score[30 * i:30 * (i + 1)], row_ids=(i + 1) << 40)
    assert got.to_bytes() == want.to_bytes()
    reused = tally.Tally(3, bootstrap=20, seed=2)
    for i in range(3):
        reused.merge(tally.Tally(3, bootstrap=20, seed=2).update(y_true[30 * i:30 * (i + 1)], y_score[30 * i:30 * (i + 1)]))
    assert got.to_bytes() != reused.to_bytes()


@pytest.mark.parametrize("metric,average", [("precision", None), ("f1", "macro"), ("f1", "micro"),
                                            ("jaccard", "weighted"), ("recall", "samples"),
                                            ("matthews_corrcoef", None), ("label_accuracy", None)])
def test_bootstrap_with_a_mask_equals_counts_weighted_by_mask_times_draws(metric, average):
    # 2-D weights (0 = missing label): replicate b must hold the counts of the
    # 2-D weights W * w_b, with w_b drawn here by numpy.
    y_true, y_score, _ = data(16, n=80, k=4)
    r = np.random.default_rng(16)
    W = np.where(r.random(y_true.shape) < 0.2, 0.0, np.round(r.random(y_true.shape) * 2 + 0.5, 1))
    W[:5] = 0  # fully masked rows
    y_true = np.where(W == 0, -1, y_true)  # not read where masked
    B = 12
    acc = tally.Tally(4, bootstrap=B, seed=5)
    acc.update(y_true[:30], y_score[:30], W[:30])
    acc.update(np.clip(y_true[30:40], 0, 1), y_score[30:40])  # a 1-D batch between
    acc.update(y_true[40:], y_score[40:], W[40:])
    W_all = W.copy()
    W_all[30:40] = 1
    draws = numpy_poisson_weights(5, np.arange(80), B)
    ours = acc.bootstrap_distribution(metric, average)
    for b in range(B):
        reference = tally.Tally(4).update(np.clip(y_true, 0, 1), y_score, W_all * draws[:, b:b + 1])
        want = getattr(reference, metric)(average) if metric not in ("f1",) else reference.f1(average, zero_division=0.0)
        if metric in ("precision", "recall", "jaccard"):
            want = getattr(reference, metric)(average, zero_division=0.0)
        np.testing.assert_allclose(ours[b], want, rtol=1e-12, atol=1e-14)
    restored = tally.Tally(4, bootstrap=B, seed=5).load_bytes(acc.to_bytes())
    assert restored.to_bytes() == acc.to_bytes()
    halves = tally.Tally(4, bootstrap=B, seed=5).update(y_true[:30], y_score[:30], W[:30])
    rest = tally.Tally(4, bootstrap=B, seed=5).update(np.clip(y_true[30:40], 0, 1), y_score[30:40], row_ids=30)
    rest.update(y_true[40:], y_score[40:], W[40:], row_ids=40)
    np.testing.assert_allclose(halves.merge(rest).bootstrap_distribution(metric, average), ours, rtol=1e-12)


def test_corrupted_replicate_bytes_raise_clear_errors():
    from tally import _tally

    y_true, y_score, _ = data(17, n=40, k=3)
    W = np.ones(y_true.shape)
    W[:3, 1] = 0
    good = _tally.bootstrap_serialize(tally.Tally(3, bootstrap=4).update(y_true, y_score, W)._bootstrap)
    r = np.random.default_rng(17)
    for trial in range(300):
        bad = bytearray(good)
        if trial % 3 == 0:
            bad = bad[:r.integers(0, len(bad))]
        else:
            for i in r.integers(0, len(bad), size=r.integers(1, 4)):
                bad[i] = r.integers(0, 256)
        try:
            _tally.bootstrap_from_bytes(bytes(bad))
        except ValueError as error:
            assert str(error).startswith("Expected bytes from BootstrapCounts.serialized(), but")

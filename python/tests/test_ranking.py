"""Score-based metrics (ROC AUC, average precision, curves) and row-wise ranking
metrics against scikit-learn; streaming, merging, pickling, processes, threads."""

import itertools
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import sklearn.metrics as sk
from hypothesis import given, strategies as st

import tally
from tally import metrics as tm
from tally.scores import BinnedScoreTally, RankingTally, ScoreTally

from conftest import assert_same, run_recording

AVERAGES = [None, "micro", "macro", "weighted", "samples"]


@st.composite
def scored(draw, min_labels=2):
    """0/1 truth and scores with ties, constant columns, empty and full rows,
    labels without positives or negatives, and maybe weights (some zero)."""
    n = draw(st.integers(2, 40))
    k = draw(st.integers(min_labels, 6))
    r = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y_true = (r.random((n, k)) < draw(st.sampled_from([0.1, 0.3, 0.5, 0.9]))).astype(np.int64)
    levels = draw(st.sampled_from([2, 4, 10, 1000]))  # few levels: many ties
    y_score = (np.floor(r.random((n, k)) * levels) / levels).astype(draw(st.sampled_from([np.float32, np.float64])))
    if draw(st.booleans()):
        y_score[:, r.integers(k)] = 0.5  # a constant column
    if draw(st.booleans()):
        y_true[:, r.integers(k)] = draw(st.sampled_from([0, 1]))  # a label with one class
    if draw(st.booleans()):
        y_true[r.integers(n)] = 0  # an empty row
    weight = None
    if draw(st.booleans()):
        weight = r.choice([0.0, 0.5, 1.0, 2.5], size=n)
        weight[0] = 1.0  # scikit-learn refuses all-zero weights
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=4)))
    return y_true, y_score, weight, cuts


def batches(n, cuts):
    edges = [0] + list(cuts) + [n]
    return list(zip(edges, edges[1:]))


def same_call(ours_fn, theirs_fn, *args, **kw):
    try:
        theirs, their_warnings = run_recording(theirs_fn, *args, **kw)
    except (ValueError, IndexError, ZeroDivisionError) as exc:
        if "At least 2 points are needed" in str(exc):
            # scikit-learn's own failure on a partial AUC whose only negatives weigh 0;
            # tally gives that label nan with the "No negative samples" warning instead.
            return None
        with pytest.raises(ValueError):
            ours_fn(*args, **kw)
        return None
    ours, our_warnings = run_recording(ours_fn, *args, **kw)
    assert_same(ours, theirs)
    assert our_warnings == their_warnings, (our_warnings, their_warnings)
    return ours


@given(scored(), st.sampled_from(AVERAGES), st.sampled_from([None, 1.0, 0.5, 0.1]))
def test_roc_auc_equals_sklearn(data, average, max_fpr):
    y_true, y_score, weight, _ = data
    same_call(tm.roc_auc_score, sk.roc_auc_score, y_true, y_score, average=average, sample_weight=weight,
              max_fpr=max_fpr)


@given(scored(), st.sampled_from(AVERAGES))
def test_average_precision_equals_sklearn(data, average):
    y_true, y_score, weight, _ = data
    same_call(tm.average_precision_score, sk.average_precision_score, y_true, y_score, average=average,
              sample_weight=weight)


@given(scored(min_labels=1), st.booleans())
def test_binary_curves_equal_sklearn(data, drop):
    y_true, y_score, weight, _ = data
    yt, ys = y_true[:, 0], y_score[:, 0]
    same_call(tm.roc_curve, sk.roc_curve, yt, ys, sample_weight=weight, drop_intermediate=drop)
    same_call(tm.precision_recall_curve, sk.precision_recall_curve, yt, ys, sample_weight=weight,
              drop_intermediate=drop)
    same_call(tm.roc_auc_score, sk.roc_auc_score, yt, ys, sample_weight=weight)
    same_call(tm.average_precision_score, sk.average_precision_score, yt, ys, sample_weight=weight)


@given(scored())
def test_ranking_metrics_equal_sklearn(data):
    y_true, y_score, weight, _ = data
    for name in ("label_ranking_average_precision_score", "coverage_error", "label_ranking_loss"):
        same_call(getattr(tm, name), getattr(sk, name), y_true, y_score, sample_weight=weight)
    for k in (None, 1, 2, 5):
        same_call(tm.ndcg_score, sk.ndcg_score, y_true, y_score, k=k, sample_weight=weight)


@given(scored())
def test_ndcg_graded_relevance(data):
    y_true, y_score, weight, _ = data
    graded = y_true * np.arange(1, y_true.shape[1] + 1)  # relevances 0..k
    same_call(tm.ndcg_score, sk.ndcg_score, graded, y_score, k=3, sample_weight=weight)


def reference_top_k(y_true, y_score, k, weight):
    """precision@k and recall@k by brute force: average over every order of the tied labels."""
    n, m = y_true.shape
    w = np.ones(n) if weight is None else weight
    p_sum = r_sum = r_weight = 0.0
    for row in range(n):
        s, t = y_score[row].astype(np.float64), y_true[row]
        # Expected hits: labels strictly above the k-th score all count; ties share the rest.
        order = np.sort(s)[::-1]
        kth = order[min(k, m) - 1]
        above = s > kth
        tied = s == kth
        slots = min(k, m) - above.sum()
        hits = t[above].sum() + slots * t[tied].sum() / tied.sum()
        p_sum += w[row] * hits / min(k, m)
        if t.sum() > 0:
            r_sum += w[row] * hits / t.sum()
            r_weight += w[row]
    return p_sum / w.sum(), (r_sum / r_weight if r_weight else np.nan)


@given(scored(), st.sampled_from([1, 2, 3, 10]))
def test_precision_recall_at_k(data, k):
    y_true, y_score, weight, _ = data
    p, r = reference_top_k(y_true, y_score, k, weight)
    assert tm.precision_at_k(y_true, y_score, k=k, sample_weight=weight) == pytest.approx(p, rel=1e-12, abs=1e-12)
    ours_r = tm.recall_at_k(y_true, y_score, k=k, sample_weight=weight)
    assert (np.isnan(r) and np.isnan(ours_r)) or ours_r == pytest.approx(r, rel=1e-12, abs=1e-12)


@given(scored())
def test_streaming_and_merge_equal_one_shot(data):
    y_true, y_score, weight, cuts = data
    n, k = y_true.shape
    parts = batches(n, cuts)
    # Batch by batch.
    store, ranking = ScoreTally(k), RankingTally(k, k=3, top_k=(1, 2))
    for a, b in parts:
        w = None if weight is None else weight[a:b]
        store.update(y_true[a:b], y_score[a:b], w)
        ranking.update(y_true[a:b], y_score[a:b], w)
    # Shards, pickled, merged in order.
    shards = []
    for a, b in parts:
        s = ScoreTally(k).update(y_true[a:b], y_score[a:b], None if weight is None else weight[a:b])
        shards.append(pickle.loads(pickle.dumps(s)))
    merged = shards[0].copy()
    for s in shards[1:]:
        merged.merge(s)
    one_shot = ScoreTally(k).update(y_true, y_score, weight)
    assert merged.to_bytes() == one_shot.to_bytes()  # merging concatenates: the same state
    for average in AVERAGES:
        for acc in (store, merged):
            ours, w1 = run_recording(acc.roc_auc, average)
            theirs, w2 = run_recording(tm.roc_auc_score, y_true, y_score, average=average, sample_weight=weight)
            assert_same(ours, theirs)
            assert w1 == w2
            assert_same(acc.average_precision(average),
                        run_recording(tm.average_precision_score, y_true, y_score, average=average,
                                      sample_weight=weight)[0])
    whole = RankingTally(k, k=3, top_k=(1, 2)).update(y_true, y_score, weight)
    for name in ("label_ranking_average_precision", "coverage_error", "label_ranking_loss", "ndcg"):
        assert getattr(ranking, name)() == pytest.approx(getattr(whole, name)(), rel=1e-12, abs=1e-12)
    assert ranking.precision_at_k() == pytest.approx(whole.precision_at_k(), rel=1e-12)
    restored = pickle.loads(pickle.dumps(ranking))
    assert restored.ndcg() == ranking.ndcg() and restored.n_samples == n


@given(scored(), st.sampled_from([1, 7, 100, 10000]))
def test_binned_bounds_hold_the_exact_value(data, bins):
    y_true, y_score, weight, cuts = data
    k = y_true.shape[1]
    binned = BinnedScoreTally(k, bins=bins)
    for a, b in batches(len(y_true), cuts):
        binned.update(y_true[a:b], y_score[a:b], None if weight is None else weight[a:b])
    binned = pickle.loads(pickle.dumps(binned))
    for average in (None, "micro", "macro", "weighted"):
        exact_auc = run_recording(tm.roc_auc_score, y_true, y_score, average=average, sample_weight=weight)[0]
        exact_ap = run_recording(tm.average_precision_score, y_true, y_score, average=average,
                                 sample_weight=weight)[0]
        for exact, (v, lo, hi) in ((exact_auc, run_recording(binned.roc_auc, average, return_bounds=True)[0]),
                                   (exact_ap, run_recording(binned.average_precision, average,
                                                            return_bounds=True)[0])):
            exact, v, lo, hi = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (exact, v, lo, hi))
            ok = np.isnan(exact) | ((lo - 1e-12 <= exact) & (exact <= hi + 1e-12))
            assert ok.all(), (average, exact, lo, hi)
            assert (np.isnan(v) | ((lo - 1e-12 <= v) & (v <= hi + 1e-12))).all()


def test_binned_is_exact_when_every_score_has_its_own_bin():
    rng = np.random.default_rng(0)
    y_true = rng.random((500, 4)) < 0.3
    y_score = np.floor(rng.random((500, 4)) * 16) / 16  # 16 levels, each bin one level
    binned = BinnedScoreTally(4, bins=16).update(y_true, y_score)
    v, lo, hi = binned.roc_auc(None, return_bounds=True)
    np.testing.assert_allclose(v, sk.roc_auc_score(y_true, y_score, average=None), rtol=1e-12)
    np.testing.assert_allclose(binned.average_precision(None),
                               sk.average_precision_score(y_true, y_score, average=None), rtol=1e-12)


def test_undefined_labels_are_named():
    y_true = np.array([[0, 1, 1], [0, 0, 1], [0, 1, 1]])
    y_score = np.array([[0.1, 0.9, 0.3], [0.2, 0.1, 0.4], [0.3, 0.8, 0.5]])
    with pytest.warns(tally.UndefinedMetricWarning, match="Only one class is present in y_true"):
        values, undefined = tm.roc_auc_score(y_true, y_score, average=None, return_undefined=True)
    assert np.isnan(values[[0, 2]]).all() and values[1] == 1.0
    np.testing.assert_array_equal(undefined, [0, 2])
    with pytest.warns(UserWarning, match="No positive class found"):
        assert tm.average_precision_score(y_true, y_score, average=None)[0] == 0.0


def test_float64_scores_that_float32_would_merge_stay_distinct():
    y_true = np.array([[1], [0]] * 3).reshape(-1, 1)
    y_score = np.array([0.5, 0.5 + 1e-12, 0.3, 0.3 - 1e-13, 0.7, 0.7]).reshape(-1, 1)
    acc = ScoreTally(1).update(y_true, y_score)
    assert acc.roc_auc() == sk.roc_auc_score(y_true.ravel(), y_score.ravel())
    assert acc.memory_bytes == 6 * 8 + 8  # 64-bit keys + one truth word
    narrow = ScoreTally(1).update(y_true, y_score.astype(np.float32))
    assert narrow.memory_bytes == 6 * 4 + 8
    merged = narrow.copy().merge(acc)  # widens
    both = np.vstack([y_score.astype(np.float32).astype(np.float64), y_score])
    assert merged.roc_auc() == pytest.approx(sk.roc_auc_score(np.vstack([y_true, y_true]).ravel(), both.ravel()),
                                             rel=1e-15)


def test_per_label_curves_of_the_store():
    rng = np.random.default_rng(1)
    y_true = rng.random((300, 3)) < 0.4
    y_score = np.round(rng.random((300, 3)), 2).astype(np.float32)
    acc = ScoreTally(3)
    for part in np.array_split(np.arange(300), 7):
        acc.update(y_true[part], y_score[part])
    for j in range(3):
        for ours, theirs in zip(acc.roc_curve(j), sk.roc_curve(y_true[:, j], y_score[:, j])):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)
        for ours, theirs in zip(acc.precision_recall_curve(j), sk.precision_recall_curve(y_true[:, j], y_score[:, j])):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def _partial_state(args):
    y_true, y_score = args
    s = ScoreTally(y_true.shape[1]).update(y_true, y_score)
    r = RankingTally(y_true.shape[1]).update(y_true, y_score)
    return s.to_bytes(), pickle.dumps(r)


def test_process_pool_shards_merge_to_one_shot():
    rng = np.random.default_rng(7)
    y_true = rng.random((4000, 5)) < 0.3
    y_score = (np.floor(rng.random((4000, 5)) * 50) / 50).astype(np.float32)
    shards = [(y_true[i::4], y_score[i::4]) for i in range(4)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        states = list(pool.map(_partial_state, shards))
    store = ScoreTally.from_bytes(states[0][0])
    ranking = pickle.loads(states[0][1])
    for s, r in states[1:]:
        store.merge(ScoreTally.from_bytes(s))
        ranking.merge(pickle.loads(r))
    yt = np.vstack([s[0] for s in shards])
    ys = np.vstack([s[1] for s in shards])
    for average in AVERAGES:
        assert_same(run_recording(store.roc_auc, average)[0],
                    run_recording(sk.roc_auc_score, yt, ys, average=average)[0])
        assert_same(run_recording(store.average_precision, average)[0],
                    run_recording(sk.average_precision_score, yt, ys, average=average)[0])
    assert ranking.label_ranking_average_precision() == pytest.approx(
        sk.label_ranking_average_precision_score(y_true, y_score), rel=1e-12)
    assert ranking.coverage_error() == pytest.approx(sk.coverage_error(y_true, y_score), rel=1e-12)
    assert ranking.label_ranking_loss() == pytest.approx(sk.label_ranking_loss(y_true, y_score), rel=1e-12)
    assert ranking.ndcg() == pytest.approx(sk.ndcg_score(y_true, y_score), rel=1e-12)


def test_threads_update_one_store():
    rng = np.random.default_rng(2)
    y_true = rng.random((8000, 4)) < 0.3
    y_score = rng.random((8000, 4)).astype(np.float32)
    store, ranking = ScoreTally(4), RankingTally(4)
    chunks = np.array_split(np.arange(8000), 40)

    def work(ids):
        for c in ids:
            store.update(y_true[chunks[c]], y_score[chunks[c]])
            ranking.update(y_true[chunks[c]], y_score[chunks[c]])

    threads = [threading.Thread(target=work, args=(range(i, 40, 4),)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.n_samples == ranking.n_samples == 8000
    # Row order differs from the arrays; the scores do not depend on it.
    assert store.roc_auc(None) == pytest.approx(sk.roc_auc_score(y_true, y_score, average=None), rel=1e-12)
    assert ranking.coverage_error() == pytest.approx(sk.coverage_error(y_true, y_score), rel=1e-12)


def test_errors_name_what_was_expected():
    y = np.array([[1, 0], [0, 1]])
    s = np.array([[0.2, 0.3], [0.4, 0.5]])
    acc = ScoreTally(2)
    with pytest.raises(ValueError, match=r"Expected `y_true` to have 2 columns, but got 3"):
        acc.update(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Expected `y_true` to hold only 0 and 1, but got 2"):
        acc.update(np.array([[1, 2], [0, 1]]), s)
    with pytest.raises(ValueError, match=r"Expected `y_score` to hold finite numbers, but got nan at row 1, column 0"):
        acc.update(y, np.array([[0.1, 0.2], [np.nan, 0.3]]))
    with pytest.raises(ValueError, match=r"inf"):
        acc.update(y, np.array([[0.1, np.inf], [0.2, 0.3]]))
    with pytest.raises(ValueError, match=r"Expected `sample_weight` to have 2 values"):
        acc.update(y, s, [1.0])
    assert acc.n_samples == 0  # nothing changed by the failed calls
    with pytest.raises(ValueError, match="at least one row"):
        acc.roc_auc()
    acc.update(y, s)
    with pytest.raises(ValueError, match=r"max_fpr"):
        acc.roc_auc(max_fpr=0)
    with pytest.raises(ValueError, match=r"Expected `average`"):
        acc.roc_auc(average="mean")
    with pytest.raises(TypeError, match="Expected a ScoreTally to merge"):
        acc.merge(RankingTally(2))
    with pytest.raises(ValueError, match="Expected a score store with 2 labels to merge, but got 3"):
        acc.merge(ScoreTally(3).update(np.zeros((1, 3)), np.zeros((1, 3))))
    with pytest.raises(ValueError, match="ScoreStore.serialized"):
        ScoreTally.from_bytes(b"not a state")
    with pytest.raises(ValueError, match="y_true and y_score have different shape"):
        tm.coverage_error(y, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="graded relevances"):
        RankingTally(2).update(np.array([[2, 0], [0, 1]]), s).coverage_error()
    with pytest.raises(ValueError, match="more than 1 document"):
        tm.ndcg_score(np.array([[1], [0]]), np.array([[0.1], [0.2]]))
    with pytest.raises(ValueError, match="multiclass format is not supported"):
        tm.roc_auc_score([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="bins"):
        BinnedScoreTally(2, bins=0)


# -- a RankingTally for a subset of its metrics (what each one-shot function uses) ----------

@given(st.integers(1, 60), st.integers(2, 7), st.integers(0, 2**32 - 1))
def test_metric_subsets_equal_the_full_accumulator(n, k, seed):
    rng = np.random.default_rng(seed)
    y_true = rng.random((n, k)) < 0.3
    y_score = rng.choice(np.array([0.1, 0.5, 0.5, 0.9, -0.0, 0.0], dtype=np.float32), size=(n, k))
    w = rng.integers(0, 3, size=n).astype(float)
    full = RankingTally(k, top_k=(1, 2)).update(y_true, y_score, w)
    getters = {"lrap": "label_ranking_average_precision", "coverage": "coverage_error",
               "ranking_loss": "label_ranking_loss", "ndcg": "ndcg", "top_k": "precision_at_k"}
    for metric, getter in getters.items():
        part = RankingTally(k, top_k=(1, 2), metrics=[metric]).update(y_true, y_score, w)
        np.testing.assert_equal(getattr(part, getter)(), getattr(full, getter)())  # nan when no weight
        other = "coverage_error" if metric != "coverage" else "ndcg"
        with pytest.raises(ValueError, match=r"Expected a ranking accumulator keeping .*, but this one keeps only "):
            getattr(part, other)()
        restored = pickle.loads(pickle.dumps(part))
        np.testing.assert_equal(getattr(restored, getter)(), getattr(part, getter)())
    # The one-shot functions (each keeps only its own metric) still equal scikit-learn.
    if w.any():
        assert tm.coverage_error(y_true, y_score, sample_weight=w) == pytest.approx(
            sk.coverage_error(y_true, y_score, sample_weight=w), rel=1e-12)


def test_metric_subset_checks():
    with pytest.raises(ValueError, match=r"Expected `metrics` to be a non-empty sequence of"):
        RankingTally(3, metrics=["auc"])
    with pytest.raises(ValueError, match=r"Expected `metrics` to be a non-empty sequence of"):
        RankingTally(3, metrics=[])
    a = RankingTally(3, metrics="coverage")
    with pytest.raises(ValueError, match=r"Expected ranking sums keeping \[\"coverage\"\] to merge, but got ones keeping"):
        a.merge(RankingTally(3))

"""Tuned thresholds against a brute-force numpy search over every candidate
(each distinct score and +inf), and applied back through `tally.Tally`."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tally
from tally.metrics import tune_thresholds
from tally.scores import BinnedScoreTally, ScoreTally
from tally.thresholds import TunedThresholds

OBJECTIVES = [
    ("f1", {}), ("fbeta", {"beta": 2.0}), ("fbeta", {"beta": 0.5}), ("fbeta", {"beta": 0.0}),
    ("recall_at_precision", {"min_precision": 0.5}), ("recall_at_precision", {"min_precision": 1.0}),
    ("precision_at_recall", {"min_recall": 0.0}), ("precision_at_recall", {"min_recall": 0.6}),
    ("precision_at_recall", {"min_recall": 1.0}), ("recall_at_precision", {"min_precision": 0.0}),
    ("youden", {}), ("rate", {"rate": 0.0}), ("rate", {"rate": 0.35}), ("rate", {"rate": 1.0}),
]


def objective_value(name, params, tp, fp, positives, negatives):
    """The objective at one threshold, written out here; None where undefined or infeasible."""
    predicted = tp + fp
    precision = tp / predicted if predicted > 0 else None
    recall = tp / positives if positives > 0 else None
    if name in ("f1", "fbeta"):
        b = params.get("beta", 1.0)
        if positives == 0:
            return None
        if b == 0:
            return precision
        d = b * b * positives + predicted
        return (1 + b * b) * tp / d if d > 0 else None
    if name == "recall_at_precision":
        ok = positives > 0 and precision is not None and precision >= params["min_precision"]
        return recall if ok else None
    if name == "precision_at_recall":
        ok = positives > 0 and precision is not None and recall >= params["min_recall"]
        return precision if ok else None
    if name == "youden":
        return tp / positives - fp / negatives if positives > 0 and negatives > 0 else None
    total = positives + negatives
    return predicted / total if total > 0 and predicted / total >= params["rate"] else None


def brute_force(y, s, w, name, params):
    """(thresholds, values) per label: the best candidate, the highest among equal optima."""
    w = np.ones(len(y)) if w is None else w
    thresholds, values = [], []
    for j in range(y.shape[1]):
        yj, sj = y[:, j].astype(bool), s[:, j].astype(np.float64)
        positives, negatives = float(w[yj].sum()), float(w[~yj].sum())
        scored = []
        for t in list(np.unique(sj)) + [np.inf]:
            pred = sj >= t
            v = objective_value(name, params, float(w[yj & pred].sum()), float(w[~yj & pred].sum()),
                                positives, negatives)
            if v is not None:
                scored.append((float(t), v))
        if not scored:
            thresholds.append(np.inf)
            values.append(np.nan)
        elif name == "rate":
            t, v = max(scored)
            thresholds.append(t)
            values.append(v)
        else:
            best = max(v for _, v in scored)
            thresholds.append(max(t for t, v in scored if v == best))
            values.append(best)
    return np.array(thresholds), np.array(values)


def applied_value(name, params, y, s, w, thresholds):
    """The objective read from `tally.Tally` counts at the returned thresholds."""
    acc = tally.Tally(y.shape[1], threshold=thresholds)
    acc.update(y, s, w)
    cm = acc.confusion_matrix()  # (labels, 2, 2): [[tn, fp], [fn, tp]]
    tn, fp, fn, tp = cm[:, 0, 0], cm[:, 0, 1], cm[:, 1, 0], cm[:, 1, 1]
    with np.errstate(all="ignore"):
        if name in ("f1", "fbeta"):
            b = params.get("beta", 1.0)
            return acc.fbeta(b, zero_division=np.nan) if b != 1 else acc.f1(zero_division=np.nan)
        if name == "recall_at_precision":
            return acc.recall(zero_division=np.nan)
        if name == "precision_at_recall":
            return acc.precision(zero_division=np.nan)
        if name == "youden":
            return tp / (tp + fn) - fp / (fp + tn)
        return (tp + fp) / (tp + fp + fn + tn)


@st.composite
def problems(draw):
    rows = draw(st.integers(1, 30))
    labels = draw(st.integers(1, 4))
    levels = draw(st.integers(1, 5))  # few distinct scores: heavy ties (1: all equal)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, (rows, labels)).astype(np.uint8)
    if labels > 1 and draw(st.booleans()):
        y[:, 0] = 0  # a label with no positives
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    s = (rng.integers(0, levels, (rows, labels)) / levels).astype(dtype)
    # Weights are multiples of 1/4, so sums are exact in any order (some 0).
    w = rng.integers(0, 9, rows) / 4 if draw(st.booleans()) else None
    return y, s, w


@given(problems())
def test_every_objective_matches_the_brute_force_search(problem):
    y, s, w = problem
    store = ScoreTally(y.shape[1]).update(y, s, w)
    checked = 0
    for name, params in OBJECTIVES:
        result = store.tune_thresholds(name, **params)
        t, v = brute_force(y, s, w, name, params)
        np.testing.assert_array_equal(result.thresholds, t, err_msg=f"{name} {params}")
        np.testing.assert_allclose(result.values, v, rtol=0, atol=1e-12, equal_nan=True)
        np.testing.assert_array_equal(result.undefined, np.isnan(v))
        # Applying the thresholds with `>=` through tally.Tally gives exactly the value.
        applied = np.asarray(applied_value(name, params, y, s, w, result), dtype=np.float64)
        defined = ~result.undefined
        np.testing.assert_array_equal(applied[defined], result.values[defined], err_msg=f"{name} {params}")
        checked += int(defined.sum()) + 1
    assert checked >= len(OBJECTIVES)


@given(problems(), st.integers(1, 7))
def test_batched_and_merged_stores_give_the_same_thresholds(problem, batch):
    y, s, w = problem
    n = y.shape[1]
    whole = ScoreTally(n).update(y, s, w)
    batched = ScoreTally(n)
    for i in range(0, len(y), batch):
        batched.update(y[i:i + batch], s[i:i + batch], None if w is None else w[i:i + batch])
    half = len(y) // 2
    first = ScoreTally(n).update(y[:half], s[:half], None if w is None else w[:half])
    second = ScoreTally(n).update(y[half:], s[half:], None if w is None else w[half:])
    first.merge(second)
    for name, params in OBJECTIVES:
        expected = whole.tune_thresholds(name, **params).to_json()
        assert batched.tune_thresholds(name, **params).to_json() == expected
        assert first.tune_thresholds(name, **params).to_json() == expected


def test_hand_table_and_undefined_labels():
    # Label 0: 0.9+ 0.8- 0.7+ 0.7- 0.2+ (F1 0.5, 0.4, 4/7, 0.75); label 1: no positives.
    y = np.array([[1, 0], [0, 0], [1, 0], [0, 0], [1, 0]])
    s = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.7, 0.4], [0.2, 0.5]])
    r = tune_thresholds(y, s, objective="f1")
    assert r.thresholds[0] == 0.2 and r.values[0] == 0.75
    assert r.precision[0] == 0.6 and r.recall[0] == 1.0 and r.support.tolist() == [3.0, 0.0]
    assert r.thresholds[1] == np.inf and np.isnan(r.values[1]) and r.undefined.tolist() == [False, True]
    j = tune_thresholds(y, s, objective="youden")
    assert j.thresholds[0] == 0.9 and j.values[0] == 1 / 3  # J: 1/3, 1/3 - 1/2, 2/3 - 1, 0


def test_ties_go_to_the_highest_threshold():
    # Youden's J is 1/2 at 0.9 and at 0.7.
    r = tune_thresholds(np.array([[1], [0], [1], [0]]), np.array([[0.9], [0.8], [0.7], [0.1]]), objective="youden")
    assert r.thresholds[0] == 0.9 and r.values[0] == 0.5


def test_json_and_npy_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (40, 3))
    y[:, 1] = 0
    r = tune_thresholds(y, rng.random((40, 3)), objective="fbeta", beta=2)
    text = r.to_json()
    fields = json.loads(text)
    assert fields["objective"] == "fbeta" and fields["beta"] == 2.0 and fields["tie_rule"] == "highest"
    assert fields["undefined"] == [1] and "Infinity" in text
    back = TunedThresholds.from_json(text)
    assert back.to_json() == text
    np.testing.assert_array_equal(back.thresholds, r.thresholds)
    r.save(tmp_path / "t.json")
    r.save(tmp_path / "t.npy")
    assert TunedThresholds.load(tmp_path / "t.json").to_json() == text
    t = np.load(tmp_path / "t.npy")
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t, r.thresholds)
    np.testing.assert_array_equal(TunedThresholds.load(tmp_path / "t.npy"), r.thresholds)
    with pytest.raises(ValueError, match='Expected a "values" field in the tuned thresholds, but it is missing'):
        TunedThresholds.from_json('{"objective": "f1", "thresholds": [0.5]}')
    with pytest.raises(ValueError, match="Expected a path ending in .json or .npy"):
        r.save(tmp_path / "t.txt")


def test_tally_accepts_a_result_as_threshold():
    rng = np.random.default_rng(1)
    y, s = rng.integers(0, 2, (50, 4)), rng.random((50, 4))
    r = tune_thresholds(y, s)
    a = tally.Tally(4, threshold=r).update(y, s)
    b = tally.Tally(4, threshold=r.thresholds).update(y, s)
    np.testing.assert_array_equal(a.f1(), b.f1())
    np.testing.assert_array_equal(a.f1(), r.values)


def test_arguments_are_checked():
    y, s = np.array([[1, 0], [0, 1]]), np.array([[0.2, 0.4], [0.3, 0.1]])
    with pytest.raises(ValueError, match="Expected `objective` to be one of 'f1', 'fbeta', 'precision_at_recall', "
                                         "'recall_at_precision', 'youden', 'rate', but got 'f2'"):
        tune_thresholds(y, s, objective="f2")
    with pytest.raises(ValueError, match="Expected `beta` with objective='fbeta', but got none"):
        tune_thresholds(y, s, objective="fbeta")
    with pytest.raises(ValueError, match=r"Expected `min_precision` in \[0, 1\], but got 1.5"):
        tune_thresholds(y, s, objective="recall_at_precision", min_precision=1.5)
    with pytest.raises(ValueError, match=r"Expected `folds` between 2 and the number of rows \(2\), but got 3"):
        tune_thresholds(y, s, folds=3)
    with pytest.raises(TypeError, match="Expected `objective` to be a str, but got int"):
        tune_thresholds(y, s, objective=1)
    with pytest.raises(ValueError, match="Expected at least one row of scores, but got none"):
        ScoreTally(2).tune_thresholds()


@given(problems(), st.integers(2, 4), st.integers(0, 3))
def test_out_of_fold_values_match_a_numpy_loop(problem, folds, seed):
    y, s, w = problem
    if len(y) < folds:
        return
    r = tune_thresholds(y, s, sample_weight=w, objective="f1", folds=folds, seed=seed)
    oof = r.out_of_fold
    fold = oof.fold_of_row
    sizes = np.bincount(fold, minlength=folds)
    assert sorted(sizes.tolist(), reverse=True) == sizes.tolist() and sizes.max() - sizes.min() <= 1
    ww = np.ones(len(y)) if w is None else w
    tp = np.zeros(y.shape[1]); fp = np.zeros(y.shape[1]); pos = np.zeros(y.shape[1])
    for f in range(folds):
        train, test = fold != f, fold == f
        t, _ = brute_force(y[train], s[train], None if w is None else w[train], "f1", {})
        np.testing.assert_array_equal(oof.fold_thresholds[f], t)
        pred = s[test] >= t
        yt = y[test].astype(bool)
        tp += (ww[test, None] * (yt & pred)).sum(0)
        fp += (ww[test, None] * (~yt & pred)).sum(0)
        pos += (ww[test, None] * yt).sum(0)
    with np.errstate(all="ignore"):
        expected = np.where(pos > 0, 2 * tp / (pos + tp + fp), np.nan)
    np.testing.assert_allclose(oof.values, expected, rtol=0, atol=1e-12, equal_nan=True)
    defined = expected[~np.isnan(expected)]
    if defined.size:
        assert oof.average == pytest.approx(defined.mean(), abs=1e-12)


def test_binned_tuning_bounds_the_exact_optimum():
    rng = np.random.default_rng(5)
    y, s = rng.integers(0, 2, (400, 3)), rng.random((400, 3))
    binned = BinnedScoreTally(3, bins=20).update(y, s)
    checked = 0
    for name, params in [("f1", {}), ("youden", {}), ("precision_at_recall", {"min_recall": 0.5})]:
        r = binned.tune_thresholds(name, **params)
        _, exact = brute_force(y, s, None, name, params)
        applied = np.asarray(applied_value(name, params, y, s, None, r.thresholds))
        np.testing.assert_allclose(applied, r.values, rtol=0, atol=1e-12)
        assert np.all(r.lower_bound <= exact + 1e-12) and np.all(exact <= r.upper_bound + 1e-12)
        checked += 1
    assert checked == 3


@given(problems())
def test_several_objectives_from_one_pass_equal_one_at_a_time(problem):
    from tally import _tally

    y, s, w = problem
    store = ScoreTally(y.shape[1]).update(y, s, w)
    specs = tuple((name, p.get("beta"), p.get("min_precision"), p.get("min_recall"), p.get("rate")) for name, p in OBJECTIVES)
    texts = _tally.scores_tune_many(store._handle, specs, None)
    assert len(texts) == len(OBJECTIVES)
    for text, (name, params) in zip(texts, OBJECTIVES):
        assert text == store.tune_thresholds(name, **params).to_json()


def test_plot_marks_the_tuned_and_default_points():
    import matplotlib

    matplotlib.use("Agg")
    import sklearn.metrics as sk

    from tally import plot

    rng = np.random.default_rng(2)
    y, s = rng.integers(0, 2, (200, 3)), rng.random((200, 3))
    y[:, 2] = 0  # no positives: no curve, no markers
    r = tune_thresholds(y, s, objective="f1")
    fig = plot.precision_recall_curves(y, s, thresholds=r)
    markers = {line.get_gid(): (line.get_xdata()[0], line.get_ydata()[0]) for line in fig.axes[0].lines if line.get_gid()}
    assert set(markers) == {"tuned/0", "tuned/1", "default/0", "default/1"}
    for j in (0, 1):
        for kind, t in (("tuned", r.thresholds[j]), ("default", 0.5)):
            pred = s[:, j] >= t
            expected = (sk.recall_score(y[:, j], pred), sk.precision_score(y[:, j], pred))
            assert markers[f"{kind}/{j}"] == pytest.approx(expected, abs=1e-15)

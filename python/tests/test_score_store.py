"""The score store's C kernels from Python: the fill of a batch (keys and truth bits
transposed, scores and truth checked on the way, no state changed by a refused batch)
and the ranking sort behind ROC AUC and average precision, on label counts around the
16-lane and 64-lane blocks, row counts around the 64-row words of the truth bits, and
batches appended to a store whose row count is not a multiple of 64; every kernel level
(TALLY_KERNEL) gives the same states and values."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import sklearn.metrics as sk

from tally.scores import ScoreTally

from conftest import assert_same

LABELS = [1, 15, 16, 17, 39, 64, 65]
ROWS = [1, 63, 64, 65, 129, 1000]


def _data(seed, n, k, dtype=np.float32):
    r = np.random.default_rng(seed)
    y_true = r.random((n, k)) < r.uniform(0.1, 0.6, size=k)
    y_score = r.random((n, k)).astype(dtype)
    y_score[:, ::3] = np.round(y_score[:, ::3], 1)  # ties
    y_score[:, 1::4] -= 0.5                          # negative scores
    y_score[::5, -1] = -0.0                          # -0 and +0 tie
    y_score[1::5, -1] = 0.0
    return y_true, y_score


def _stored(y_true, y_score, cuts, weight=None):
    acc = ScoreTally(y_true.shape[1])
    edges = [0] + [c for c in cuts if 0 < c < len(y_true)] + [len(y_true)]
    for a, b in zip(edges, edges[1:]):
        acc.update(y_true[a:b], y_score[a:b], None if weight is None else weight[a:b])
    return acc


@pytest.mark.parametrize("k", LABELS)
def test_batches_anywhere_in_a_word_store_what_one_batch_stores(k):
    for n in ROWS:
        y_true, y_score = _data(k * 1000 + n, n, k)
        whole = _stored(y_true, y_score, [])
        assert _stored(y_true, y_score, [1, 37, 63, 64, 100, 129]).to_bytes() == whole.to_bytes()
        assert _stored(y_true.view(np.uint8), y_score, [65]).to_bytes() == whole.to_bytes()
        assert _stored(y_true.astype(np.int8), y_score, [65]).to_bytes() == whole.to_bytes()  # decoded truth
        assert _stored(y_true, y_score.astype(np.float64), [2]).to_bytes() == whole.to_bytes()  # float32-exact float64
        # Both classes in every label: equal to scikit-learn, and bit for bit to the pair sort.
        both = y_true.any(0) & ~y_true.all(0)
        if both.all() and n > 1:
            assert_same(whole.roc_auc(None), np.atleast_1d(sk.roc_auc_score(y_true, y_score, average=None)))
            assert_same(whole.average_precision(None), np.atleast_1d(sk.average_precision_score(y_true, y_score, average=None)))
            assert_same(whole.roc_auc("micro"), sk.roc_auc_score(y_true, y_score, average="micro"))
        slow = _stored(y_true, y_score, [], np.ones(n))
        with np.errstate(all="ignore"), _quiet():
            for average in (None, "micro"):
                assert np.array_equal(whole.roc_auc(average), slow.roc_auc(average), equal_nan=True)
                assert np.array_equal(whole.average_precision(average), slow.average_precision(average), equal_nan=True)


class _quiet:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *a):
        return self._w.__exit__(*a)


def test_minus_zero_and_zero_are_one_score():
    y_true = np.array([[1], [0], [1], [0]], dtype=bool)
    y_score = np.array([[-0.0], [0.0], [0.0], [-0.0]], dtype=np.float32)
    acc = ScoreTally(1).update(y_true, y_score)
    assert acc.roc_auc(None)[0] == 0.5 == sk.roc_auc_score(y_true[:, 0], y_score[:, 0])
    fpr, tpr, thresholds = acc.roc_curve(0)
    assert list(thresholds[1:]) == [0.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [100, 30000])  # one thread, and the threaded fill (2^18 cells and more)
def test_bad_scores_are_refused_with_the_message_and_change_nothing(dtype, rows):
    y_true, y_score = _data(5, rows, 39, dtype)
    acc = ScoreTally(39).update(y_true[:37], y_score[:37])  # the next batch starts inside a word
    before = acc.to_bytes()
    for (r, c), value, shown in (((0, 0), np.nan, "nan"), ((rows - 1, 38), np.inf, "inf"),
                                 ((rows // 2, 17), -np.inf, "-inf")):
        bad = y_score.copy()
        bad[r, c] = value
        with pytest.raises(ValueError, match=rf"Expected `y_score` to hold finite numbers, but got {shown} at row {r}, column {c}$"):
            acc.update(y_true, bad)
        assert acc.to_bytes() == before
        worse = y_true.astype(np.uint8)
        worse[3, 4] = 2  # a bad score is reported before a bad truth value
        with pytest.raises(ValueError, match="Expected `y_score` to hold finite numbers"):
            acc.update(worse, bad)
        assert acc.to_bytes() == before
    worse = y_true.astype(np.uint8)
    worse[rows - 1, 30] = 7
    with pytest.raises(ValueError, match=rf"Expected `y_true` to hold only 0 and 1, but got 7 at row {rows - 1}, column 30$"):
        acc.update(worse, y_score)
    assert acc.to_bytes() == before
    acc.update(y_true, y_score)
    assert acc.to_bytes() == _stored(np.vstack([y_true[:37], y_true]), np.vstack([y_score[:37], y_score]), []).to_bytes()


def test_reset_then_update_equals_a_new_store():
    y_true, y_score = _data(6, 20000, 39)
    acc = ScoreTally(39).update(y_true, y_score)
    acc.reset()
    assert acc.n_samples == 0 and acc.memory_bytes == 0
    assert acc.to_bytes() == ScoreTally(39).to_bytes()
    acc.update(y_true[:5000], y_score[:5000]).update(y_true[5000:], y_score[5000:])
    assert acc.to_bytes() == ScoreTally(39).update(y_true, y_score).to_bytes()


def test_one_dense_cluster_and_an_outlier():
    """Nearly every cell in one bucket of the first split: the bucket is split again."""
    r = np.random.default_rng(8)
    n = 200_000
    y_score = (0.5 + r.integers(0, 150_000, size=(n, 2)) * 1e-7).astype(np.float32)
    y_score[0, :] = -1000
    y_true = r.random((n, 2)) < 0.3
    acc = ScoreTally(2).update(y_true, y_score)
    assert_same(acc.roc_auc(None), sk.roc_auc_score(y_true, y_score, average=None))
    assert_same(acc.average_precision(None), sk.average_precision_score(y_true, y_score, average=None))
    assert_same(acc.roc_auc("micro"), sk.roc_auc_score(y_true, y_score, average="micro"))
    assert acc.roc_auc("micro", threads=1) == acc.roc_auc("micro", threads=2)


# -- every instruction-set level of the store's kernels, each in a fresh interpreter ---------

def _run_level(level):
    here = pathlib.Path(__file__).parent
    env = dict(os.environ, TALLY_KERNEL=level)
    out = subprocess.run([sys.executable, str(here / "store_worker.py")], env=env, capture_output=True,
                         text=True, timeout=600, cwd=here)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_store_kernel_levels_agree():
    from tally import _tally
    best = _tally.kernel_level()
    order = ["baseline", "avx2", "avx512"] if best in ("baseline", "avx2", "avx512") else [best]
    results = {level: _run_level(level) for level in order[: order.index(best) + 1]}
    for asked, r in results.items():
        assert r["level"] == asked
        assert r["failures"] == [], (asked, r["failures"])
    assert len({r["digest"] for r in results.values()}) == 1  # identical states and values at every level

"""The fast paths of the core on sizes that reach them: the score store's threaded
fill (batches of 2^18 cells or more, split at 64-row words) and its radix sort
(positives and negatives apart, the parallel scatter above 2^20 cells), against
scikit-learn on the concatenated arrays and, bit for bit, against the store's
weighted path (all weights 1), which sorts (key, cell) pairs by another route."""

import numpy as np
import pytest
import sklearn.metrics as sk

from tally import Tally
from tally.scores import ScoreTally

from conftest import assert_same

# Batch sizes: the first fills on two threads (rows * labels >= 2^18), the later ones
# start in the middle of a 64-row word, and the last is one row; the negatives of the
# 41 labels pooled (micro) pass 2^20 cells, so their sort scatters in parallel.
CUTS = [9001, 9078, 37000, 37001]


def _data(seed, n=37001, k=41, dtype=np.float32):
    r = np.random.default_rng(seed)
    y_true = r.random((n, k)) < r.uniform(0.01, 0.6, size=k)
    y_score = r.random((n, k)).astype(dtype)
    y_score[:, :4] = np.round(y_score[:, :4], 2)      # heavy ties
    y_score[:, 4] = 0.25                              # one tied group
    y_score[:, 5] = -y_score[:, 5]                    # negative scores (sign bit in the key)
    y_score[::7, 6] = -0.0                            # -0 and +0 tie
    y_score[1::7, 6] = 0.0
    y_true[:, 7] = False                              # no positives: nan
    y_true[:, 8] = True                               # no negatives: nan
    return y_true, y_score


def _store(y_true, y_score, weight=None):
    acc = ScoreTally(y_true.shape[1])
    edges = [0] + CUTS
    for a, b in zip(edges, edges[1:]):
        acc.update(y_true[a:b], y_score[a:b], None if weight is None else weight[a:b])
    return acc


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_batches_equal_sklearn(dtype):
    y_true, y_score = _data(1, dtype=dtype)
    acc = _store(y_true, y_score)
    ok = ~np.isin(np.arange(y_true.shape[1]), [7, 8])
    with np.errstate(all="ignore"), pytest.warns(Warning):
        auc = acc.roc_auc(None)
    assert np.isnan(auc[7]) and np.isnan(auc[8])
    assert_same(auc[ok], sk.roc_auc_score(y_true[:, ok], y_score[:, ok], average=None))
    assert_same(acc.roc_auc("micro"), sk.roc_auc_score(y_true, y_score, average="micro"))
    ap = acc.average_precision(None)
    assert_same(ap[ok], sk.average_precision_score(y_true[:, ok], y_score[:, ok], average=None))
    assert_same(acc.average_precision("micro"), sk.average_precision_score(y_true, y_score, average="micro"))


def test_sort_paths_agree_bit_for_bit():
    """Unweighted (split radix sort) and weights of 1 (pair sort) give identical floats."""
    y_true, y_score = _data(2)
    fast = _store(y_true, y_score)
    slow = _store(y_true, y_score, np.ones(y_true.shape[0]))
    with pytest.warns(Warning):  # labels 7 and 8 have one class
        for average in (None, "micro", "macro"):
            assert np.array_equal(fast.roc_auc(average), slow.roc_auc(average), equal_nan=True)
            assert np.array_equal(fast.average_precision(average), slow.average_precision(average), equal_nan=True)
    # One thread and two give the same sort.
    assert fast.roc_auc("micro", threads=1) == fast.roc_auc("micro", threads=2)


def test_many_labels_fill_one_label_at_a_time():
    """Above 1024 labels the store fills label by label."""
    r = np.random.default_rng(3)
    y_true = r.random((300, 1100)) < 0.3
    y_score = r.random((300, 1100)).astype(np.float32)
    acc = ScoreTally(1100).update(y_true[:100], y_score[:100]).update(y_true[100:], y_score[100:])
    assert_same(acc.roc_auc(None), sk.roc_auc_score(y_true, y_score, average=None))


def test_bad_truth_in_a_large_batch_changes_nothing():
    y_true, y_score = _data(4)
    acc = ScoreTally(y_true.shape[1]).update(y_true[:100], y_score[:100])
    before = acc.to_bytes()
    bad = y_true.astype(np.uint8)
    bad[12345, 17] = 2
    with pytest.raises(ValueError, match="Expected `y_true` to hold only 0 and 1, but got 2 at row 12345, column 17"):
        acc.update(bad, y_score)
    assert acc.to_bytes() == before


# -- every instruction-set level of the C kernels, each in a fresh interpreter ---------------

def _run_level(level):
    import json
    import os
    import pathlib
    import subprocess
    import sys
    here = pathlib.Path(__file__).parent
    env = dict(os.environ, TALLY_KERNEL=level)
    out = subprocess.run([sys.executable, str(here / "kernel_worker.py")], env=env, capture_output=True,
                         text=True, timeout=600, cwd=here)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_kernel_levels_agree_with_references_and_each_other():
    from tally import _tally
    best = _tally.kernel_level()
    order = ["baseline", "avx2", "avx512"] if best in ("baseline", "avx2", "avx512") else [best]
    results = {level: _run_level(level) for level in order[: order.index(best) + 1]}
    for asked, r in results.items():
        assert r["level"] == asked  # a level the CPU has is used when asked for
        assert r["failures"] == [], (asked, r["failures"])
    assert len({r["digest"] for r in results.values()}) == 1  # identical states and values at every level


def test_unweighted_rows_after_weighted_ones_count_every_row():
    """An unweighted batch of more than 255 rows that takes the row loop (int8 truth) into
    weighted counts: every row counted (the loop used to flush its first blocks into the
    weighted batch's empty integer sums, losing them)."""
    r = np.random.default_rng(5)
    t = r.random((600, 5)) < 0.4
    s = r.random((600, 5), dtype=np.float32)
    for truth in (t.astype(np.int8), t):
        acc = Tally(5).update(t[:1], s[:1], np.array([2.0])).update(truth, s)
        cm = acc.confusion_matrix()
        p = s >= 0.5
        assert np.array_equal(cm[:, 1, 1], (t & p).sum(0) + 2.0 * (t[0] & p[0]))
        assert np.array_equal(cm[:, 0, 1], (~t & p).sum(0) + 2.0 * (~t[0] & p[0]))
        assert np.array_equal(cm[:, 1, 0], (t & ~p).sum(0) + 2.0 * (t[0] & ~p[0]))
        assert acc.n_samples == 601


def test_small_updates_from_threads_and_other_layouts():
    """The in-place path of small batches (counted under the GIL when the lock is free):
    threads updating one Tally, with a large batch among them, count every row exactly;
    strided, Fortran-ordered and list inputs take the general path to the same counts."""
    import threading
    r = np.random.default_rng(6)
    t = r.random((6000, 39)) < 0.3
    s = r.random((6000, 39), dtype=np.float32)
    shared = Tally(39)

    def small(part):
        for a in range(part * 1000, part * 1000 + 1000, 32):
            shared.update(t[a:min(a + 32, part * 1000 + 1000)], s[a:min(a + 32, part * 1000 + 1000)])

    threads = [threading.Thread(target=small, args=(i,)) for i in range(4)]
    threads.append(threading.Thread(target=lambda: shared.update(t[4000:], s[4000:])))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert shared.to_bytes() == Tally(39).update(t, s).to_bytes()
    wide = np.repeat(s[:64], 2, axis=1)
    for truth, score in ((np.asfortranarray(t[:64]), np.asfortranarray(s[:64])), (t[:64], wide[:, ::2]),
                         (t[:64].tolist(), s[:64].tolist())):
        assert Tally(39).update(truth, score).to_bytes() == Tally(39).update(t[:64], s[:64]).to_bytes()
    with pytest.raises(ValueError, match="Expected `y_true` to have 39 columns, but got 38"):
        Tally(39).update(t[:32, :38], s[:32, :38])

"""tally.dask on a real dask.distributed.LocalCluster (two worker processes on
localhost): partitions counted on the workers, states merged in a tree, results equal
to scikit-learn on the concatenated arrays, from Dask arrays and from Parquet."""

import os

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import sklearn.metrics as sk  # noqa: E402

import tally  # noqa: E402
import tally.dask  # noqa: E402
from conftest import assert_same  # noqa: E402

N_LABELS = 7


@pytest.fixture(scope="module")
def client():
    # Worker processes import tally as this interpreter does (PYTHONPATH is inherited).
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, worker_dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def data():
    """Skewed labels, a label with no positives, rows with none, scores with ties."""
    rng = np.random.default_rng(15)
    n = 4_001
    y_true = rng.random((n, N_LABELS)) < np.linspace(0.02, 0.6, N_LABELS)
    y_true[:, 3] = False
    y_true[::5] = False
    y_score = np.round(np.clip(0.4 * y_true + rng.normal(0.3, 0.2, y_true.shape), 0, 1), 2).astype(np.float32)
    weight = rng.integers(0, 4, size=n).astype(np.float64)
    return y_true, y_score, weight


def _workers_used(client, run):
    with distributed.get_task_stream(client) as stream:
        result = run()
    return result, {t["worker"] for t in stream.data}


def test_arrays_on_two_worker_processes_equal_sklearn(client, data):
    y_true, y_score, _ = data
    yt = da.from_array(y_true, chunks=(300, 4))          # uneven row chunks, split columns
    ys = da.from_array(y_score, chunks=(250, N_LABELS))  # other row chunks: rechunked to y_true's
    accs = (tally.Tally(N_LABELS), tally.ScoreTally(N_LABELS), tally.RankingTally(N_LABELS))
    (counts, scores, ranking), workers = _workers_used(
        client, lambda: tally.dask.update(accs, yt, ys, split_every=3))  # 14 partials: a 3-level tree
    assert len(workers) == 2, workers
    assert counts is accs[0] and isinstance(counts, tally.Tally) and counts.n_samples == len(y_true)

    y_pred = y_score >= 0.5
    np.testing.assert_array_equal(counts.confusion_matrix(), sk.multilabel_confusion_matrix(y_true, y_pred))
    for average in (None, "micro", "macro", "weighted", "samples"):
        assert_same(counts.precision_recall_fscore_support(average=average, zero_division=0),
                    sk.precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0))
    assert counts.report(zero_division=0) == sk.classification_report(y_true, y_pred, zero_division=0)
    assert counts.subset_accuracy() == sk.accuracy_score(y_true, y_pred)
    assert counts.hamming_loss() == sk.hamming_loss(y_true, y_pred)

    keep = [j for j in range(N_LABELS) if j != 3]  # label 3 has no positives: nan, as scikit-learn
    auc = scores.roc_auc(average=None)
    assert np.isnan(auc[3])
    assert_same(auc[keep], sk.roc_auc_score(y_true[:, keep], y_score[:, keep], average=None))
    assert_same(scores.average_precision(average=None)[keep],
                sk.average_precision_score(y_true[:, keep], y_score[:, keep], average=None))
    assert scores.n_samples == len(y_true)
    # The merged store holds what one local store holds: 4 bytes per score plus a truth bit.
    local = tally.ScoreTally(N_LABELS).update(y_true, y_score)
    assert scores.memory_bytes == local.memory_bytes
    assert scores.memory_bytes == pytest.approx(len(y_true) * N_LABELS * 4.125, rel=0.01)

    assert_same(ranking.label_ranking_average_precision(),
                sk.label_ranking_average_precision_score(y_true, y_score))
    assert_same(ranking.coverage_error(), sk.coverage_error(y_true, y_score))
    assert_same(ranking.label_ranking_loss(), sk.label_ranking_loss(y_true, y_score))


def test_parquet_dataframe_with_weights_equals_sklearn(client, data, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    y_true, y_score, weight = data
    frame = pd.DataFrame({**{f"y{j}": y_true[:, j] for j in range(N_LABELS)},
                          **{f"s{j}": y_score[:, j] for j in range(N_LABELS)}, "w": weight})
    for i, part in enumerate(np.array_split(np.arange(len(frame)), 5)):  # five files, as a job writes them
        frame.iloc[part].to_parquet(os.path.join(tmp_path, f"part-{i}.parquet"), index=False)
    df = dd.read_parquet(str(tmp_path))
    assert df.npartitions >= 2
    labels, scores_cols = [f"y{j}" for j in range(N_LABELS)], [f"s{j}" for j in range(N_LABELS)]
    counts = tally.Tally(N_LABELS, threshold=0.375)
    scores = tally.ScoreTally(N_LABELS)
    result = tally.dask.update((counts, scores), df[labels], df[scores_cols], df["w"], split_every=2)
    assert result == (counts, scores)

    y_pred = y_score >= 0.375
    for average in (None, "micro", "macro", "samples"):
        assert_same(counts.f1(average=average, zero_division=0),
                    sk.f1_score(y_true, y_pred, average=average, sample_weight=weight, zero_division=0))
    keep = [j for j in range(N_LABELS) if j != 3]
    assert_same(scores.roc_auc(average=None)[keep],
                sk.roc_auc_score(y_true[:, keep], y_score[:, keep], average=None, sample_weight=weight))
    assert_same(scores.average_precision(average="micro"),
                sk.average_precision_score(y_true, y_score, average="micro", sample_weight=weight))


def test_update_keeps_earlier_state_and_to_delayed_leaves_it(client, data):
    y_true, y_score, _ = data
    half = len(y_true) // 2
    acc = tally.Tally(N_LABELS).update(y_true[:half], y_score[:half])   # a local batch first
    lazy = tally.dask.to_delayed(acc, da.from_array(y_true[half:], chunks=500),
                                 da.from_array(y_score[half:], chunks=500))
    assert acc.n_samples == half                       # nothing ran yet
    rest = lazy.compute()
    assert isinstance(rest, tally.Tally) and rest.n_samples == len(y_true) - half and acc.n_samples == half
    acc.merge(rest)
    assert_same(acc.f1(average=None, zero_division=0), sk.f1_score(y_true, y_score >= 0.5, average=None,
                                                                   zero_division=0))


def test_calibration_and_missing_labels_on_the_workers_equal_a_local_run(client, data):
    """A CalibrationTally (exact sums: the same bits in any partitioning) and masked
    accumulators (marks become element weights on the worker) merge to the local result."""
    y_true, y_score, weight = data
    marked = np.where(np.random.default_rng(3).random(y_true.shape) < 0.25, -1.0, y_true)
    local = (tally.CalibrationTally(N_LABELS, ignore_value=-1).update(marked, y_score, weight),
             tally.BinnedScoreTally(N_LABELS, bins=20, ignore_value=-1).update(marked, y_score, weight),
             tally.Tally(N_LABELS, ignore_value=-1).update(marked, y_score, weight))
    accs = (tally.CalibrationTally(N_LABELS, ignore_value=-1), tally.BinnedScoreTally(N_LABELS, bins=20, ignore_value=-1),
            tally.Tally(N_LABELS, ignore_value=-1))
    tally.dask.update(accs, da.from_array(marked, chunks=700), da.from_array(y_score, chunks=700),
                      da.from_array(weight, chunks=700), split_every=2)
    for name in ("brier_score", "log_loss", "expected_calibration_error"):
        for average in (None, "micro", "macro"):
            assert_same(getattr(accs[0], name)(average), getattr(local[0], name)(average), tol=0)
    assert_same(accs[0].brier_score("samples"), local[0].brier_score("samples"), tol=0)
    assert_same(accs[1].roc_auc(average=None), local[1].roc_auc(average=None), tol=0)
    assert_same(accs[2].f1(average=None, zero_division=0), local[2].f1(average=None, zero_division=0), tol=0)


def test_bad_input_raises_and_changes_nothing(client, data):
    y_true, y_score, _ = data
    acc = tally.Tally(N_LABELS).update(y_true[:10], y_score[:10])
    before = acc.to_bytes()
    yt = da.from_array(y_true, chunks=1000)
    with pytest.raises(TypeError, match="Expected a Tally, ScoreTally, BinnedScoreTally, RankingTally or CalibrationTally"):
        tally.dask.update("tally", yt, yt)
    with pytest.raises(TypeError, match="Expected `y_score` to be a dask.array.Array or a dask.dataframe"):
        tally.dask.update(acc, yt, y_score)
    with pytest.raises(ValueError, match="Expected `y_score` to have 4001 rows like `y_true`, but got 4000"):
        tally.dask.update(acc, yt, da.from_array(y_score[:-1], chunks=1000))
    with pytest.raises(ValueError, match="Expected `split_every` to be an int >= 2, but got 1"):
        tally.dask.update(acc, yt, yt, split_every=1)
    # A worker's update refuses a partition (8 columns for 7 labels): the same error reaches here.
    # Every partition fails; which one reaches the client first depends on the workers' timing
    # (the last partition holds 1 row, the others 1000), so the row count is matched, not fixed.
    wide = da.from_array(np.hstack([y_score, y_score[:, :1]]), chunks=1000)
    with pytest.raises(ValueError,
                       match=r"Expected `y_pred` to have shape \((1000|1), 7\) like `y_true`, but got \(\1, 8\)"):
        tally.dask.update(acc, yt, wide)
    assert acc.to_bytes() == before

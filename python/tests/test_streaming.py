"""tally.Tally: streaming equals one-shot scikit-learn; merge, pickle, threads, bad input."""

import copy
import os
import pickle
import signal
import threading
import time

import numpy as np
import pytest
import sklearn.metrics as sk
from hypothesis import given, strategies as st

import tally
from tally import _tally
from tally.scores import BinnedScoreTally, ScoreTally

from conftest import OtherThreadSteps, assert_same, run_recording

AVERAGES = [None, "micro", "macro", "weighted", "samples"]


@st.composite
def scored(draw):
    n = draw(st.integers(1, 60))
    k = draw(st.integers(2, 7))  # one column is a binary target to scikit-learn: see below
    seed = draw(st.integers(0, 2**32 - 1))
    r = np.random.default_rng(seed)
    y_true = r.random((n, k)) < draw(st.sampled_from([0.0, 0.1, 0.5]))
    # Rounded scores: many land exactly on the threshold.
    y_score = (np.round(r.random((n, k)) * 4) / 4).astype(draw(st.sampled_from([np.float32, np.float64])))
    weight = r.random(n) * 2 if draw(st.booleans()) else None
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=5)))
    return y_true, y_score, weight, cuts


def batches(n, cuts):
    edges = [0] + cuts + [n]
    return [(a, b) for a, b in zip(edges, edges[1:])]


@given(scored(), st.sampled_from(AVERAGES), st.sampled_from(["warn", 0, 1, np.nan]),
       st.sampled_from([0.5, 0.25, 0.75]))
def test_streaming_equals_one_shot_sklearn(data, average, zero_division, threshold):
    y_true, y_score, weight, cuts = data
    acc = tally.Tally(y_true.shape[1], threshold=threshold)
    for a, b in batches(len(y_true), cuts):
        acc.update(y_true[a:b], y_score[a:b], None if weight is None else weight[a:b])
    assert acc.n_samples == len(y_true)
    y_pred = (y_score.astype(np.float64) >= threshold).astype(int)
    ours, w1 = run_recording(acc.precision_recall_fscore_support, average=average, zero_division=zero_division)
    theirs, w2 = run_recording(sk.precision_recall_fscore_support, y_true, y_pred, average=average,
                               zero_division=zero_division, sample_weight=weight)
    assert_same(ours, theirs)
    assert w1 == w2
    # Integer counts are identical; weighted sums agree to rounding (the order of additions differs).
    assert_same(acc.confusion_matrix(), sk.multilabel_confusion_matrix(y_true, y_pred, sample_weight=weight))
    if weight is None:
        np.testing.assert_array_equal(acc.confusion_matrix(), sk.multilabel_confusion_matrix(y_true, y_pred))


@given(scored(), st.integers(1, 4))
def test_merged_shards_equal_one_shot(data, shards):
    y_true, y_score, weight, _ = data
    k = y_true.shape[1]
    parts = []
    for idx in np.array_split(np.arange(len(y_true)), shards):
        acc = tally.Tally(k)
        acc.update(y_true[idx], y_score[idx], None if weight is None else weight[idx])
        parts.append(pickle.loads(pickle.dumps(acc)))
    merged = parts[0].copy()
    for p in parts[1:]:
        merged.merge(p)
    whole = tally.Tally(k).update(y_true, y_score, weight)
    for average in AVERAGES:
        assert_same(merged.precision_recall_fscore_support(average=average, zero_division=0),
                    whole.precision_recall_fscore_support(average=average, zero_division=0))
    if weight is None:
        np.testing.assert_array_equal(merged.confusion_matrix(), whole.confusion_matrix())
        assert merged.to_bytes() == whole.to_bytes()
    else:  # float64 sums of weights: equal up to the order of additions
        assert_same(merged.confusion_matrix(), whole.confusion_matrix())


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_one_label_is_the_positive_class_of_a_binary_target(average):
    rng = np.random.default_rng(2)
    y_true, y_score = rng.random((50, 1)) < 0.3, rng.random((50, 1))
    acc = tally.Tally(1).update(y_true, y_score)
    assert_same(acc.precision_recall_fscore_support(average=average),
                sk.precision_recall_fscore_support(y_true.ravel(), (y_score >= 0.5).ravel(), labels=[1],
                                                   average=average))


def test_per_label_threshold_and_from_logits():
    y_true = np.array([[1, 1, 0], [0, 1, 1]])
    y_score = np.array([[0.6, 0.3, 0.9], [0.2, 0.31, 0.5]])
    acc = tally.Tally(3, threshold=[0.5, 0.3, 0.95]).update(y_true, y_score)
    y_pred = y_score >= np.array([0.5, 0.3, 0.95])
    np.testing.assert_array_equal(acc.confusion_matrix(), sk.multilabel_confusion_matrix(y_true, y_pred))
    logits = np.log(y_score) - np.log1p(-y_score)
    acc2 = tally.Tally(3, threshold=[0.5, 0.3, 0.95], from_logits=True).update(y_true, logits)
    np.testing.assert_array_equal(acc2.confusion_matrix(), acc.confusion_matrix())


def test_bad_update_raises_and_changes_nothing():
    acc = tally.Tally(3).update([[1, 0, 1]], [[0.9, 0.1, 0.6]])
    before = acc.to_bytes()
    bad = [
        (ValueError, r"Expected `y_true` to have 3 columns, but got 4", np.zeros((2, 4)), np.zeros((2, 4))),
        (ValueError, r"Expected `y_pred` to have shape \(2, 3\) like `y_true`, but got \(3, 3\)",
         np.zeros((2, 3)), np.zeros((3, 3))),
        (ValueError, r"Expected `y_score` to hold numbers, but got nan at row 1, column 2",
         np.zeros((2, 3)), np.array([[0, 0, 0], [0, 0, np.nan]])),
        (ValueError, r"Expected `y_true` to hold only 0 and 1, but got -1 at row 0, column 0",
         np.array([[-1, 0, 0]]), np.zeros((1, 3))),
        (ValueError, r"Expected `y_true` to be 2-D", np.zeros((2, 3, 1)), np.zeros((2, 3))),
        (TypeError, r"Expected `y_score` to hold numbers, but got dtype <U1", np.zeros((1, 3)), np.array([["a", "b", "c"]])),
        (TypeError, r"Expected `y_true` to be array-like, but got None", None, np.zeros((1, 3))),
        (TypeError, r"Expected `y_true` to be array-like, but got str", "abc", np.zeros((1, 3))),
    ]
    for exc, message, yt, ys in bad:
        with pytest.raises(exc, match=message):
            acc.update(yt, ys)
        assert acc.to_bytes() == before
    with pytest.raises(ValueError, match=r"Expected `sample_weight` to have 1 values"):
        acc.update([[1, 0, 1]], [[0.9, 0.1, 0.6]], sample_weight=[1, 2])
    with pytest.raises(ValueError, match=r"finite"):
        acc.update([[1, 0, 1]], [[0.9, 0.1, 0.6]], sample_weight=[np.nan])
    assert acc.to_bytes() == before
    with pytest.raises(ValueError, match="Expected counts with 3 labels to merge, but got 2"):
        acc.merge(tally.Tally(2))
    with pytest.raises(TypeError, match="Expected a Tally to merge, but got int"):
        acc.merge(3)
    assert acc.to_bytes() == before


def test_constructor_checks_arguments():
    with pytest.raises(ValueError, match="Expected `n_labels` to be at least 1, but got 0"):
        tally.Tally(0)
    with pytest.raises(TypeError, match="Expected `n_labels` to be an int, but got float"):
        tally.Tally(2.0)
    with pytest.raises(ValueError, match=r"Expected `threshold` to have 3 values \(one per label\), but got 2"):
        tally.Tally(3, threshold=[0.5, 0.5])
    with pytest.raises(ValueError, match="Expected `threshold` to be a number, but got nan"):
        tally.Tally(3, threshold=float("nan"))
    with pytest.raises(ValueError, match="Expected `label_names` to have 3 names, but got 1"):
        tally.Tally(3, label_names=["a"])


def test_internal_module_takes_only_arrays_it_can_read_in_place():
    c = _tally.counts_new(2, 0.5)
    y = np.zeros((3, 2))
    with pytest.raises(ValueError, match="C-contiguous"):
        c.update(np.asfortranarray(np.zeros((3, 2))), np.zeros((3, 2)).T.copy().T)
    with pytest.raises(ValueError, match="C-contiguous"):
        c.update(np.zeros((3, 4))[:, ::2], y)
    with pytest.raises(TypeError, match=r"buffer format '>d'"):
        c.update(y.astype(">f8"), y)
    with pytest.raises(TypeError, match="buffer protocol"):
        c.update([[0, 1]], y)
    with pytest.raises(TypeError, match=r"takes 2 to 4 positional arguments, but got 1"):
        c.update(y)
    with pytest.raises(TypeError, match="float16|buffer format 'e'"):
        c.update(y.astype(np.float16), y)
    # Read-only buffers are fine: Tally never writes to its inputs.
    ro = np.zeros((3, 2))
    ro.setflags(write=False)
    c.update(ro, ro)
    assert c.info()[1] == 3
    with pytest.raises(TypeError, match="cannot create '_tally.Counts' instances"):
        _tally.Counts()
    with pytest.raises(ValueError, match="Expected bytes from ConfusionCounts.serialized"):
        _tally.counts_from_bytes(b"\x00" * 64)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX")
def test_forked_child_updates_on_its_own_threads():
    """A batch this large is counted on two threads, which stay parked in the process
    between calls. A child forked afterwards (multiprocessing's "fork" start method) has
    none of them: its own large update must start its own and give the same counts,
    rather than wait forever for the parent's."""
    rng = np.random.default_rng(4)
    y_true = rng.random((80_000, 39)) < 0.3  # 3.1 M values: above the two-thread cut
    y_pred = rng.random((80_000, 39)) < 0.4
    parent = tally.Tally(39)
    parent.update(y_true, y_pred)
    expected = parent.confusion_matrix()
    pid = os.fork()
    if pid == 0:  # the child: no pytest machinery, just an exit status
        code = 1
        try:
            child = tally.Tally(39)
            child.update(y_true, y_pred)
            child.update(y_true, y_pred)
            code = 0 if np.array_equal(child.confusion_matrix(), 2 * expected) else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child's update did not return")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    np.testing.assert_array_equal(expected, sk.multilabel_confusion_matrix(y_true, y_pred))


def test_threads_update_one_accumulator_exactly():
    """Eight Python threads update one Tally, one ScoreTally and one BinnedScoreTally at
    once. Each update runs with the GIL released, so only the bridge's own lock keeps
    them apart: the state must be scikit-learn's on all the rows, to the count."""
    rng = np.random.default_rng(9)
    n, k, n_threads = 48_000, 39, 8
    y_true = rng.random((n, k)) < 0.2
    y_score = rng.random((n, k)).astype(np.float32)
    chunks = np.array_split(np.arange(n), 48)
    acc, store, binned = tally.Tally(k), ScoreTally(k), BinnedScoreTally(k, bins=64)
    start, errors = threading.Barrier(n_threads), []

    def work(ids):
        try:
            start.wait()
            for i in ids:
                t, s = y_true[chunks[i]], y_score[chunks[i]]
                acc.update(t, s)
                store.update(t, s)
                binned.update(t, s)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(range(t, len(chunks), n_threads),)) for t in range(n_threads)]
    assert len(threads) == n_threads and all(len(range(t, len(chunks), n_threads)) == 6 for t in range(n_threads))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert acc.n_samples == store.n_samples == binned.n_samples == n
    np.testing.assert_array_equal(acc.confusion_matrix(), sk.multilabel_confusion_matrix(y_true, y_score >= 0.5))
    # Row order differs from the arrays'; the scores do not depend on it.
    np.testing.assert_allclose(store.roc_auc(None), sk.roc_auc_score(y_true, y_score, average=None), rtol=1e-12)
    bins = np.clip(np.floor(y_score.astype(np.float64) * 64), 0, 63)  # the histogram's bin of each score
    np.testing.assert_allclose(binned.roc_auc(None), sk.roc_auc_score(y_true, bins, average=None), rtol=1e-12)


def test_gil_is_released_while_counting():
    """One update of a large batch, and one exact ROC AUC over it, are each one Swift
    call: another Python thread steps during them only if the call released the GIL."""
    rng = np.random.default_rng(4)
    y_true = rng.random((300_000, 20)) < 0.3
    y_score = rng.random((300_000, 20), dtype=np.float32)
    acc, store = tally.Tally(20), ScoreTally(20).update(y_true, y_score)
    with OtherThreadSteps() as steps:
        before = steps.count
        acc.update(y_true, y_score)
        during_update = steps.count - before
        before = steps.count
        auc = store.roc_auc(None)
        during_auc = steps.count - before
    assert acc.n_samples == 300_000 and auc.shape == (20,)
    assert during_update > 0 and during_auc > 0, (during_update, during_auc)


def test_pickle_copy_and_bytes_round_trip():
    acc = tally.Tally(2, threshold=[0.3, 0.6], label_names=["a", "b"])
    acc.update([[1, 0], [0, 1]], [[0.4, 0.7], [0.1, 0.2]], sample_weight=[2.0, 0.5])
    for clone in (pickle.loads(pickle.dumps(acc)), copy.deepcopy(acc), acc.copy(),
                  tally.Tally(2, threshold=[0.3, 0.6]).load_bytes(acc.to_bytes())):
        assert clone.to_bytes() == acc.to_bytes()
        np.testing.assert_array_equal(clone.confusion_matrix(), acc.confusion_matrix())
    clone = acc.copy()
    clone.update([[1, 1]], [[1, 1]])
    assert clone.n_samples == 3 and acc.n_samples == 2
    assert (acc + clone).n_samples == 5
    with pytest.raises(ValueError, match="Expected a state with 3 labels"):
        tally.Tally(3).load_bytes(acc.to_bytes())


def test_report_and_html_name_the_labels():
    acc = tally.Tally(2, label_names=["cat", "dog"]).update([[1, 0], [1, 1]], [[0.9, 0.2], [0.4, 0.8]])
    text = acc.report()
    assert "cat" in text and "dog" in text and "samples avg" in text
    ours = text.splitlines()
    theirs = sk.classification_report(np.array([[1, 0], [1, 1]]), np.array([[1, 0], [0, 1]]),
                                      target_names=["cat", "dog"], zero_division=0).splitlines()
    assert ours == theirs
    page = acc._repr_html_()
    assert page.startswith('<table class="tally-report"><caption>Tally(n_labels=') and "<th>cat</th>" in page
    assert repr(acc) == "Tally(n_labels=2, threshold=0.5, from_logits=False, n_samples=2)"

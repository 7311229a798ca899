"""The rules that tally.keras must also run in backend ops (inside a compiled step)
live in one module, tally.keras._scores; each is checked here against the Swift
core on the same numbers: F-beta, the averages, the samples average read from the
summed state, and the device path's batch state against the host's (the core's)."""

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402

from tally import _tally  # noqa: E402
from tally.keras import _device, _scores  # noqa: E402
from tally.keras._state import _Spec  # noqa: E402

NAN = float("nan")


def as_float(x):
    return float(ops.convert_to_numpy(x))


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 2.0, math.inf])
def test_fbeta_fraction_is_the_cores(beta):
    # (tp, predicted, actual): the edge cases tp + fp + fn = 0, no predictions, no truths.
    for tp, predicted, actual in [(0, 0, 0), (0, 3, 0), (0, 0, 2), (1, 2, 1), (3, 4, 7), (5, 5, 5)]:
        ours = _scores.fbeta_fraction(beta, ops.convert_to_tensor(float(tp)), ops.convert_to_tensor(float(predicted)),
                                      ops.convert_to_tensor(float(actual)))
        core = _tally.fbeta_fraction(beta, tp, predicted, actual)
        assert (as_float(ours[0]), as_float(ours[1])) == pytest.approx(core, rel=1e-6), (beta, tp, predicted, actual)


@pytest.mark.parametrize("values, weights", [
    ([0.5, NAN, 1.0], None), ([0.5, NAN, 1.0], [1.0, 5.0, 3.0]), ([0.5, NAN, 1.0], [0.0, 5.0, 0.0]),
    ([NAN, NAN], None), ([0.25, 0.75, 1.0], [2.0, 0.0, 1.0]), ([0.0, 1.0], [0.0, 0.0]), ([0.25, 0.5, 0.0], None),
])
def test_averages_are_the_cores(values, weights):
    v = ops.convert_to_tensor(np.array(values, np.float32))
    w = None if weights is None else ops.convert_to_tensor(np.array(weights, np.float32))
    warr = None if weights is None else np.array(weights)
    checks = [(_scores._nan_average(v, w), "skip"), (_scores._average(v, w), "propagate")]
    if not np.isnan(values).any():  # the unmasked form, for scores that cannot be nan
        checks.append((_scores._nan_average(v, w, may_be_nan=False), "skip"))
    for ours, rule in checks:
        core = _tally.average_scores(np.array(values), warr, rule)
        if rule == "propagate" and weights is not None and sum(weights) == 0:
            continue  # np.average refuses weights summing to 0; the Jaccard path never passes them
        np.testing.assert_allclose(as_float(ours), core, rtol=1e-6, equal_nan=True, err_msg=f"{rule} {values} {weights}")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the bits claimed for TensorFlow graphs")
def test_unmasked_average_keeps_the_masked_bits_in_a_tensorflow_graph():
    # A graph divides a sum by a constant label count as a multiply by its reciprocal
    # (1 ulp apart in about a fifth of these); the unmasked mean must divide as the masked one.
    import tensorflow as tf

    both = tf.function(lambda v, w: [_scores._nan_average(v, w_, m) for w_ in (None, w) for m in (True, False)])
    rng = np.random.default_rng(8)
    for n in (3, 7, 10, 39):
        for _ in range(60):
            v = (rng.integers(0, 50, n) / rng.integers(1, 50, n)).astype(np.float32)
            w = np.zeros(n, np.float32) if rng.random() < 0.3 else rng.random(n).astype(np.float32)
            masked, unmasked, masked_w, unmasked_w = (float(x) for x in both(tf.constant(v), tf.constant(w)))
            assert (masked, masked_w) == (unmasked, unmasked_w), (v, w)


@pytest.mark.parametrize("zero_division", [0.0, 1.0, NAN])
def test_divide_is_sklearns_prf_divide(zero_division):
    # Zero denominators under a zero and a nonzero numerator (a weighted count can have one).
    numerator = np.array([0.0, 3.0, 2.0, 0.0, 5.0, 1.5], np.float32)
    denominator = np.array([0.0, 4.0, 0.0, 7.0, 5.0, 0.25], np.float32)
    expected = np.where(denominator == 0, np.float32(zero_division),
                        numerator / np.where(denominator == 0, np.float32(1), denominator))
    ours = ops.convert_to_numpy(_scores._divide(ops.convert_to_tensor(numerator), ops.convert_to_tensor(denominator),
                                                zero_division))
    np.testing.assert_array_equal(ours, expected.astype(np.float32))


def batch(seed, weighted):
    rng = np.random.default_rng(seed)
    y_true = (rng.random((40, 4)) < 0.3).astype(np.float32)
    y_true[:5] = 0  # rows with no true label
    y_pred = rng.random((40, 4)).astype(np.float32)
    y_pred[:3] = 0.0  # and no predicted label: undefined row scores
    weights = rng.random(40).astype(np.float64) * 3 if weighted else None
    if weighted:
        weights[7] = 0.0
    return y_true, y_pred, weights


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0, math.inf])
def test_samples_average_and_device_state_are_the_cores(weighted, beta):
    y_true, y_pred, weights = batch(3, weighted)
    spec = _Spec(4, np.full(4, 0.5), beta)
    zeros = np.zeros(spec.size, np.float32)
    hi, lo = spec.accumulate(y_true, y_pred, weights, zeros, zeros)  # the core's state
    state = hi.astype(np.float64) + lo.astype(np.float64)
    for metric in ("precision", "recall", "fbeta", "jaccard"):
        for zd in (0.0, 1.0, NAN):
            ours = _scores.samples_average(ops.convert_to_tensor(state.astype(np.float32)), spec.offsets, metric, zd)
            core = _tally.summed_samples_average(state, 4, metric, zd)
            np.testing.assert_allclose(as_float(ours), core, rtol=1e-6, equal_nan=True, err_msg=f"{metric} {zd}")
    # The device path fills the same layout (read from the core) with the same numbers.
    device, bad = _device._device_batch_state(spec, ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred),
                                              None if weights is None else ops.convert_to_tensor(weights, "float32"))
    assert not bool(ops.convert_to_numpy(bad))
    np.testing.assert_allclose(ops.convert_to_numpy(device), state, rtol=1e-5, atol=1e-5)


def test_device_state_under_element_weights_is_the_cores():
    """A mask (2-D weights with zeros, unequal weights in a row too): every entry of the
    device state, the known-row weight per label included, is the core's."""
    y_true, y_pred, weights = batch(5, True)
    rng = np.random.default_rng(6)
    cells = np.where(rng.random(y_true.shape) < 0.3, 0.0, weights[:, None] * (1 + (rng.random(y_true.shape) < 0.2)))
    cells[9] = 0.0  # a row with no known label
    spec = _Spec(4, np.full(4, 0.5), 1.0)
    zeros = np.zeros(spec.size, np.float32)
    hi, lo = spec.accumulate(y_true, y_pred, cells, zeros, zeros)
    state = hi.astype(np.float64) + lo.astype(np.float64)
    o = spec.offsets
    np.testing.assert_allclose(state[o["label_weight"]:], cells.sum(axis=0), rtol=1e-6)
    device, bad = _device._device_batch_state(spec, ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred),
                                              ops.convert_to_tensor(cells, "float32"))
    assert not bool(ops.convert_to_numpy(bad))
    np.testing.assert_allclose(ops.convert_to_numpy(device), state, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("row_scores", [(), ("precision",), ("fbeta", "jaccard"), ("exact_match_weight",),
                                        ("recall", "exact_match_weight"), ("label_weight",)])
def test_device_state_fills_only_the_row_scores_asked_for(weighted, row_scores):
    y_true, y_pred, weights = batch(4, weighted)
    y_true[0, 0] = 2.0  # a bad value is still seen with no per-row score asked for
    spec = _Spec(4, np.full(4, 0.5), 1.0)
    args = (spec, ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred),
            None if weights is None else ops.convert_to_tensor(weights, "float32"))
    full, full_bad = (ops.convert_to_numpy(x) for x in _device._device_batch_state(*args))
    lean, lean_bad = (ops.convert_to_numpy(x) for x in _device._device_batch_state(*args, row_scores=row_scores))
    assert bool(full_bad) and bool(lean_bad)
    o, widths = spec.offsets, {"precision": 4, "recall": 4, "fbeta": 4, "jaccard": 4, "exact_match_weight": 1,
                               "label_weight": 4}
    kept = list(range(o["weight_sum"] + 1)) + [o[m] + i for m in row_scores for i in range(widths[m])]
    assert lean.shape == full.shape == (spec.size,)
    # float32 sums of weights and of per-row scores: the reduction's order may differ with the
    # number of columns; integer counts (every unweighted count): exact
    np.testing.assert_allclose(lean[kept], full[kept], rtol=1e-6)
    if not weighted:
        integer = full[kept] == np.round(full[kept])
        assert integer[: o["weight_sum"] + 1].all()
        np.testing.assert_array_equal(lean[kept][integer], full[kept][integer])
    dropped = np.setdiff1d(np.arange(spec.size), kept)
    assert np.all(lean[dropped] == 0) and np.any(full[dropped] != 0)


def test_layout_offsets_come_from_the_core():
    spec = _Spec(3, np.full(3, 0.5), 1.0)
    assert spec.offsets == _tally.summed_layout(3)
    # Hand-checked for 3 labels: tp [0, 3), fp [3, 6), fn [6, 9), rows 9, weight 10,
    # four row-score blocks of 4 from 11, exact match 27, known-row weight per label [28, 31), size 31.
    assert spec.offsets == {"true_positives": 0, "false_positives": 3, "false_negatives": 6, "rows": 9,
                            "weight_sum": 10, "precision": 11, "recall": 15, "fbeta": 19, "jaccard": 23,
                            "exact_match_weight": 27, "label_weight": 28, "size": 31}


def test_every_metric_refuses_a_batch_of_the_wrong_shape_naming_it():
    """One shape rule (`tally.keras.metrics.as_batch`) for the counting and the binned metrics;
    a refused batch leaves the state as it was."""
    import tally.keras as tk
    for make in (lambda: tk.F1Score(), lambda: tk.SubsetAccuracy(), lambda: tk.BinnedROCAUC()):
        m = make()
        name = type(m).__name__
        with pytest.raises(ValueError, match=rf"{name} expects y_pred of shape \(batch_size, n_labels\), "
                                             r"but got shape \(2, 3, 1\)"):
            m.update_state(np.zeros((2, 3, 1)), np.zeros((2, 3, 1), np.float32))
        assert m.n_labels is None  # not built by a refused batch
        with pytest.raises(ValueError, match=rf"{name} expects y_true of shape \(batch_size, 3\) like y_pred, "
                                             r"but got shape \(2, 4\)"):
            m.update_state(np.zeros((2, 4)), np.zeros((2, 3), np.float32))
        m.update_state(np.array([[1, 0, 1]], np.float32), np.array([[0.9, 0.2, 0.7]], np.float16))  # widened
        before = [np.array(ops.convert_to_numpy(v.value)) for v in m.variables]
        with pytest.raises(ValueError, match=rf"{name} was built for 3 labels, but y_pred has 2 columns"):
            m.update_state(np.zeros((2, 2)), np.zeros((2, 2), np.float32))
        for v, b in zip(m.variables, before):
            np.testing.assert_array_equal(ops.convert_to_numpy(v.value), b)
        # 1-D inputs are one label.
        one = make()
        one.update_state(np.array([1.0, 0.0]), np.array([0.8, 0.1], np.float32))
        assert one.n_labels == 1

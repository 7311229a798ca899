"""tally.net with missing labels (README "Missing labels"): `fit(..., ignore_value=-1)`
trains exactly as the same data with those entries' 2-D sample weights zeroed; the loss
is the binary cross-entropy of the known entries, Σ w·bce / (n · labels), checked with
numpy on the model's own predictions; the metrics are scikit-learn's on the known rows."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, f1_score

import tally.net as tn


def data(n=48, seed=0, labels=4):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 6, 6, 1), dtype=np.float32)
    y = (rng.random((n, labels)) < 0.4).astype(np.float32)
    known = rng.random((n, labels)) < 0.7
    known[:3] = False  # rows with no known label
    return x, y, known


def model(seed=3):
    m = tn.Sequential([tn.Flatten(), tn.Dense(8, activation="relu"), tn.Dense(4, activation="sigmoid")],
                      input_shape=(6, 6, 1), seed=seed)
    m.compile(optimizer=tn.SGD(0.1, momentum=0.9), loss="binary_crossentropy", metrics=["f1"])
    return m


def test_fit_with_ignore_value_equals_zeroed_element_weights():
    x, y, known = data()
    xv, yv, kv = data(24, 1)
    marked, marked_val = np.where(known, y, -1.0), np.where(kv, yv, np.nan)
    a, b = model(), model()
    ha = a.fit(x, marked, epochs=2, batch_size=16, validation_data=(xv, marked_val), ignore_value=-1, verbose=0)
    # nan is unknown too once ignore_value is given (here -1 in y, nan in y_val).
    hb = b.fit(x, np.where(known, y, 0), sample_weight=known.astype(float), epochs=2, batch_size=16,
               validation_data=(xv, np.where(kv, yv, 0), kv.astype(float)), verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)
    assert ha.history == hb.history
    # A model trained on other values at the unknown entries ends the same: they are never read.
    c = model()
    c.fit(x, np.where(known, y, 0.5), sample_weight=known.astype(float), epochs=2, batch_size=16, verbose=0)
    assert all(np.array_equal(wa, wc) for wa, wc in zip(a.get_weights(), c.get_weights()))


def test_masked_loss_and_metrics_against_numpy_and_sklearn():
    x, y, known = data(40, 2)
    m = model()
    m.fit(x, np.where(known, y, -1), epochs=1, batch_size=8, ignore_value=-1, verbose=0)
    logs = m.evaluate(x, np.where(known, y, -1), batch_size=40, ignore_value=-1, return_dict=True, verbose=0)
    p = m.predict(x, batch_size=40).astype(np.float64)
    eps = 1e-300
    bce = -(y * np.log(np.maximum(p, eps)) + (1 - y) * np.log(np.maximum(1 - p, eps)))
    assert logs["loss"] == pytest.approx((bce * known).sum() / y.size, rel=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(4):
            m_j = known[:, j]
            assert logs[f"f1/{j}"] == pytest.approx(f1_score(y[m_j, j], p[m_j, j] >= 0.5, zero_division=0), abs=1e-12)


def test_calibration_metrics_under_a_mask_equal_sklearn_on_the_known_rows():
    x, y, known = data(40, 4)
    m = model()
    logs = m.evaluate(x, np.where(known, y, -1), batch_size=40, ignore_value=-1, return_dict=True, verbose=0,
                      metrics=["brier"])
    p = m.predict(x, batch_size=40).astype(np.float64)
    per = [brier_score_loss(y[known[:, j], j], p[known[:, j], j]) for j in range(4)]
    for j in range(4):
        assert logs[f"brier/{j}"] == pytest.approx(per[j], rel=1e-12)
    assert logs["brier"] == pytest.approx(np.mean(per), rel=1e-12)
    # Soft targets are still refused where the label is known.
    soft = np.where(known, y, -1)
    soft[np.argwhere(known)[0][0], np.argwhere(known)[0][1]] = 0.5
    with pytest.raises(ValueError, match="hold 0/1 labels for calibration metrics"):
        m.evaluate(x, soft, ignore_value=-1, metrics=["brier"], verbose=0)


def test_bad_masks_raise_clear_errors():
    x, y, known = data(16)
    m = model()
    with pytest.raises(ValueError, match="ignore_value"):
        m.fit(x, y, ignore_value=1, verbose=0)
    with pytest.raises(ValueError, match=r"2-D `sample_weight` to have shape \(16, 4\)"):
        m.fit(x, y, sample_weight=np.ones((16, 3)), verbose=0)
    with pytest.raises(ValueError, match="finite numbers >= 0"):
        m.fit(x, y, sample_weight=np.where(known, -1.0, 1.0), verbose=0)
    with pytest.raises(ValueError, match="0/1 labels"):  # -1 without ignore_value is a bad label
        m.fit(x, np.where(known, y, -1), verbose=0)
    before = [w.copy() for w in m.get_weights()]
    cce = tn.Sequential([tn.Flatten(), tn.Dense(4, activation="softmax")], input_shape=(6, 6, 1), seed=0)
    cce.compile(optimizer=tn.SGD(0.1), loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="categorical cross-entropy"):
        cce.fit(x, y, sample_weight=known.astype(float), verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))

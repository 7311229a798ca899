"""tally.net's `fit` and `evaluate` log calibration per label ('brier', 'log_loss',
'ece', 'mce', optionally '_<average>') equal to scikit-learn's on `model.predict`."""

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss

import tally.net as tn
from test_net import small_data, weights_for


def model(seed=1):
    m = tn.Sequential([tn.Flatten(), tn.Dense(16, activation="relu"), tn.Dense(5, activation="sigmoid")],
                      input_shape=(16, 16, 3), seed=seed)
    m.compile(optimizer=tn.SGD(0.05, momentum=0.9), loss="binary_crossentropy",
              metrics=["f1", "brier", "log_loss_micro", "ece", "mce_weighted"])
    return m


def ece_mce(y, p, n_bins=15):
    """From calibration_curve's bins (scores on an inner edge in the lower bin, as it does)."""
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins)
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p), minlength=n_bins)
    gap = np.abs(prob_true - prob_pred)
    return float((counts[counts > 0] / len(p) * gap).sum()), float(gap.max())


def test_fit_and_evaluate_log_calibration_equal_to_sklearn():
    x, y = small_data(48, seed=2)
    xv, yv = small_data(40, seed=3)
    wv = weights_for(40, seed=5)
    m = model()
    h = m.fit(x, y, batch_size=16, epochs=2, validation_data=(xv, yv, wv), verbose=0)
    p = m.predict(xv)  # the last epoch's model
    per_label = [brier_score_loss(yv[:, j], p[:, j], sample_weight=wv) for j in range(5)]
    for j in range(5):
        assert h.history[f"val_brier/{j}"][-1] == pytest.approx(per_label[j], rel=1e-6)  # float32 scores
    assert h.history["val_brier"][-1] == pytest.approx(np.mean(per_label), rel=1e-6)
    micro = log_loss(yv.ravel(), p.ravel(), sample_weight=np.repeat(wv, 5), labels=[0, 1])
    assert h.history["val_log_loss_micro"][-1] == pytest.approx(micro, rel=1e-6)
    assert "brier" not in h.history and "ece" not in h.history  # the training pass keeps no scores
    assert len(h.history["val_ece/0"]) == 2
    # evaluate, unweighted: ECE and MCE from calibration_curve's bins
    logs = m.evaluate(xv, yv, return_dict=True)
    errors = [ece_mce(yv[:, j], p[:, j]) for j in range(5)]
    for j in range(5):
        assert logs[f"ece/{j}"] == pytest.approx(errors[j][0], abs=1e-12)
    assert logs["ece"] == pytest.approx(np.mean([e for e, _ in errors]), abs=1e-12)
    mce = np.average([m_ for _, m_ in errors], weights=yv.sum(axis=0))
    assert logs["mce_weighted"] == pytest.approx(mce, abs=1e-12)
    values = m.evaluate(xv, yv)
    assert values[2] == logs["brier"] and values[4] == logs["ece"]


def test_calibration_metric_names_and_soft_targets():
    with pytest.raises(ValueError, match="'mean'"):
        model().compile(optimizer="sgd", loss="binary_crossentropy", metrics=["brier_mean"])
    with pytest.raises(ValueError, match="a row has no bins"):
        model().compile(optimizer="sgd", loss="binary_crossentropy", metrics=["ece_samples"])
    with pytest.raises(ValueError, match="Expected a metric among"):
        model().compile(optimizer="sgd", loss="binary_crossentropy", metrics=["calibration"])
    x, y = small_data(16)
    m = model()
    soft = np.where(y > 0, 0.9, 0.1)
    with pytest.raises(ValueError, match="0/1 labels for calibration metrics"):
        m.fit(x, y, epochs=1, validation_data=(x, soft), verbose=0)
    assert m.iterations == 0
    # without calibration metrics, soft validation targets stay allowed
    m.fit(x, y, epochs=1, validation_data=(x, soft), metrics=["f1"], verbose=0)

"""tally.net's fit: exact per-label ROC AUC / average precision and tuned thresholds
on the validation data (ranked metrics), the thresholds file for inference, and the
progress bar's per-label table; checked against scikit-learn on `model.predict`."""

import io
import json
import math
import re

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

import tally.net as tn
from tally.thresholds import TunedThresholds


def data(n, seed, labels=5):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, labels)) < np.linspace(0.15, 0.5, labels)).astype(np.uint8)
    x = rng.random((n, 8, 8, 1), dtype=np.float32) * 0.5
    x[:, :labels, 0, 0] += y  # pixels that carry the labels, so scores are not all tied
    return x, y


def model():
    m = tn.Sequential([tn.Flatten(), tn.Dense(12, activation="relu"), tn.Dense(5, activation="sigmoid")],
                      input_shape=(8, 8, 1), seed=3)
    m.compile(tn.Adam(0.01), "binary_crossentropy", metrics=["f1", "roc_auc", "ap", "tuned_f1"],
              label_names=["a", "b", "c", "d", "e"])
    return m


class Predictions(tn.Callback):
    """model.predict(x_val) after each epoch (before the callbacks after it run)."""

    def __init__(self, x):
        super().__init__()
        self.x, self.seen = x, []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(self.model.predict(self.x).astype(np.float64))


def test_ranked_metrics_equal_sklearn_on_predict_each_epoch(tmp_path):
    x, y = data(160, 1)
    xv, yv = data(90, 2)
    yv[:, 4] = 0  # no positives: nan ROC AUC, AP 0 (scikit-learn warns), tuning undefined
    wv = np.random.default_rng(4).choice([0.5, 1.0, 2.0], size=len(xv))
    m = model()
    seen = Predictions(xv)
    path = tmp_path / "best.json"
    save = tn.SaveThresholds(str(path), monitor="val_tuned_f1")
    h = m.fit(x, y, epochs=3, batch_size=32, validation_data=(xv, yv, wv), verbose=0, callbacks=[seen, save])
    names = ["a", "b", "c", "d", "e"]
    assert "roc_auc" not in h.history and "roc_auc/a" not in h.history  # training scores are not kept
    best = None
    for epoch, p in enumerate(seen.seen):
        for j, n in enumerate(names):
            if j == 4:
                assert math.isnan(h.history[f"val_roc_auc/{n}"][epoch]) and h.history[f"val_ap/{n}"][epoch] == 0.0
                assert h.history[f"val_tuned_threshold/{n}"][epoch] == math.inf
                continue
            auc = roc_auc_score(yv[:, j], p[:, j], sample_weight=wv)
            ap = average_precision_score(yv[:, j], p[:, j], sample_weight=wv)
            assert h.history[f"val_roc_auc/{n}"][epoch] == pytest.approx(auc, abs=1e-12)
            assert h.history[f"val_ap/{n}"][epoch] == pytest.approx(ap, abs=1e-12)
            t = h.history[f"val_tuned_threshold/{n}"][epoch]
            f1 = f1_score(yv[:, j], p[:, j] >= t, sample_weight=wv)
            assert h.history[f"val_tuned_f1/{n}"][epoch] == pytest.approx(f1, abs=1e-12)
            brute = max(f1_score(yv[:, j], p[:, j] >= c, sample_weight=wv, zero_division=0)
                        for c in np.unique(p[:, j]))
            assert f1 == pytest.approx(brute, abs=1e-12)
        aucs = [roc_auc_score(yv[:, j], p[:, j], sample_weight=wv) for j in range(4)]
        assert h.history["val_roc_auc"][epoch] == pytest.approx(np.mean(aucs), abs=1e-12)  # mean of the defined
        np.testing.assert_array_equal(h.tuned[epoch].thresholds,
                                      [h.history[f"val_tuned_threshold/{n}"][epoch] for n in names])
        if best is None or h.history["val_tuned_f1"][epoch] > h.history["val_tuned_f1"][best]:
            best = epoch
    # The file holds the best epoch's thresholds by the monitored value.
    assert save.epoch == best
    written = TunedThresholds.load(str(path))
    np.testing.assert_array_equal(written.thresholds, h.tuned[best].thresholds)
    # evaluate scores the same way on its own data.
    out = m.evaluate(xv, yv, sample_weight=wv, return_dict=True)
    p = m.predict(xv).astype(np.float64)
    assert out["roc_auc/b"] == pytest.approx(roc_auc_score(yv[:, 1], p[:, 1], sample_weight=wv), abs=1e-12)


def test_progress_bar_table_every_and_history_keeps_per_label_keys():
    x, y = data(96, 5)
    xv, yv = data(64, 6)
    m = model()
    out = io.StringIO()
    bar = tn.ProgressBar(verbose=2, stream=out, table_every=2)
    h = m.fit(x, y, epochs=4, batch_size=32, validation_data=(xv, yv), callbacks=[bar])
    text = out.getvalue()
    lines = text.splitlines()
    bar_lines = [line for line in lines if " - loss: " in line]
    assert len(bar_lines) == 4 and all("/" not in line.split(" - loss: ", 1)[1] for line in bar_lines), bar_lines
    assert max(map(len, bar_lines)) < 300, max(map(len, bar_lines))
    assert " - val_roc_auc: " in bar_lines[-1] and " - val_tuned_f1: " in bar_lines[-1]
    heads = [i for i, line in enumerate(lines) if re.fullmatch(r"Epoch \d+: per-label values", line)]
    assert [lines[i] for i in heads] == ["Epoch 2: per-label values", "Epoch 4: per-label values"]
    header = lines[heads[-1] + 1].split()
    assert header == ["f1", "val_f1", "val_roc_auc", "val_ap", "val_tuned_f1", "val_tuned_threshold"], header
    rows = lines[heads[-1] + 2: heads[-1] + 7]
    col = header.index("val_roc_auc")
    for row, n in zip(rows, "abcde"):
        assert row.split()[0] == n and row.split()[1 + col] == f"{h.history[f'val_roc_auc/{n}'][-1]:.2f}", row
    for key in ("f1", "val_f1", "val_roc_auc", "val_ap", "val_tuned_f1", "val_tuned_threshold"):
        assert all(len(h.history[f"{key}/{n}"]) == 4 for n in "abcde"), key


def test_ranked_metric_and_save_thresholds_refuse_clearly(tmp_path):
    x, y = data(64, 7)
    m = model()
    with pytest.raises(ValueError, match="'roc_auc', 'ap', 'tuned_f1', 'tuned_youden'"):
        m.compile(tn.Adam(0.01), "binary_crossentropy", metrics=["auc"])
    with pytest.raises(ValueError, match="Expected a .json or .npy path"):
        tn.SaveThresholds(str(tmp_path / "t.txt"))
    m = model()
    with pytest.raises(ValueError, match="Expected thresholds tuned this epoch"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[tn.SaveThresholds(str(tmp_path / "t.npy"))])  # no validation data


def test_a_tuned_result_is_fits_and_compiles_threshold(tmp_path):
    """The thresholds tuned in one fit score the next one (fit's and compile's
    `threshold=`, and through save/load): F1 there is scikit-learn's at `score >= t`."""
    x, y = data(96, 8)
    xv, yv = data(64, 9)
    m = model()
    tuned = m.fit(x, y, epochs=1, validation_data=(xv, yv), verbose=0).tuned[-1]
    assert np.isfinite(tuned.thresholds).all() and len(set(tuned.thresholds.tolist())) > 1
    h = m.fit(x, y, epochs=1, validation_data=(xv, yv), verbose=0, threshold=tuned)
    p = m.predict(xv)
    expected = f1_score(yv, p >= tuned.thresholds, average=None, zero_division=0)
    np.testing.assert_allclose([h.history[f"val_f1/{n}"][0] for n in "abcde"], expected, rtol=0, atol=1e-12)
    m.compile(tn.Adam(0.01), "binary_crossentropy", metrics=["f1"], threshold=tuned, label_names=list("abcde"))
    m.save(str(tmp_path / "m.npz"))
    again = tn.load_model(str(tmp_path / "m.npz"))
    out = again.evaluate(xv, yv, return_dict=True)
    np.testing.assert_allclose([out[f"f1/{n}"] for n in "abcde"], expected, rtol=0, atol=1e-12)

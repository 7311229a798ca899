"""Keras cases for missing labels (README "Missing labels"), run by keras_cases.py's
runner in a subprocess per backend (see test_keras.py). Kept apart from
keras_cases.py, which imports `case_missing` from here."""

import math
import warnings

import numpy as np

import keras
from keras import ops
from sklearn import metrics as skm

import tally.keras as tk
from tally import _tally
from tally.keras import _device

NAMES = ["cat", "dog", "owl", "fox"]
TOL = 1e-6  # logs are float32


def _data(n, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 4)) < np.array([0.15, 0.3, 0.45, 0.6])).astype("float32")
    x = np.concatenate([y + rng.normal(scale=1.0, size=y.shape), rng.normal(size=(n, 2))], axis=1).astype("float32")
    known = rng.random((n, 4)) < 0.7
    known[:, 3] &= np.arange(n) % 2 == 0  # a label known on half the rows only
    known[:5] = False                      # rows with no known label
    return x, np.where(known, y, -1.0).astype("float32"), known


def _masked_bce(y_true, y_pred):
    """Binary cross-entropy over the known entries (the model must train on something)."""
    known = ops.cast(ops.not_equal(y_true, -1.0), "float32")
    p = ops.clip(y_pred, 1e-7, 1 - 1e-7)
    t = ops.where(known > 0, y_true, 0.0)
    return ops.sum(-known * (t * ops.log(p) + (1 - t) * ops.log(1 - p)), axis=-1) / 4.0


def _references(y, known, pred):
    """scikit-learn on the known entries: label by label, on stacked known cells for
    micro/macro/weighted, on the rows with a known label (unknown cells 0/0) for samples."""
    hard = (pred >= 0.5).astype(int)
    t = np.where(known, y, 0).astype(int)
    rows, cols = np.nonzero(known)
    st, sp = np.zeros((rows.size, 4), int), np.zeros((rows.size, 4), int)
    st[np.arange(rows.size), cols] = t[rows, cols]
    sp[np.arange(rows.size), cols] = hard[rows, cols]
    live = known.any(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = {f"f1/{n}": skm.f1_score(t[known[:, j], j], hard[known[:, j], j], zero_division=0)
               for j, n in enumerate(NAMES)}
        for a in ("micro", "macro", "weighted"):
            out[f"{a}_f1"] = skm.f1_score(st, sp, average=a, zero_division=0)
            out[f"{a}_precision"] = skm.precision_score(st, sp, average=a, zero_division=0)
        out["samples_f1"] = skm.f1_score(np.where(known, t, 0)[live], np.where(known, hard, 0)[live],
                                         average="samples", zero_division=0)
        out["subset_accuracy"] = skm.accuracy_score(np.where(known, t, 0)[live], np.where(known, hard, 0)[live])
        out["label_accuracy"] = [skm.accuracy_score(t[known[:, j], j], hard[known[:, j], j]) for j in range(4)]
        out["macro_label_accuracy"] = np.mean(out["label_accuracy"])
        out["micro_label_accuracy"] = skm.accuracy_score(t[known], hard[known])  # the known cells pooled
        out["hamming_loss"] = skm.hamming_loss(t[known], hard[known])
        out["auc"] = [skm.roc_auc_score(t[known[:, j], j], pred[known[:, j], j]) for j in range(4)]
        out["brier"] = [skm.brier_score_loss(t[known[:, j], j], pred[known[:, j], j].astype(np.float64))
                        for j in range(4)]
    return out


def case_missing(jit="auto"):
    """Metrics with ignore_value=-1 (host and device counting, compiled or eager) and
    PerLabelReport(ignore_value=-1) log scikit-learn's values on the known entries of
    the validation set, every epoch; the backend-op mask equals the core's."""
    # The mask in backend ops is the core's rule (nan or the ignore value; times row weights).
    y = np.array([[1, -1, np.nan], [0, 1, -1]], "float32")
    for ignore, w in ((-1.0, None), (np.nan, None), (-1.0, np.array([2.0, 3.0], "float32"))):
        _, ours = _device.known_entries(ops.convert_to_tensor(y), None if w is None else ops.convert_to_tensor(w), ignore)
        core = np.frombuffer(_tally.missing_weights(y.astype(np.float64), float(ignore),
                                                    None if w is None else w.astype(np.float64)), dtype=np.float64)
        assert np.array_equal(ops.convert_to_numpy(ours).reshape(-1), core), (ignore, ours, core)
    x, y, _ = _data(240, 1)
    x_val, y_val, known_val = _data(160, 2)
    metrics = [tk.F1Score(average=None, ignore_value=-1, label_names=NAMES, counting="host")]
    for counting in ("host", "device"):
        for a in ("micro", "macro", "weighted", "samples"):
            metrics.append(tk.F1Score(average=a, ignore_value=-1, per_label=False, counting=counting,
                                      name=f"{counting}_{a}_f1"))
        metrics.append(tk.Precision(average="weighted", ignore_value=-1, per_label=False, counting=counting,
                                    name=f"{counting}_weighted_precision"))
        metrics.append(tk.SubsetAccuracy(ignore_value=-1, counting=counting, name=f"{counting}_subset_accuracy"))
        for a in ("micro", "macro"):
            metrics.append(tk.LabelAccuracy(average=a, ignore_value=-1, counting=counting, label_names=NAMES,
                                            per_label=a == "macro", name=f"{counting}_{a}_label_accuracy"))
        metrics.append(tk.HammingLoss(ignore_value=-1, counting=counting, name=f"{counting}_hamming_loss"))
    binned = [tk.BinnedROCAUC(bins=50, average=None, ignore_value=-1, label_names=NAMES, name="binned_auc"),
              tk.BinnedAveragePrecision(bins=50, average="micro", ignore_value=-1, per_label=False,
                                        name="binned_micro_ap")]
    metrics += binned
    report = tk.PerLabelReport((x_val, y_val), label_names=NAMES, print_every=0, ranking=True, ignore_value=-1,
                               zero_division=0, calibration=("brier", "ece"))

    class Predictions(keras.callbacks.Callback):
        preds = []

        def on_epoch_end(self, epoch, logs=None):
            Predictions.preds.append(self.model.predict(x_val, verbose=0))

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(4, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=_masked_bce, metrics=metrics,
                  run_eagerly=jit == "eager", jit_compile=False if jit == "eager" else "auto")
    history = model.fit(x, y, validation_data=(x_val, y_val), epochs=2, batch_size=32, verbose=0,
                        callbacks=[report, Predictions()])
    checked = 0
    for epoch in range(2):
        ref = _references(y_val, known_val, Predictions.preds[epoch])
        logs = {k: v[epoch] for k, v in history.history.items()}
        for n in NAMES:
            assert abs(logs[f"val_f1/{n}"] - ref[f"f1/{n}"]) < TOL, (n, logs[f"val_f1/{n}"], ref[f"f1/{n}"])
            checked += 1
        for counting in ("host", "device"):
            for key in ("micro_f1", "macro_f1", "weighted_f1", "samples_f1", "weighted_precision", "subset_accuracy",
                        "micro_label_accuracy", "macro_label_accuracy", "hamming_loss"):
                got = logs[f"val_{counting}_{key}"]
                assert abs(got - ref[key]) < TOL, (counting, key, got, ref[key])
                checked += 1
        for counting in ("host", "device"):
            for j, n in enumerate(NAMES):
                got = logs[f"val_{counting}_macro_label_accuracy/{n}"]
                assert abs(got - ref["label_accuracy"][j]) < TOL, (counting, n, got, ref["label_accuracy"][j])
                checked += 1
        # Binned ROC AUC / AP on the known entries: the core's BinnedScoreTally with the same mark.
        from tally import BinnedScoreTally

        ref_binned = BinnedScoreTally(4, 50, ignore_value=-1).update(y_val, Predictions.preds[epoch])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            auc, ap = ref_binned.roc_auc(average=None), ref_binned.average_precision(average="micro")
        for j, n in enumerate(NAMES):
            assert abs(logs[f"val_binned_auc/{n}"] - auc[j]) < TOL, (n, logs[f"val_binned_auc/{n}"], auc[j])
        assert abs(logs["val_binned_micro_ap"] - ap) < TOL, (logs["val_binned_micro_ap"], ap)
        checked += len(NAMES) + 1
        row = report.history[epoch]
        for j, n in enumerate(NAMES):
            assert abs(row[f"val_f1/{n}"] - ref[f"f1/{n}"]) < 1e-12, (n, row[f"val_f1/{n}"], ref[f"f1/{n}"])
            assert abs(row[f"val_roc_auc/{n}"] - ref["auc"][j]) < 1e-12, (n, row[f"val_roc_auc/{n}"], ref["auc"][j])
            assert abs(row[f"val_brier/{n}"] - ref["brier"][j]) < 1e-12, (n, row[f"val_brier/{n}"], ref["brier"][j])
        assert abs(row["val_samples_f1"] - ref["samples_f1"]) < 1e-12
        checked += 3 * len(NAMES) + 1
    assert not any(math.isnan(v) for v in history.history["val_host_macro_f1"])
    # Refusals: a label value as the mark; metrics whose state cannot hold a mask.
    for bad in (0, 1.0, "x"):
        try:
            tk.F1Score(ignore_value=bad)
        except ValueError as exc:
            assert "Invalid `ignore_value` argument value" in str(exc), exc
        else:
            raise AssertionError(f"ignore_value={bad!r} accepted")
    for kwargs in (dict(ignore_value=-1), dict()):
        try:
            m = tk.LabelAccuracy(average="samples", **kwargs)
            m.update_state(np.ones((2, 4)), np.ones((2, 4), "float32"), np.ones((2, 4), "float32"))
        except ValueError as exc:
            assert "LabelAccuracy(average='samples') cannot score missing labels" in str(exc), exc
        else:
            raise AssertionError(f"LabelAccuracy(average='samples', {kwargs}) accepted a mask")
    config = metrics[1].get_config()
    assert config["ignore_value"] == -1 and tk.F1Score.from_config(config).get_config() == config
    print(f"missing labels checked ({checked} values, jit={jit})")

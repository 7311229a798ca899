"""Keras cases for the progress line and the binned ranking metrics (run by
test_keras.py through keras_cases.py, in that file's interpreter per backend)."""

import contextlib
import io
import math
import re
import warnings

import keras
import numpy as np
from sklearn import metrics as skm

import tally.keras as tk
from tally.scores import BinnedScoreTally

TEN = [f"digit {i}" for i in range(10)]


def _ten_label_data(n, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 10)) < np.linspace(0.1, 0.5, 10)).astype("float32")
    x = np.concatenate([y + rng.normal(scale=1.0, size=y.shape), rng.normal(size=(n, 2))], axis=1).astype("float32")
    return x, y


def _ten_label_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=[tk.F1Score(average="macro", label_names=TEN),
                           tk.BinnedAveragePrecision(label_names=TEN)])
    return model


def _printed_lines(text):
    return [line for line in re.split(r"[\r\n]", text) if line.strip()]


def case_progress():
    """With per-label scalars for 10 labels in the logs (compiled metrics and
    PerLabelReport's ranking), Keras's own bar prints lines of thousands of
    characters; with ProgressLine every printed line is short, the per-label table
    comes every `table_every` epochs, and History still holds every per-label key."""
    x, y = _ten_label_data(256, 1)
    xv, yv = _ten_label_data(128, 2)
    longest = {}
    for verbose in (2, 1):
        for progress in (False, True):
            model = _ten_label_model()
            report = tk.PerLabelReport((xv, yv), label_names=TEN, print_every=0, ranking=True)
            callbacks = [report] + ([tk.ProgressLine(table_every=2)] if progress else [])
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                history = model.fit(x, y, epochs=4, batch_size=64, validation_data=(xv, yv), verbose=verbose,
                                    callbacks=callbacks)
            text = out.getvalue()
            lines = _printed_lines(text)
            bar_lines = [line for line in lines if " - loss: " in line]
            assert bar_lines, text[-2000:]
            longest[verbose, progress] = max(len(line) for line in bar_lines)
            keys = set(history.history)
            for name in TEN:
                for key in ("f1", "ap", "val_f1", "val_ap", "val_roc_auc", "val_precision"):
                    assert f"{key}/{name}" in keys, (key, name, sorted(keys)[:20])
                    assert len(history.history[f"{key}/{name}"]) == 4
            if progress:
                # The averages are on the line, the per-label values are not.
                assert all("digit" not in line for line in bar_lines), [line for line in bar_lines if "digit" in line][:1]
                for key in ("loss", "macro_f1", "val_macro_f1", "val_macro_roc_auc", "macro_ap"):
                    assert f" {key}: " in bar_lines[-1], (key, bar_lines[-1])
                tables = [i for i, line in enumerate(lines) if re.match(r"Epoch \d+: per-label values$", line)]
                assert [lines[i] for i in tables] == ["Epoch 2: per-label values", "Epoch 4: per-label values"], tables
                header = lines[tables[-1] + 1].split()
                assert {"f1", "ap", "val_f1", "val_roc_auc"} <= set(header), header
                body = lines[tables[-1] + 2: tables[-1] + 12]
                assert [row.split()[:2] for row in body] == [name.split() for name in TEN], body
                # The last table's values are the last epoch's logs, printed with 2 decimals.
                column = header.index("val_roc_auc")
                for row, name in zip(body, TEN):
                    cell = row.split()[2 + column]
                    assert cell == f"{history.history[f'val_roc_auc/{name}'][-1]:.2f}", (row, name)
    print("longest progress lines (verbose, ProgressLine):", longest)
    for verbose in (1, 2):
        assert longest[verbose, False] > 2000 and longest[verbose, True] < 1000, longest
    # `keys` narrows the line to what the reader watches.
    model = _ten_label_model()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model.fit(x, y, epochs=1, batch_size=64, validation_data=(xv, yv), verbose=2,
                  callbacks=[tk.ProgressLine(keys=("loss", "val_loss", "val_macro_f1"))])
    bar_lines = [line for line in _printed_lines(out.getvalue()) if " - loss: " in line]
    assert len(bar_lines) == 1 and bar_lines[0].endswith(" - val_macro_f1: " + bar_lines[0].split()[-1]), bar_lines
    assert " macro_f1: " not in bar_lines[0] and len(bar_lines[0]) < 120, bar_lines
    print("progress line checked")


def case_binned(mode="compiled"):
    """BinnedROCAUC / BinnedAveragePrecision in compile(metrics=...) log, for the
    validation data, the core's BinnedScoreTally values on model.predict with the
    same bins (weighted), their state is that histogram, and scikit-learn's exact
    values lie inside the bounds the core states for it."""
    x, y = _ten_label_data(300, 3)
    xv, yv = _ten_label_data(200, 4)
    yv[:, 0] = 0  # one class: nan ROC AUC, AP 0
    wv = np.random.default_rng(5).choice([0.5, 1.0, 2.0], size=len(xv)).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="sigmoid")])
    auc = tk.BinnedROCAUC(bins=50, label_names=TEN)
    ap = tk.BinnedAveragePrecision(bins=50, average="weighted", label_names=TEN)
    auc_micro = tk.BinnedROCAUC(bins=50, average="micro", per_label=False, name="micro_auc")
    # Keras passes sample weights to `weighted_metrics` only.
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=[auc_micro], weighted_metrics=[auc, ap], jit_compile=(mode == "xla"))
    history = model.fit(x, y, epochs=2, batch_size=64, validation_data=(xv, yv, wv), verbose=0)
    p = model.predict(xv, verbose=0)
    ref = BinnedScoreTally(10, 50).update(yv, p, wv.astype(np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_auc = ref.roc_auc(average=None)
        per_ap = ref.average_precision(average=None)
        macro_auc = ref.roc_auc(average="macro")
        weighted_ap = ref.average_precision(average="weighted")
        micro_auc = BinnedScoreTally(10, 50).update(yv, p).roc_auc(average="micro")  # unweighted
    logs = {k: v[-1] for k, v in history.history.items()}
    tol = 2e-6  # the logs are float32
    for j, name in enumerate(TEN):
        if j == 0:
            assert math.isnan(logs[f"val_roc_auc/{name}"]) and logs[f"val_ap/{name}"] == 0.0
            continue
        assert abs(logs[f"val_roc_auc/{name}"] - per_auc[j]) < tol, (name, logs[f"val_roc_auc/{name}"], per_auc[j])
        assert abs(logs[f"val_ap/{name}"] - per_ap[j]) < tol, (name, logs[f"val_ap/{name}"], per_ap[j])
    assert math.isnan(logs["val_macro_roc_auc"]) and math.isnan(macro_auc)  # the one-class label spreads
    assert abs(logs["val_weighted_ap"] - weighted_ap) < tol, (logs["val_weighted_ap"], weighted_ap)
    assert abs(logs["val_micro_auc"] - micro_auc) < tol, (logs["val_micro_auc"], micro_auc)
    # After fit the metrics hold the last validation pass: the core's histograms.
    held = auc.binned()
    assert held.n_samples == len(xv)
    values, lower, upper = held.roc_auc(average=None, return_bounds=True)
    np.testing.assert_array_equal(values, per_auc)
    exact = np.array([skm.roc_auc_score(yv[:, j], p[:, j], sample_weight=wv) for j in range(1, 10)])
    assert np.all(lower[1:] <= exact + 1e-12) and np.all(exact <= upper[1:] + 1e-12), (lower, exact, upper)
    v, lo, hi = ap.binned().average_precision(average=None, return_bounds=True)
    exact_ap = np.array([skm.average_precision_score(yv[:, j], p[:, j], sample_weight=wv) for j in range(1, 10)])
    assert np.all(lo[1:] <= exact_ap + 1e-12) and np.all(exact_ap <= hi[1:] + 1e-12), (lo, exact_ap, hi)
    # The bins matter: the binned value differs from the exact one, and the bound says by how much.
    assert np.max(np.abs(values[1:] - exact)) > 0
    if mode == "compiled":
        # Eager: a batch the core refuses raises its message and changes nothing.
        m = tk.BinnedROCAUC(bins=10, n_labels=2)
        m.update_state(np.array([[1, 0]], "float32"), np.array([[0.9, 0.2]], "float32"))
        before = keras.ops.convert_to_numpy(m.state_hi).copy()
        for yt, yp, message in (([[2, 0]], [[0.5, 0.5]], "y_true"), ([[1, 0]], [[np.nan, 0.5]], "nan")):
            try:
                m.update_state(np.array(yt, "float32"), np.array(yp, "float32"))
            except Exception as e:  # noqa: BLE001 - the backend wraps the host's error in its own type
                assert message in str(e), e
            else:
                raise AssertionError(f"accepted {yt} {yp}")
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(m.state_hi), before)
        for bad, text in (({"bins": 0}, "Expected `bins` in [1, 16777216], but got 0"),
                          ({"average": "samples"}, "samples"), ({"low": 1.0}, "low < high")):
            try:
                tk.BinnedAveragePrecision(**bad)
            except ValueError as e:
                assert text in str(e), e
            else:
                raise AssertionError(f"accepted {bad}")
        config = auc.get_config()
        assert tk.BinnedROCAUC.from_config(config).get_config() == config
    print(f"binned ({mode}) checked; widest AUC bound {np.max(upper[1:] - lower[1:]):.4f}")


def case_best_thresholds():
    """PerLabelReport(thresholds_monitor=...) keeps the thresholds of the epoch where the
    monitored value was best (any key in the logs, a compiled metric's too); without a
    monitor, the last epoch's. Each equals that epoch's logged tuned thresholds."""
    import os
    import tempfile

    from tally.thresholds import TunedThresholds

    x, y = _ten_label_data(200, 7)
    xv, yv = _ten_label_data(120, 8)
    with tempfile.TemporaryDirectory() as d:
        best_path, last_path, loss_path = (os.path.join(d, n) for n in ("best.json", "last.npy", "loss.json"))
        best = tk.PerLabelReport((xv, yv), label_names=TEN, print_every=0, tune="f1", thresholds_path=best_path,
                                 thresholds_monitor="val_tuned_f1")
        last = tk.PerLabelReport((xv, yv), label_names=TEN, print_every=0, tune="f1", thresholds_path=last_path)
        by_loss = tk.PerLabelReport((xv, yv), label_names=TEN, print_every=0, tune="f1", thresholds_path=loss_path,
                                    thresholds_monitor="val_loss")
        model = _ten_label_model()
        # A high learning rate, so that the monitored values go up and down.
        model.compile(optimizer=keras.optimizers.SGD(0.8), loss="binary_crossentropy")
        history = model.fit(x, y, epochs=6, batch_size=32, validation_data=(xv, yv), verbose=0,
                            callbacks=[best, last, by_loss])
        tuned = history.history["val_tuned_f1"]
        losses = history.history["val_loss"]
        expect_best = int(np.nanargmax(tuned))
        expect_loss = int(np.argmin(losses))
        assert best.thresholds_epoch == expect_best and by_loss.thresholds_epoch == expect_loss, (tuned, losses)
        assert last.thresholds_epoch == 5

        def logged(epoch):
            return [history.history[f"val_tuned_threshold/{n}"][epoch] for n in TEN]

        assert TunedThresholds.load(best_path).thresholds.tolist() == logged(expect_best)
        assert TunedThresholds.load(last_path).tolist() == logged(5)
        assert TunedThresholds.load(loss_path).thresholds.tolist() == logged(expect_loss)
        print("epochs kept:", expect_best, expect_loss, "of", [round(v, 3) for v in tuned])
        try:
            tk.PerLabelReport((xv, yv), tune="f1", thresholds_path=best_path, thresholds_mode="up")
        except ValueError as e:
            assert "Expected 'auto', 'min' or 'max'" in str(e), e
        else:
            raise AssertionError("thresholds_mode='up' was accepted")
    print("best thresholds checked")

"""Keras integration cases, run one per subprocess by test_keras.py.

Keras fixes its backend at import, so each case runs in a fresh interpreter with
KERAS_BACKEND set: `python keras_cases.py CASE [ARGS...]`. A case asserts and
prints "ok" last; anything else is a failure with the assertion's message.
"""

import json
import math
import os
import sys
import tempfile
import warnings

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
from sklearn import metrics as skm  # noqa: E402

import tally.keras as tk  # noqa: E402

BACKEND = keras.backend.backend()
TOL = 1e-6  # logs are float32
N_LABELS = 5
NAMES = ["cat", "dog", "owl", "fox", "elk"]


def data(n, seed, n_labels=N_LABELS):
    """Features that carry the labels (so the model learns something) with skewed
    label frequencies, so that micro/macro/weighted/samples differ and some rows
    have no labels."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, n_labels)) < np.linspace(0.08, 0.5, n_labels)).astype("float32")
    x = np.concatenate([y + rng.normal(scale=1.2, size=y.shape), rng.normal(size=(n, 3))], axis=1).astype("float32")
    return x, y


def model_for(n_features, n_labels=N_LABELS, dropout=0.0, logits=False, seed=0):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((n_features,)), keras.layers.Dense(16, activation="relu")]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(n_labels, activation=None if logits else "sigmoid"))
    return keras.Sequential(layers)


# -- a recorder of what the train step saw ----------------------------------------------


class Recorder(keras.metrics.Metric):
    """Sends every batch's (y_true, y_pred, sample_weight) to the host, through the
    same callback mechanism, so a test can score the epoch's own predictions."""

    def __init__(self, **kwargs):
        super().__init__(name="recorder", **kwargs)
        self.calls = self.add_variable(shape=(), initializer="zeros", name="calls")
        self.batches = []

    def _record(self, yt, yp, *w):
        self.batches.append((np.array(yt), np.array(yp), np.array(w[0]) if w else None))
        return np.float32(len(self.batches))

    def update_state(self, y_true, y_pred, sample_weight=None):
        args = [y_true, y_pred] + ([] if sample_weight is None else [sample_weight])
        if BACKEND == "jax":
            import jax
            out = jax.pure_callback(self._record, jax.ShapeDtypeStruct((), np.float32), *args)
        else:
            import tensorflow as tf
            out = tf.numpy_function(self._record, args, tf.float32, stateful=True)
        self.calls.assign(keras.ops.reshape(out, ()))

    def result(self):
        return {}


class EpochRecords(keras.callbacks.Callback):
    """The recorded training batches of each epoch, and predictions of x_val at its end."""

    def __init__(self, recorder, n_train, x_val):
        super().__init__()
        self.recorder, self.n_train, self.x_val = recorder, n_train, x_val
        self.train, self.val_pred = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.recorder.batches.clear()

    def on_epoch_end(self, epoch, logs=None):
        # The train batches come first; evaluation's batches follow them.
        rows, kept = 0, []
        for b in self.recorder.batches:
            if rows >= self.n_train:
                break
            kept.append(b)
            rows += b[0].shape[0]
        assert rows == self.n_train, (rows, self.n_train)
        yt = np.concatenate([b[0] for b in kept])
        yp = np.concatenate([b[1] for b in kept])
        w = None if kept[0][2] is None else np.concatenate([b[2] for b in kept]).reshape(-1)
        self.train.append((yt, yp, w))
        self.val_pred.append(self.model.predict(self.x_val, verbose=0))


# -- references ---------------------------------------------------------------------------


def reference(kind, y_true, y_pred, average, zero_division, sample_weight=None, beta=1.0):
    """scikit-learn's value (per-label array or float) of one Tally metric."""
    kw = dict(sample_weight=sample_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind in ("precision", "recall", "f1", "fbeta", "jaccard"):
            fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score,
                  "jaccard": skm.jaccard_score}.get(kind)
            if kind == "fbeta":
                return skm.fbeta_score(y_true, y_pred, beta=beta, average=average, zero_division=zero_division, **kw)
            return fn(y_true, y_pred, average=average, zero_division=zero_division, **kw)
        if kind == "subset_accuracy":
            return skm.accuracy_score(y_true, y_pred, **kw)
        if kind == "hamming_loss":
            return skm.hamming_loss(y_true, y_pred, **kw)
        if kind == "label_accuracy":
            per = np.array([skm.accuracy_score(y_true[:, j], y_pred[:, j], **kw) for j in range(y_true.shape[1])])
            if average is None:
                return per
            if average == "weighted":
                support = (y_true * (1 if sample_weight is None else sample_weight[:, None])).sum(0)
                return float(np.average(per, weights=support))
            return float(per.mean())
    raise AssertionError(kind)


CLASSES = {"precision": tk.Precision, "recall": tk.Recall, "f1": tk.F1Score, "fbeta": tk.FBetaScore,
           "jaccard": tk.JaccardScore, "label_accuracy": tk.LabelAccuracy,
           "subset_accuracy": tk.SubsetAccuracy, "hamming_loss": tk.HammingLoss}


SMALL_TABLE = [("precision", "samples", float("nan")), ("recall", "macro", 1.0), ("f1", None, 0.0),
               ("fbeta", "weighted", 0.0), ("jaccard", "samples", 1.0), ("jaccard", "micro", 0.0),
               ("label_accuracy", "weighted", 0.0)]


def metric_table(threshold=0.5, from_logits=False, zero_divisions=(0.0, 1.0, float("nan")), small=False):
    """(metric, kind, average, zero_division, beta) for every metric, average and
    zero_division; `small`: every kind and average once (eager steps are slow)."""
    table = []
    if small:
        for kind, average, zd in SMALL_TABLE:
            kw = dict(threshold=threshold, from_logits=from_logits, average=average, zero_division=zd,
                      label_names=NAMES, name=f"{kind}_{average}_{zd}".replace(".", ""))
            if kind == "fbeta":
                kw["beta"] = 2.0
            table.append((CLASSES[kind](**kw), kind, average, zd, 2.0 if kind == "fbeta" else 1.0))
        zero_divisions = ()
    for kind in ("precision", "recall", "f1", "fbeta", "jaccard", "label_accuracy") if zero_divisions else ():
        for average in (None, "micro", "macro", "weighted", "samples"):
            zds = (0.0,) if kind == "label_accuracy" else zero_divisions
            if kind == "jaccard":  # scikit-learn's jaccard_score takes no nan
                zds = [z for z in zds if not math.isnan(z)]
            for zd in zds:
                beta = 2.0 if kind == "fbeta" else 1.0
                tag = f"{kind}_{average}_{zd}".replace(".", "")
                kw = dict(threshold=threshold, from_logits=from_logits, average=average, zero_division=zd,
                          label_names=NAMES, name=tag)
                if kind == "fbeta":
                    kw["beta"] = beta
                table.append((CLASSES[kind](**kw), kind, average, zd, beta))
    for kind in ("subset_accuracy", "hamming_loss"):
        table.append((CLASSES[kind](threshold=threshold, from_logits=from_logits, name=kind), kind, None, 0.0, 1.0))
    return table


def check_logs(logs, prefix, table, y_true, y_pred, sample_weight=None, where=""):
    """Every logged value equals scikit-learn's to TOL."""
    checked = 0
    for metric, kind, average, zd, beta in table:
        ref = reference(kind, y_true, y_pred, average, zd, sample_weight, beta)
        if np.ndim(ref) == 0 and kind not in ("subset_accuracy", "hamming_loss") and average is None:
            raise AssertionError(kind)
        if np.ndim(ref) == 1:
            got = np.array([logs[f"{prefix}{metric.name}/{n}"] for n in NAMES])
        else:
            got = logs[f"{prefix}{metric.name}"]
        ok = np.allclose(got, ref, rtol=0, atol=TOL, equal_nan=True)
        assert ok, f"{where} {prefix}{metric.name}: logged {got}, scikit-learn {ref}"
        checked += 1
    return checked


# -- cases ------------------------------------------------------------------------------------


def case_exact(mode):
    """Validation logs equal sklearn on model.predict >= threshold, and training
    logs equal sklearn on the predictions the train step made, every epoch."""
    eager = mode == "eager"
    x, y = data(200 if eager else 400, 1)
    x_val, y_val = data(80 if eager else 150, 2)
    epochs = 2
    table = metric_table(small=eager)
    recorder = Recorder()
    model = model_for(x.shape[1], dropout=0.3)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy",
                  metrics=[m for m, *_ in table] + [recorder], run_eagerly=eager)
    records = EpochRecords(recorder, len(x), x_val)
    # 400 rows in batches of 48: a short last batch, as in real epochs.
    history = model.fit(x, y, epochs=epochs, batch_size=48, validation_data=(x_val, y_val), verbose=0,
                        callbacks=[records])
    checked = 0
    for epoch in range(epochs):
        logs = {k: v[epoch] for k, v in history.history.items()}
        checked += check_logs(logs, "val_", table, y_val, records.val_pred[epoch] >= 0.5, where=f"epoch {epoch}")
        yt, yp, _ = records.train[epoch]
        checked += check_logs(logs, "", table, yt, yp >= 0.5, where=f"epoch {epoch} train")
    # Dropout makes the training predictions differ from predict(): the check above is not vacuous.
    assert not np.array_equal(records.train[-1][1] >= 0.5, model.predict(x, verbose=0) >= 0.5)
    print(f"checked {checked} logged values")


def case_weighted(mode):
    """sample_weight in fit and in validation_data, per-label thresholds, logits."""
    eager = mode == "eager"
    x, y = data(300, 3)
    x_val, y_val = data(120, 4)
    rng = np.random.default_rng(5)
    w = rng.choice([0.0, 0.5, 1.0, 2.5], size=len(x)).astype("float32")
    w_val = rng.choice([0.0, 1.0, 3.0], size=len(x_val)).astype("float32")
    thresholds = [0.3, 0.5, 0.5, 0.6, 0.45]
    table = metric_table(threshold=thresholds, from_logits=True, zero_divisions=(0.0, float("nan")))
    recorder = Recorder()
    model = model_for(x.shape[1], logits=True)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  weighted_metrics=[m for m, *_ in table] + [recorder], run_eagerly=eager)
    records = EpochRecords(recorder, len(x), x_val)
    history = model.fit(x, y, sample_weight=w, epochs=2, batch_size=40, validation_data=(x_val, y_val, w_val),
                        verbose=0, callbacks=[records])
    logit_t = np.log(thresholds) - np.log1p(-np.array(thresholds))
    checked = 0
    for epoch in range(2):
        logs = {k: v[epoch] for k, v in history.history.items()}
        checked += check_logs(logs, "val_", table, y_val, records.val_pred[epoch] >= logit_t, w_val, f"epoch {epoch}")
        yt, yp, sw = records.train[epoch]
        checked += check_logs(logs, "", table, yt, yp >= logit_t, sw, f"epoch {epoch} train")
    print(f"checked {checked} logged values")


def case_seed_mistake():
    """The seed's function metrics (per-batch recall/precision, averaged over batches
    by Keras) log a different number from the epoch's recall; Tally's matches."""
    from keras import ops as K

    def recall(y_true, y_pred):
        true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)), axis=0)
        possible_positives = K.sum(K.round(K.clip(y_true, 0, 1)), axis=0)
        return true_positives / (possible_positives + keras.backend.epsilon())

    x, y = data(500, 6)
    x_val, y_val = data(300, 7)
    model = model_for(x.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy",
                  metrics=[recall, tk.Recall(average="macro", name="tally_recall")])
    history = model.fit(x, y, epochs=2, batch_size=32, validation_data=(x_val, y_val), verbose=0)
    # The seed rounds (0.5 goes to 0) where Tally thresholds with >=; no score here is exactly 0.5.
    scores = model.predict(x_val, verbose=0)
    assert not np.any(scores == 0.5)
    exact = skm.recall_score(y_val, scores >= 0.5, average="macro", zero_division=0)
    seed_value = history.history["val_recall"][-1]
    tally_value = history.history["val_tally_recall"][-1]
    print(f"seed's batch-averaged recall {seed_value:.4f}, exact {exact:.4f}, Tally {tally_value:.4f}")
    assert abs(tally_value - exact) < TOL
    assert abs(seed_value - exact) > 1e-3, "the batch-averaged value should differ from the epoch's"


def case_distributed():
    """JAX DataParallel over 2 simulated CPU devices logs what one device logs."""
    import jax
    assert len(jax.devices()) == 2, jax.devices()
    x, y = data(256, 8)
    x_val, y_val = data(128, 9)
    metrics = lambda: [tk.F1Score(average=a, label_names=NAMES) for a in ("micro", "macro", "samples")] + [
        tk.SubsetAccuracy(), tk.JaccardScore(average="weighted")]

    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
    model = model_for(x.shape[1])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=metrics())
    history = model.fit(x, y, epochs=2, batch_size=32, validation_data=(x_val, y_val), verbose=0)
    parallel = model.evaluate(x_val, y_val, batch_size=32, verbose=0, return_dict=True)
    weights = model.get_weights()
    pred = model.predict(x_val, verbose=0) >= 0.5
    last = {k[4:]: v[-1] for k, v in history.history.items() if k.startswith("val_")}

    keras.distribution.set_distribution(None)
    single_model = model_for(x.shape[1])
    single_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=metrics())
    single_model.set_weights(weights)
    single = single_model.evaluate(x_val, y_val, batch_size=32, verbose=0, return_dict=True)
    for k in parallel:
        if k != "loss":
            assert abs(parallel[k] - single[k]) < TOL, (k, parallel[k], single[k])
            assert abs(last[k] - single[k]) < TOL, (k, last[k], single[k])
    assert abs(single["macro_f1"] - skm.f1_score(y_val, pred, average="macro", zero_division=0)) < TOL
    assert abs(single["samples_f1"] - skm.f1_score(y_val, pred, average="samples", zero_division=0)) < TOL
    print("parallel == single device for", sorted(parallel))


def case_save_load():
    """A compiled model with Tally metrics saves and loads; the loaded model's
    metrics are Tally's and evaluate to the same values. Every class round-trips
    get_config."""
    for cls, kw in [(tk.Precision, dict(average="samples", zero_division=float("nan"))),
                    (tk.Recall, dict(threshold=[0.2, 0.4, 0.5, 0.6, 0.7], label_names=NAMES)),
                    (tk.FBetaScore, dict(beta=0.5, average="weighted", from_logits=True)),
                    (tk.F1Score, dict(average=None, per_label=True, n_labels=5)),
                    (tk.JaccardScore, dict(average="micro", zero_division=1)),
                    (tk.LabelAccuracy, dict(average="weighted")),
                    (tk.SubsetAccuracy, dict()), (tk.HammingLoss, dict(per_label=True))]:
        m = cls(**kw)
        config = m.get_config()
        json.dumps(config)
        again = cls.from_config(config)
        assert again.get_config() == config or (
            json.dumps(again.get_config()) == json.dumps(config)), (config, again.get_config())
        revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(m))
        assert type(revived) is cls and json.dumps(revived.get_config()) == json.dumps(config)

    x, y = data(200, 10)
    model = model_for(x.shape[1])
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=[tk.F1Score(average="macro", label_names=NAMES), tk.Precision(average="samples"),
                           tk.FBetaScore(beta=2.0, average="micro", threshold=0.4)])
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
    after = loaded.evaluate(x, y, verbose=0, return_dict=True)
    kinds = {type(m).__name__ for m in loaded._compile_metrics.metrics}
    assert {"F1Score", "Precision", "FBetaScore"} <= kinds, kinds
    assert set(before) == set(after), (sorted(before), sorted(after))
    for k in before:
        assert abs(before[k] - after[k]) < TOL, (k, before[k], after[k])
    print("saved and loaded:", sorted(after))


def case_callback(*kinds):
    for kind in kinds:
        one_callback_case(kind)


def one_callback_case(kind):
    """PerLabelReport scores the whole validation set (arrays, PyDataset, tf.data,
    generator, factory) exactly; placed before EarlyStopping and ModelCheckpoint it
    drives them; CSVLogger and History see its keys; it writes CSV/JSON."""
    x, y = data(300, 11)
    x_val, y_val = data(130, 12)
    w_val = np.random.default_rng(1).choice([0.5, 1.0, 2.0], size=len(x_val)).astype("float32")

    class Val(keras.utils.PyDataset):
        def __len__(self):
            return math.ceil(len(x_val) / 32)

        def __getitem__(self, i):
            s = slice(32 * i, 32 * i + 32)
            return x_val[s], y_val[s], w_val[s]

    def batches():
        for i in range(0, len(x_val), 32):
            yield x_val[i:i + 32], y_val[i:i + 32], w_val[i:i + 32]

    if kind == "arrays":
        val, steps = (x_val, y_val, w_val), None
    elif kind == "pydataset":
        val, steps = Val(), None
    elif kind == "tfdata":
        import tensorflow as tf
        val, steps = tf.data.Dataset.from_tensor_slices((x_val, y_val, w_val)).batch(32), None
    elif kind == "generator":
        def forever():
            while True:
                yield from batches()
        val, steps = forever(), math.ceil(len(x_val) / 32)
    elif kind == "factory":
        val, steps = batches, None
    else:
        raise AssertionError(kind)

    with tempfile.TemporaryDirectory() as d:
        report = tk.PerLabelReport(val, steps=steps, label_names=NAMES, print_every=2,
                                   csv_path=os.path.join(d, "h.csv"), json_path=os.path.join(d, "h.json"),
                                   metrics=("precision", "recall", "f1", "support"))
        stopper = keras.callbacks.EarlyStopping(monitor="val_macro_f1", mode="max", patience=1)
        checkpoint = keras.callbacks.ModelCheckpoint(os.path.join(d, "best.keras"), monitor="val_f1/cat",
                                                     mode="max", save_best_only=True)
        csv_logger = keras.callbacks.CSVLogger(os.path.join(d, "log.csv"))

        class Predictions(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.preds = []

            def on_epoch_end(self, epoch, logs=None):
                self.preds.append(self.model.predict(x_val, verbose=0))
                assert "val_macro_f1" in logs and "val_f1/cat" in logs, sorted(logs)

        preds = Predictions()
        model = model_for(x.shape[1])
        # A frozen model: val_macro_f1 cannot improve, so EarlyStopping (patience 1) must
        # stop after the second epoch — if it sees the key, which only the report puts there.
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy")
        history = model.fit(x, y, epochs=10, batch_size=32, verbose=0,
                            callbacks=[report, preds, stopper, checkpoint, csv_logger])
        epochs = len(history.history["loss"])
        assert epochs == 2, f"EarlyStopping on val_macro_f1 stopped after {epochs} epochs, not 2"
        assert stopper.stopped_epoch == 1 and stopper.best == history.history["val_macro_f1"][0]
        assert checkpoint.best == max(history.history["val_f1/cat"])
        assert len(report.history) == epochs
        for epoch in range(epochs):
            p = preds.preds[epoch] >= 0.5
            row = report.history[epoch]
            for avg in ("micro", "macro", "weighted", "samples"):
                ref = skm.f1_score(y_val, p, average=avg, sample_weight=w_val, zero_division=0)
                assert abs(row[f"val_{avg}_f1"] - ref) < 1e-12, (epoch, avg, row[f"val_{avg}_f1"], ref)
                assert history.history[f"val_{avg}_f1"][epoch] == row[f"val_{avg}_f1"]
            per = skm.precision_recall_fscore_support(y_val, p, sample_weight=w_val, zero_division=0)
            for j, n in enumerate(NAMES):
                for i, m in enumerate(("precision", "recall", "f1", "support")):
                    assert abs(row[f"val_{m}/{n}"] - per[i][j]) < 1e-9, (m, n)
        with open(os.path.join(d, "log.csv")) as fh:
            header = fh.readline()
        assert "val_f1/cat" in header and "val_samples_f1" in header, header
        with open(os.path.join(d, "h.json")) as fh:
            assert len(json.load(fh)) == epochs
        with open(os.path.join(d, "h.csv")) as fh:
            assert len(fh.readlines()) == epochs + 1
    print(f"{kind}: stopped after {epochs} epochs")


def case_bad_input():
    """Clear exceptions: wrong arguments at construction, non-binary targets and
    mismatched shapes during fit, and a model whose width changes."""
    import pytest
    for kw, text in [(dict(average="binary"), "Invalid `average`"), (dict(zero_division=2), "Invalid `zero_division`"),
                     (dict(threshold=[0.5, 0.5], label_names=NAMES), "expected 2 values"),
                     (dict(threshold=float("nan")), "Invalid `threshold`"),
                     (dict(label_names="cat"), "Invalid `label_names`"), (dict(n_labels=0), "Invalid `n_labels`")]:
        with pytest.raises(ValueError, match=text):
            tk.F1Score(**kw)
    with pytest.raises(ValueError, match="Invalid `beta`"):
        tk.FBetaScore(beta=-1)
    x, y = data(64, 13)
    model = model_for(x.shape[1])
    model.compile(optimizer="adam", loss="mse", metrics=[tk.F1Score()])
    with pytest.raises(Exception, match="Expected `y_true` to hold only 0 and 1, but got 2.0"):
        model.fit(x, y * 2, epochs=1, batch_size=32, verbose=0)
    m = tk.Precision(n_labels=3)
    with pytest.raises(ValueError, match="built for 3 labels"):
        m.update_state(np.zeros((2, 4), "float32"), np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="y_true of shape"):
        m.update_state(np.zeros((2, 2), "float32"), np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="one sample weight per row"):
        m.update_state(np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32"), np.ones((2, 3), "float32"))
    # Direct (eager) use works like a Keras metric: update, result, reset.
    m.update_state(np.array([[1, 0, 1], [0, 1, 1]], "float32"), np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.7]], "float32"))
    r = {k: float(v) for k, v in m.result().items()}
    assert r == {"macro_precision": 1.0, "precision/0": 1.0, "precision/1": 1.0, "precision/2": 1.0}, r
    m.reset_state()
    assert float(m.result()["macro_precision"]) == 0.0  # nothing seen: every label 0/0 -> zero_division
    print("ok bad input")


if __name__ == "__main__":
    name, *args = sys.argv[1:]
    globals()[f"case_{name}"](*args)
    print("ok")

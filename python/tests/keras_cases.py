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

import tally  # noqa: E402
import tally.keras as tk  # noqa: E402
from keras_cases_progress import case_best_thresholds, case_binned, case_progress  # noqa: E402,F401 - run by name in main
from sklearn.calibration import calibration_curve  # noqa: E402

BACKEND = keras.backend.backend()
AVERAGES = (None, "micro", "macro", "weighted", "samples")
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


class XlaRecorder(keras.metrics.Metric):
    """An XLA-compiled TensorFlow step cannot call the host: this recorder writes
    each batch into variables (padded to `batch_size` rows), which `EpochRecords`
    reads after every training batch (TensorFlow updates variables in place)."""

    def __init__(self, batch_size, n_labels, **kwargs):
        super().__init__(name="recorder", **kwargs)
        self.size = batch_size
        self.true = self.add_variable(shape=(batch_size, n_labels), initializer="zeros", name="true")
        self.pred = self.add_variable(shape=(batch_size, n_labels), initializer="zeros", name="pred")
        self.weight = self.add_variable(shape=(batch_size,), initializer="zeros", name="weight")
        self.rows = self.add_variable(shape=(), initializer="zeros", name="rows")
        self.batches = []

    def update_state(self, y_true, y_pred, sample_weight=None):
        ops = keras.ops
        n = ops.shape(y_pred)[0]
        pad = [[0, self.size - n], [0, 0]]
        self.true.assign(ops.pad(ops.cast(y_true, "float32"), pad))
        self.pred.assign(ops.pad(ops.cast(y_pred, "float32"), pad))
        w = ops.ones((n,)) if sample_weight is None else ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        self.weight.assign(ops.pad(w, pad[:1]))
        self.rows.assign(ops.cast(n, "float32"))

    def read(self):
        n = int(self.rows.numpy())
        self.batches.append((self.true.numpy()[:n], self.pred.numpy()[:n], self.weight.numpy()[:n]))

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

    def on_train_batch_end(self, batch, logs=None):
        if isinstance(self.recorder, XlaRecorder):
            self.recorder.read()

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
ZERO_DIVISIONS = (0.0, 1.0, float("nan"))
KINDS = ("precision", "recall", "f1", "fbeta", "jaccard", "label_accuracy")


def metric_table(threshold=0.5, from_logits=False, zero_divisions=ZERO_DIVISIONS, mode="full", prefix="",
                 counting="auto"):
    """(metric, kind, average, zero_division, beta) rows. `mode`: "full", every
    metric, average and zero_division; "rotate", every metric and average once, the
    zero_division rotating so that each metric and each average meets each value
    (the score code branches on them separately); "small", SMALL_TABLE (eager steps
    are slow). Subset accuracy and Hamming loss always."""
    rows = []

    def add(kind, average, zd):
        beta = 2.0 if kind == "fbeta" else 1.0
        kw = dict(threshold=threshold, from_logits=from_logits, average=average, zero_division=zd,
                  label_names=NAMES, name=f"{prefix}{kind}_{average}_{zd}".replace(".", ""), counting=counting)
        if kind == "fbeta":
            kw["beta"] = beta
        rows.append((CLASSES[kind](**kw), kind, average, zd, beta))

    if mode == "small":
        for kind, average, zd in SMALL_TABLE:
            add(kind, average, zd)
    else:
        for i, kind in enumerate(KINDS):
            for a, average in enumerate(AVERAGES):
                zds = (0.0,) if kind == "label_accuracy" else zero_divisions
                if kind == "jaccard":  # scikit-learn's jaccard_score takes no nan
                    zds = [z for z in zds if not math.isnan(z)]
                if mode == "rotate":
                    zds = [zds[(i + a) % len(zds)]]
                for zd in zds:
                    add(kind, average, zd)
    for kind in ("subset_accuracy", "hamming_loss"):
        rows.append((CLASSES[kind](threshold=threshold, from_logits=from_logits, name=prefix + kind,
                                   counting=counting), kind, None, 0.0, 1.0))
    return rows


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
    """Logged values equal scikit-learn's, every epoch: validation logs against
    model.predict >= threshold, training logs against the predictions the train
    step made (recorded). One model carries two tables: `metrics=` (threshold 0.5,
    unweighted) and `weighted_metrics=` (per-label thresholds, from_logits, the
    sample weights of fit and validation_data, zero weights among them).

    mode: "compiled" (Keras's default jit_compile; the weighted table counts on the
    host, the plain one in the step), "xla" (TensorFlow, jit_compile=True: no host
    callback), "eager" (run_eagerly=True, smaller tables)."""
    eager, xla = mode == "eager", mode == "xla"
    x, y = data(200 if eager else 400, 1)
    x_val, y_val = data(80 if eager else 150, 2)
    rng = np.random.default_rng(5)
    w = rng.choice([0.0, 0.5, 1.0, 2.5], size=len(x)).astype("float32")
    w_val = rng.choice([0.0, 1.0, 3.0], size=len(x_val)).astype("float32")
    thresholds = [0.3, 0.5, 0.5, 0.6, 0.45]
    logit_t = np.log(thresholds) - np.log1p(-np.array(thresholds))
    plain = metric_table(mode="small" if eager else "rotate" if xla else "full")
    weighted = metric_table(threshold=thresholds, from_logits=True, zero_divisions=(0.0, float("nan")), prefix="w_",
                            mode="small" if eager else "rotate", counting="host" if mode == "compiled" else "auto")
    recorder = XlaRecorder(48, N_LABELS) if xla else Recorder()
    # Logits out: the plain table thresholds them at 0.5 (a number like any other),
    # the weighted one at logit(threshold).
    model = model_for(x.shape[1], dropout=0.3, logits=True)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[m for m, *_ in plain], weighted_metrics=[m for m, *_ in weighted] + [recorder],
                  run_eagerly=eager, jit_compile=True if xla else "auto")
    records = EpochRecords(recorder, len(x), x_val)
    # 400 rows in batches of 48: a short last batch, as in real epochs.
    history = model.fit(x, y, sample_weight=w, epochs=2, batch_size=48, validation_data=(x_val, y_val, w_val),
                        verbose=0, callbacks=[records])
    if xla:
        assert model.jit_compile is True
    checked = 0
    for epoch in range(2):
        logs = {k: v[epoch] for k, v in history.history.items()}
        val = records.val_pred[epoch]
        checked += check_logs(logs, "val_", plain, y_val, val >= 0.5, where=f"epoch {epoch}")
        checked += check_logs(logs, "val_", weighted, y_val, val >= logit_t, w_val, f"epoch {epoch}")
        yt, yp, sw = records.train[epoch]
        checked += check_logs(logs, "", plain, yt, yp >= 0.5, where=f"epoch {epoch} train")
        checked += check_logs(logs, "", weighted, yt, yp >= logit_t, sw, f"epoch {epoch} train")
    # Dropout makes the training predictions differ from predict(): the check above is not vacuous.
    assert not np.array_equal(records.train[-1][1] >= 0.5, model.predict(x, verbose=0) >= 0.5)
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
    try:
        model = model_for(x.shape[1])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=metrics())
        history = model.fit(x, y, epochs=2, batch_size=32, validation_data=(x_val, y_val), verbose=0)
        parallel = model.evaluate(x_val, y_val, batch_size=32, verbose=0, return_dict=True)
        weights = model.get_weights()
        pred = model.predict(x_val, verbose=0) >= 0.5
        last = {k[4:]: v[-1] for k, v in history.history.items() if k.startswith("val_")}
    finally:  # later cases in this interpreter run on one device
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
    # (2, 3) is one weight per element (missing labels, keras_missing_cases); (2, 2) is neither.
    with pytest.raises(ValueError, match="one sample weight per row"):
        m.update_state(np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32"), np.ones((2, 2), "float32"))
    # Direct (eager) use works like a Keras metric: update, result, reset.
    m.update_state(np.array([[1, 0, 1], [0, 1, 1]], "float32"), np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.7]], "float32"))
    r = {k: float(v) for k, v in m.result().items()}
    assert r == {"macro_precision": 1.0, "precision/0": 1.0, "precision/1": 1.0, "precision/2": 1.0}, r
    m.reset_state()
    assert float(m.result()["macro_precision"]) == 0.0  # nothing seen: every label 0/0 -> zero_division
    print("ok bad input")


def case_counting():
    """Counting in backend ops (counting="device", what compiled steps use) equals the
    Swift core's count (the host path): counts exactly, the per-row sums of
    average="samples" and weighted sums to float32 rounding; eagerly and compiled by
    XLA. The hi/lo state stays exact past 2^24. Metrics handed the same batch share
    one bad-value check per step."""
    from tally.keras import _device, _host, _state

    if BACKEND == "jax":
        import jax
        compile_ = jax.jit
    else:
        import tensorflow as tf
        compile_ = lambda f: tf.function(f, jit_compile=True)
    rng = np.random.default_rng(21)
    ops = keras.ops
    for trial, (rows, labels, beta, weighted, dtype) in enumerate([
            (37, 6, 1.0, False, "float32"), (37, 6, 2.0, True, "float32"), (1, 3, 0.0, True, "float32"),
            (64, 1, math.inf, False, "float32"), (50, 9, 0.5, True, "float32"), (20, 4, 1.0, False, "bool"),
            (20, 4, 1.0, True, "float64")]):
        thresholds = rng.random(labels)
        thresholds[0] = 0.7  # float32(0.7) < 0.7: the comparison must round it up, as the core does
        spec = _state._Spec(labels, thresholds, beta)
        y_true = (rng.random((rows, labels)) < 0.4)
        y_true = y_true.astype("float32") if dtype != "bool" else y_true
        y_pred = rng.random((rows, labels)).astype("float64" if dtype == "float64" else "float32")
        y_pred[0] = np.float32(thresholds)  # scores on (and just around) the thresholds
        if rows > 2:
            y_pred[1, 0] = np.nextafter(np.float32(0.7), np.float32(1))
            y_pred[2] = 0.0  # a row predicting nothing
        w = rng.choice([0.0, 0.5, 1.3, 2.0], rows).astype("float32") if weighted else None
        hi = np.zeros(spec.size, np.float32)
        lo = np.zeros(spec.size, np.float32)
        hi[0], lo[0] = 2.0 ** 25, 1.0  # a count past 2^24 in two words
        ref_hi, ref_lo = spec.accumulate(y_true, y_pred, w, hi, lo)
        ref = ref_hi.astype(np.float64) + ref_lo
        if BACKEND == "jax" and dtype == "float64":
            continue  # JAX has no float64 unless x64 is enabled
        args = [ops.convert_to_tensor(a) for a in (y_true, y_pred, hi, lo)] + (
            [] if w is None else [ops.convert_to_tensor(w)])

        def run(yt, yp, h, l, *sw):
            return _device._device_accumulate(spec, yt, yp, sw[0] if sw else None, h, l,
                                          host_reachable=_host._step_kind(yp) != "xla")

        for how, f in (("eager", run), ("compiled", compile_(run))):
            got_hi, got_lo = (np.asarray(v) for v in f(*args))
            got = got_hi.astype(np.float64) + got_lo
            o = spec.offsets  # the core's layout, by name
            exact = (list(range(3 * labels)) + [o["rows"], o["weight_sum"]]
                     + [o[m] + 3 for m in ("precision", "recall", "fbeta", "jaccard")] + [o["exact_match_weight"]]
                     + list(range(o["label_weight"], o["size"])))
            if not weighted:  # counts, rows, defined-row counts, exact-match rows
                assert np.array_equal(got[exact], ref[exact]), (trial, how, got[exact] - ref[exact])
                assert np.array_equal(got_hi[exact], ref_hi[exact]) and np.array_equal(got_lo[exact], ref_lo[exact])
            assert np.allclose(got, ref, rtol=1e-6, atol=1e-6), (trial, how, np.max(np.abs(got - ref)))
    # Exact past 2^24: add batches of 7 rows to a count just below 2^25, compiled.
    spec = _state._Spec(2, np.array([0.5, 0.5]), 1.0)
    add = compile_(lambda yt, yp, h, l: _device._device_accumulate(spec, yt, yp, None, h, l,
                                                               host_reachable=_host._step_kind(yp) != "xla"))
    hi = np.zeros(spec.size, np.float32)
    hi[0] = 2.0 ** 25 - 8
    lo = np.zeros(spec.size, np.float32)
    yt, yp = ops.ones((7, 2)), ops.ones((7, 2))
    h, l = ops.convert_to_tensor(hi), ops.convert_to_tensor(lo)
    for _ in range(5):
        h, l = add(yt, yp, h, l)
    total = float(np.asarray(h)[0]) + float(np.asarray(l)[0])
    assert total == 2.0 ** 25 - 8 + 35, total  # float32 alone would have stopped counting by 1s at 2^24
    rows = spec.offsets["rows"]
    assert float(np.asarray(h)[rows]) + float(np.asarray(l)[rows]) == 35

    # One bad-value check per step for all metrics given the same batch, and one batch
    # state for the metrics that read the same entries at the same thresholds.
    calls = {"check": 0, "count": 0, "state": 0}
    check, accumulate, state = _device._batch_check, _device._device_accumulate, _device._device_batch_state

    def spy_check(*a, **k):
        calls["check"] += 1
        return check(*a, **k)

    def spy_count(*a, **k):
        calls["count"] += 1
        return accumulate(*a, **k)

    def spy_state(*a, **k):
        calls["state"] += 1
        return state(*a, **k)

    _device._batch_check, _device._device_accumulate, _device._device_batch_state = spy_check, spy_count, spy_state
    try:
        x, y = data(64, 22)
        model = model_for(x.shape[1])
        model.compile(loss="binary_crossentropy", metrics=[tk.F1Score(), tk.Precision(), tk.SubsetAccuracy()],
                      weighted_metrics=[tk.Recall(), tk.JaccardScore()])
        model.fit(x, y, sample_weight=np.ones(64, "float32"), batch_size=32, epochs=1, verbose=0)
    finally:
        _device._batch_check, _device._device_accumulate, _device._device_batch_state = check, accumulate, state
    # Per trace: 5 metrics; 2 batches (unweighted, weighted); 3 states (F1 + precision,
    # subset accuracy's exact matches, recall + Jaccard weighted).
    assert calls["count"] > 0 and calls["check"] * 5 == calls["count"] * 2, calls
    assert calls["state"] * 5 == calls["count"] * 3, calls
    print("device counting equals the core's;", calls)


def case_xla_bad_input():
    """TensorFlow with jit_compile=True: counting="host" says why it cannot run; a
    batch the core would refuse cannot raise from XLA and makes the value nan."""
    import pytest
    x, y = data(64, 13)
    model = model_for(x.shape[1])
    model.compile(optimizer="adam", loss="mse", metrics=[tk.F1Score(counting="host")], jit_compile=True)
    with pytest.raises(ValueError, match="cannot run in an XLA-compiled TensorFlow step"):
        model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    model = model_for(x.shape[1])
    model.compile(optimizer="adam", loss="mse", metrics=[tk.F1Score(), tk.SubsetAccuracy()], jit_compile=True)
    history = model.fit(x, y * 2, epochs=1, batch_size=32, verbose=0)
    assert math.isnan(history.history["macro_f1"][0]) and math.isnan(history.history["subset_accuracy"][0])
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=0)  # the next epoch starts clean
    assert not math.isnan(history.history["macro_f1"][0])
    print("ok xla bad input")


def case_ranking():
    """PerLabelReport(ranking=True, tune="f1") logs exact per-label ROC AUC and average
    precision equal to scikit-learn's on `model.predict` (weighted), and thresholds
    tuned on every validation score: F1 there equals scikit-learn's, no candidate
    threshold does better, and the last epoch's thresholds are written to a file."""
    x, y = data(300, 21)
    x_val, y_val = data(150, 22)
    y_val[:, 0] = 0  # a label with no positives: nan AUC, undefined tuning
    w_val = np.random.default_rng(3).choice([0.5, 1.0, 2.0], size=len(x_val)).astype("float32")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.json")
        report = tk.PerLabelReport((x_val, y_val, w_val), label_names=NAMES, print_every=0, ranking=True,
                                   tune="f1", thresholds_path=path)

        class Predictions(keras.callbacks.Callback):
            preds = []

            def on_epoch_end(self, epoch, logs=None):
                Predictions.preds.append(self.model.predict(x_val, verbose=0))

        model = model_for(x.shape[1])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")  # compiled (default)
        history = model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[report, Predictions()])
        checked = 0
        w = w_val.astype(np.float64)
        for epoch in range(2):
            p = Predictions.preds[epoch]
            row = report.history[epoch]
            for j, n in enumerate(NAMES):
                if j == 0:
                    assert math.isnan(row[f"val_roc_auc/{n}"]) and math.isnan(row[f"val_tuned_f1/{n}"])
                    assert row[f"val_tuned_threshold/{n}"] == math.inf
                    continue
                auc = skm.roc_auc_score(y_val[:, j], p[:, j], sample_weight=w)
                ap = skm.average_precision_score(y_val[:, j], p[:, j], sample_weight=w)
                assert abs(row[f"val_roc_auc/{n}"] - auc) < 1e-12, (n, row[f"val_roc_auc/{n}"], auc)
                assert abs(row[f"val_ap/{n}"] - ap) < 1e-12, (n, row[f"val_ap/{n}"], ap)
                t = row[f"val_tuned_threshold/{n}"]
                f1 = skm.f1_score(y_val[:, j], p[:, j] >= t, sample_weight=w)
                assert abs(row[f"val_tuned_f1/{n}"] - f1) < 1e-12, (n, row[f"val_tuned_f1/{n}"], f1)
                best = max(skm.f1_score(y_val[:, j], p[:, j] >= c, sample_weight=w, zero_division=0)
                           for c in np.unique(p[:, j]))
                assert abs(f1 - best) < 1e-12, (n, f1, best)
                assert history.history[f"val_ap/{n}"][epoch] == row[f"val_ap/{n}"]
                checked += 1
        assert checked == 2 * (N_LABELS - 1)
        assert "val_macro_roc_auc" in history.history and "val_tuned_f1" in history.history
        with open(path) as fh:
            assert json.load(fh)["thresholds"][1:] == [report.history[1][f"val_tuned_threshold/{n}"] for n in NAMES[1:]]
        # The tuned result is a metric's threshold= too, and its config is plain data.
        metric = tk.F1Score(threshold=report.tuned, average=None)
        config = metric.get_config()
        assert config["threshold"] == report.tuned.thresholds.tolist(), config
        json.dumps(config)
        assert tk.F1Score.from_config(config).get_config() == config
    print("ranking and tuned thresholds checked")


def case_calibration():
    """PerLabelReport(calibration=...) logs per-label Brier score, log loss, ECE and MCE
    and their averages equal to scikit-learn's on `model.predict` (float32 scores:
    scikit-learn computes in float32, hence the tolerance): `brier_score_loss` and
    `log_loss(labels=[0, 1])` per column with sample weights, ECE/MCE from
    `calibration_curve`'s bins on the unweighted set."""
    x, y = data(300, 31)
    x_val, y_val = data(160, 32)
    w_val = np.random.default_rng(5).choice([0.5, 1.0, 2.0], size=len(x_val)).astype("float32")
    metrics = ("brier", "log_loss", "ece", "mce")
    weighted = tk.PerLabelReport((x_val, y_val, w_val), label_names=NAMES, print_every=0, calibration=metrics,
                                 averages=("micro", "macro", "samples"), prefix="val_w_")
    plain = tk.PerLabelReport((x_val, y_val), label_names=NAMES, print_every=0, calibration=("brier", "ece", "mce"),
                              n_bins=8,
                              averages=("macro",))

    class Predictions(keras.callbacks.Callback):
        preds = []

        def on_epoch_end(self, epoch, logs=None):
            Predictions.preds.append(self.model.predict(x_val, verbose=0))

    model = model_for(x.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[weighted, plain, Predictions()])
    w = w_val.astype(np.float64)
    edges = np.linspace(0, 1, 9)
    checked = 0
    for epoch in range(2):
        p = Predictions.preds[epoch]
        assert p.dtype == np.float32
        row, row_plain = weighted.history[epoch], plain.history[epoch]
        briers, eces = [], []
        for j, n in enumerate(NAMES):
            brier = skm.brier_score_loss(y_val[:, j], p[:, j], sample_weight=w)
            loss = skm.log_loss(y_val[:, j], p[:, j], sample_weight=w, labels=[0, 1])
            assert abs(row[f"val_w_brier/{n}"] - brier) <= 1e-6 * brier, (n, row[f"val_w_brier/{n}"], brier)
            assert abs(row[f"val_w_log_loss/{n}"] - loss) <= 1e-6 * loss, (n, row[f"val_w_log_loss/{n}"], loss)
            prob_true, prob_pred = calibration_curve(y_val[:, j], p[:, j], n_bins=8)
            counts = np.bincount(np.searchsorted(edges[1:-1], p[:, j]), minlength=8)
            ece = float((counts[counts > 0] / len(p) * np.abs(prob_true - prob_pred)).sum())
            assert abs(row_plain[f"val_ece/{n}"] - ece) < 1e-12, (n, row_plain[f"val_ece/{n}"], ece)
            mce = float(np.abs(prob_true - prob_pred).max())
            assert abs(row_plain[f"val_mce/{n}"] - mce) < 1e-12, (n, row_plain[f"val_mce/{n}"], mce)
            assert history.history[f"val_ece/{n}"][epoch] == row_plain[f"val_ece/{n}"]
            briers.append(skm.brier_score_loss(y_val[:, j], p[:, j]))
            eces.append(ece)
            checked += 1
        micro = skm.brier_score_loss(y_val.ravel(), p.ravel(), sample_weight=np.repeat(w, N_LABELS))
        assert abs(row["val_w_micro_brier"] - micro) <= 1e-6 * micro
        assert abs(row_plain["val_macro_brier"] - np.mean(briers)) <= 1e-6 * np.mean(briers)
        assert abs(row_plain["val_macro_ece"] - np.mean(eces)) < 1e-12
        assert "val_w_samples_log_loss" in row and "val_w_samples_ece" not in row
    assert checked == 2 * N_LABELS
    assert isinstance(weighted.calibration_tally, tally.CalibrationTally)
    for bad in ({"calibration": ["brier", "auc"]}, {"calibration": True, "from_logits": True}, {"n_bins": 0}):
        try:
            tk.PerLabelReport((x_val, y_val), **bad)
        except ValueError as exc:
            assert "Invalid `" in str(exc), exc
        else:
            raise AssertionError(f"no error for {bad}")
    print("calibration checked")


def main(argv):
    """`keras_cases.py CASE [ARGS...] [+ CASE [ARGS...]]...`: runs each case, printing
    "== CASE ARGS: ok" or "== CASE ARGS: FAILED" with the traceback, and "ok" last
    when every case passed. One interpreter for many cases saves importing and
    warming Keras for each."""
    import time
    import traceback

    cases, current = [], []
    for a in argv + ["+"]:
        if a == "+":
            if current:
                cases.append(current)
            current = []
        else:
            current.append(a)
    failed = 0
    for name, *args in cases:
        label = " ".join([name, *args])
        t0 = time.perf_counter()
        try:
            globals()[f"case_{name}"](*args)
        except BaseException:  # noqa: BLE001 - report it and go on to the next case
            failed += 1
            print(f"== {label}: FAILED\n{traceback.format_exc()}== end {label}", flush=True)
            continue
        print(f"== {label}: ok ({time.perf_counter() - t0:.1f} s)", flush=True)
        keras.backend.clear_session()
    if not failed:
        print("ok")


from keras_missing_cases import case_missing  # noqa: E402,F401  (found by name in main)

if __name__ == "__main__":
    main(sys.argv[1:])

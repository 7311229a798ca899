"""tally.net: the Swift trainer from Python, checked against Keras and scikit-learn.

Keras runs in this process on the JAX backend unless KERAS_BACKEND says otherwise
(every comparison here holds on either backend); Keras tests skip without Keras.
"""

import csv
import os
import signal
import threading

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import f1_score, precision_recall_fscore_support, recall_score

import tally
import tally.net as tn

from conftest import OtherThreadSteps


# -- data ------------------------------------------------------------------------------

def digit_mosaics(n_train, n_test, seed=0, grid=3, blank=0.4):
    """Multi-label images from scikit-learn's digits: grid x grid cells, each a digit
    (8x8) or blank; the labels are the digits present. The source digits are split
    before composing, so no digit image is in both sets."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    cut = len(images) * 2 // 3

    def compose(pool, n):
        x = np.zeros((n, 8 * grid, 8 * grid, 1), np.float32)
        y = np.zeros((n, 10), np.uint8)
        for i in range(n):
            for r in range(grid):
                for c in range(grid):
                    if rng.random() < blank:
                        continue
                    k = pool[rng.integers(len(pool))]
                    x[i, 8 * r:8 * r + 8, 8 * c:8 * c + 8, 0] = images[k]
                    y[i, digits.target[k]] = 1
        return x, y

    return compose(order[:cut], n_train) + compose(order[cut:], n_test)


def small_data(n=64, seed=0, shape=(16, 16, 3), labels=5):
    rng = np.random.default_rng(seed)
    x = rng.random((n,) + shape, dtype=np.float32)
    y = (rng.random((n, labels)) < 0.4).astype(np.uint8)
    return x, y


def small_model(seed=1, **compile_args):
    m = tn.Sequential([
        tn.Conv2D(8, (3, 3), padding="same", activation="relu", kernel_constraint=tn.MaxNorm(3)),
        tn.Dropout(0.2),
        tn.MaxPooling2D((2, 2)),
        tn.Flatten(),
        tn.Dense(16, activation="relu"),
        tn.Dense(5, activation="sigmoid"),
    ], input_shape=(16, 16, 3), seed=seed)
    m.compile(**({"optimizer": tn.SGD(0.05, momentum=0.9), "loss": "binary_crossentropy"} | compile_args))
    return m


# -- Keras -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def keras():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(3)
    return keras


def keras_model(keras, dropout=True, max_value=0.25, input_shape=(16, 16, 3)):
    """The seed's layer kinds, small; max_value 0.25 makes the constraints bind."""
    L, C = keras.layers, keras.constraints
    layers = [keras.Input(input_shape),
              L.Conv2D(8, (3, 3), padding="same", activation="relu", kernel_constraint=C.MaxNorm(max_value))]
    if dropout:
        layers.append(L.Dropout(0.2))
    layers += [L.Conv2D(6, (3, 3), strides=(2, 2), padding="valid", activation="relu",
                        kernel_constraint=C.MaxNorm(max_value)),
               L.MaxPooling2D((2, 2)), L.Flatten(),
               L.Dense(32, activation="relu", kernel_constraint=C.MaxNorm(max_value))]
    if dropout:
        layers.append(L.Dropout(0.5))
    layers += [L.Dense(5), L.Activation("sigmoid")]
    return keras.Sequential(layers)


def test_keras_import_predicts_as_keras(keras):
    km = keras_model(keras)
    x, _ = small_data(40)
    net = tn.from_keras(km)
    assert [w.shape for w in net.get_weights()] == [w.shape for w in km.get_weights()]
    for a, b in zip(net.get_weights(), km.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(net.predict(x), km.predict(x, verbose=0), rtol=0, atol=1e-5)

    # And back: TallyNet's own (different) initial weights into the Keras model.
    other = tn.Sequential([layer for layer in net.layers], input_shape=(16, 16, 3), seed=99)
    km.set_weights(other.get_weights())
    np.testing.assert_allclose(other.predict(x), km.predict(x, verbose=0), rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", ["sgd_momentum_decay", "sgd_nesterov", "sgd", "adam"])
def test_training_steps_match_keras(keras, kind):
    """Three optimizer steps from the same weights give Keras's weights (1e-5), with the
    MaxNorm(axis=0) constraints binding (Keras 2's `decay` is InverseTimeDecay(lr, 1, decay))."""
    optimizer = {
        "sgd_momentum_decay": lambda: keras.optimizers.SGD(
            keras.optimizers.schedules.InverseTimeDecay(0.1, 1, 0.05), momentum=0.9),
        "sgd_nesterov": lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        "sgd": lambda: keras.optimizers.SGD(0.1),
        "adam": lambda: keras.optimizers.Adam(0.01),
    }[kind]()
    km = keras_model(keras, dropout=False)
    km.compile(optimizer=optimizer, loss="binary_crossentropy")
    net = tn.from_keras(km)
    if kind == "sgd_momentum_decay":
        assert net.optimizer.decay == pytest.approx(0.05) and net.optimizer.momentum == pytest.approx(0.9)
    x, y = small_data(30, seed=4)
    for i in range(3):
        km.train_on_batch(x[10 * i:10 * i + 10], y[10 * i:10 * i + 10].astype(np.float32))
    net.fit(x, y, batch_size=10, epochs=1, shuffle=False, verbose=0)
    assert net.iterations == 3
    for theirs, ours, name in zip(km.get_weights(), net.get_weights(), net.weight_names):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5, err_msg=name)
    # The constraints did bind: in every kernel some Keras norm sits at the max norm.
    for kernel in km.get_weights()[0:6:2]:
        assert np.isclose(np.sqrt((kernel ** 2).sum(axis=0)), 0.25, atol=1e-5).any()


def test_max_norm_axes_matter(keras):
    """Guards the test above: TallyNet's per-filter norms (axis=None) differ from Keras's axis=0."""
    km = keras_model(keras, dropout=False)
    km.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    net = tn.from_keras(km)
    per_filter = tn.Sequential(
        [tn.Conv2D(l.filters, l.kernel_size, l.strides, l.padding, l.activation,
                   kernel_constraint=tn.MaxNorm(0.25, axis=None)) if isinstance(l, tn.Conv2D) else l
         for l in net.layers], input_shape=(16, 16, 3))
    per_filter.set_weights(net.get_weights())
    per_filter.compile(tn.SGD(0.1), "binary_crossentropy")
    x, y = small_data(10, seed=4)
    km.train_on_batch(x, y.astype(np.float32))
    per_filter.fit(x, y, batch_size=10, verbose=0, shuffle=False)
    assert np.abs(per_filter.get_weights()[0] - km.get_weights()[0]).max() > 1e-3


def test_keras_unsupported_layers_are_named(keras):
    L = keras.layers
    bn = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(2, 3), L.BatchNormalization(name="bn"),
                           L.Flatten(), L.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match=r"'bn' \(BatchNormalization\) is not supported"):
        tn.from_keras(bn)
    tanh = keras.Sequential([keras.Input((4,)), L.Dense(2, activation="tanh", name="d")])
    with pytest.raises(ValueError, match=r"'d' \(Dense\): activation 'tanh' is not supported"):
        tn.from_keras(tanh)
    reg = keras.Sequential([keras.Input((4,)), L.Dense(2, kernel_regularizer="l2")])
    with pytest.raises(ValueError, match="kernel_regularizer"):
        tn.from_keras(reg)
    with pytest.raises(TypeError, match="Expected a Keras Sequential model"):
        tn.from_keras(object())
    rms = keras.Sequential([keras.Input((4,)), L.Dense(2, activation="sigmoid")])
    rms.compile(optimizer="rmsprop", loss="binary_crossentropy")
    with pytest.raises(ValueError, match="'RMSprop' is not supported"):
        tn.from_keras(rms)
    assert tn.from_keras(rms, compile=False).optimizer is None


def test_keras_callbacks_work(keras, tmp_path):
    """Keras's own EarlyStopping and CSVLogger read tally.net's logs and stop it."""
    m = small_model(optimizer=tn.SGD(0.0), metrics=["f1"])  # lr 0: nothing improves
    x, y = small_data()
    path = tmp_path / "log.csv"
    stop = keras.callbacks.EarlyStopping(monitor="val_f1", mode="max", patience=1)
    h = m.fit(x, y, epochs=10, batch_size=16, validation_data=(x, y), verbose=0,
              callbacks=[stop, keras.callbacks.CSVLogger(str(path))])
    assert len(h.epoch) == 2 and stop.stopped_epoch == 1
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and "val_f1/4" in rows[0]
    assert float(rows[1]["val_f1/4"]) == pytest.approx(h.history["val_f1/4"][1])


# -- training and metrics --------------------------------------------------------------

def test_learns_digit_mosaics():
    """A small CNN reaches validation macro-F1 >= 0.80 on 24x24 digit mosaics in 10 epochs
    (0.87 measured), and the logged per-label values are scikit-learn's on the predictions."""
    xt, yt, xv, yv = digit_mosaics(3000, 600)
    m = tn.Sequential([
        tn.Conv2D(16, (3, 3), padding="same", activation="relu"), tn.MaxPooling2D(),
        tn.Conv2D(32, (3, 3), padding="same", activation="relu"), tn.MaxPooling2D(), tn.Flatten(),
        tn.Dense(64, activation="relu"), tn.Dense(10, activation="sigmoid"),
    ], input_shape=(24, 24, 1), seed=1)
    m.compile(tn.Adam(0.003), "binary_crossentropy", metrics=["f1", "precision_micro", "recall_samples"])
    h = m.fit(xt, yt, epochs=10, batch_size=32, validation_data=(xv, yv), verbose=0)
    assert h.history["val_f1"][-1] >= 0.80, h.history["val_f1"]
    assert h.history["loss"][-1] < h.history["loss"][0]
    predicted = m.predict(xv) >= 0.5
    per_label = f1_score(yv, predicted, average=None, zero_division=0)
    assert [h.history[f"val_f1/{k}"][-1] for k in range(10)] == pytest.approx(per_label, abs=1e-12)
    assert h.history["val_f1"][-1] == pytest.approx(per_label.mean(), abs=1e-12)
    p, r, _, _ = precision_recall_fscore_support(yv, predicted, average="micro", zero_division=0)
    assert h.history["val_precision_micro"][-1] == pytest.approx(p, abs=1e-12)
    _, r, _, _ = precision_recall_fscore_support(yv, predicted, average="samples", zero_division=0)
    assert h.history["val_recall_samples"][-1] == pytest.approx(r, abs=1e-12)
    assert m.evaluate(xv, yv, return_dict=True)["f1/3"] == pytest.approx(per_label[3], abs=1e-12)
    assert isinstance(h.val_tallies[-1], tally.Tally)
    np.testing.assert_allclose(m.tally(xv, yv).f1(average=None, zero_division=0), per_label)


def test_same_seed_same_run():
    x, y = small_data()
    runs = []
    for _ in range(2):
        m = small_model()
        m.threads = 2
        h = m.fit(x, y, epochs=2, batch_size=16, verbose=0)
        runs.append((h.history["loss"], m.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_label_names_and_callable_metrics():
    x, y = small_data()
    m = small_model(metrics=["recall", lambda t: 0.25], label_names=list("abcde"))
    h = m.fit(x, y, epochs=1, verbose=0)
    assert "recall/c" in h.history and "<lambda>" in h.history and h.history["<lambda>"] == [0.25]
    # The reference: binary cross-entropy (Keras's, clipped at 1e-7) in numpy and
    # scikit-learn's macro recall, on the predictions for the same weights and data.
    p = m.predict(x).astype(np.float64)
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    loss = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)).mean()
    recall = recall_score(y, p >= 0.5, average=None, zero_division=0)
    assert m.evaluate(x, y) == [pytest.approx(loss, abs=1e-6), pytest.approx(recall.mean(), abs=1e-12), 0.25]
    logs = m.evaluate(x, y, return_dict=True)
    assert [logs[f"recall/{name}"] for name in "abcde"] == pytest.approx(recall, abs=1e-12)
    assert 0 < recall.mean() < 1 and len(set(recall)) > 1  # a value that tells labels apart


def test_progress_bar(capsys):
    x, y = small_data()
    m = small_model(metrics=["f1"])
    m.fit(x, y, epochs=2, batch_size=16, validation_data=(x, y), verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "4/4 [" in out
    assert " - loss: " in out and " - val_f1: " in out and "f1/0" not in out


# -- callbacks -----------------------------------------------------------------------

class Recorder(tn.Callback):
    def __init__(self, stop_at_batch=None):
        super().__init__()
        self.events, self.stop_at_batch = [], stop_at_batch

    def on_train_begin(self, logs=None): self.events.append(("train_begin",))
    def on_train_end(self, logs=None): self.events.append(("train_end",))
    def on_epoch_begin(self, epoch, logs=None): self.events.append(("epoch_begin", epoch))
    def on_batch_begin(self, batch, logs=None): self.events.append(("batch_begin", batch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, sorted(k for k in logs if "/" not in k)))

    def on_batch_end(self, batch, logs=None):
        self.events.append(("batch_end", batch, round(logs["loss"], 6)))
        if batch == self.stop_at_batch:
            self.model.stop_training = True


def test_callback_order_and_logs():
    x, y = small_data(40)
    m = small_model(metrics=["f1"])
    r = Recorder()
    h = m.fit(x, y, epochs=2, batch_size=16, validation_data=(x, y), callbacks=[r], verbose=0)
    kinds = [e[0] for e in r.events]
    per_epoch = ["epoch_begin"] + ["batch_begin", "batch_end"] * 3 + ["epoch_end"]
    assert kinds == ["train_begin"] + per_epoch * 2 + ["train_end"]
    assert r.events[-2][2] == ["f1", "loss", "val_f1", "val_loss"]
    # The last batch's running loss is the epoch's logged loss.
    assert r.events[-3][2] == pytest.approx(h.history["loss"][-1], abs=1e-6)
    assert r.model is m and r.params == {"verbose": 0, "epochs": 2, "steps": 3}


def test_stop_training_from_a_batch():
    x, y = small_data(64)
    m = small_model()
    r = Recorder(stop_at_batch=1)
    h = m.fit(x, y, epochs=5, batch_size=16, validation_data=(x, y), callbacks=[r], verbose=0)
    # As Keras: stops after the batch, the epoch is still validated and logged.
    assert m.iterations == 2 and len(h.epoch) == 1 and "val_loss" in h.history


def test_early_stopping_restores_best():
    x, y = small_data()
    m = small_model(optimizer=tn.SGD(0.5, momentum=0.9))
    stop = tn.EarlyStopping("val_loss", patience=2, restore_best_weights=True)
    best = []

    class Keep(tn.Callback):
        def on_epoch_end(self, epoch, logs=None):
            best.append((logs["val_loss"], self.model.get_weights()))

    h = m.fit(x, y, epochs=30, batch_size=8, validation_data=(x[:16], y[:16]), callbacks=[stop, Keep()], verbose=0)
    i = int(np.argmin(h.history["val_loss"]))
    assert stop.best_epoch == i
    if len(h.epoch) < 30:
        assert len(h.epoch) == i + 3
    for a, b in zip(m.get_weights(), best[i][1]):
        np.testing.assert_array_equal(a, b)


def test_callback_exception_propagates_and_model_stays_usable():
    x, y = small_data(64)
    m = small_model()

    class Boom(tn.Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 1:
                raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError, match="boom"):
        m.fit(x, y, epochs=3, batch_size=16, callbacks=[Boom()], verbose=0)
    assert m.iterations == 2 and np.isfinite(m.predict(x)).all()


def test_reentrant_call_from_batch_callback_raises():
    x, y = small_data(32)
    m = small_model()

    class Peek(tn.Callback):
        def on_batch_end(self, batch, logs=None):
            self.model.predict(x[:2])

    with pytest.raises(RuntimeError, match="from a batch callback while it trains"):
        m.fit(x, y, epochs=1, batch_size=16, callbacks=[Peek()], verbose=0)

    class EpochPeek(tn.Callback):  # epoch ends are outside the Swift call: allowed
        def on_epoch_end(self, epoch, logs=None):
            self.seen = self.model.predict(x[:2])

    c = EpochPeek()
    m.fit(x, y, epochs=1, batch_size=16, callbacks=[c], verbose=0)
    assert c.seen.shape == (2, 5)


def test_other_threads_wait_their_turn():
    """Another thread's predict during fit waits for the model's lock (no error, no deadlock)."""
    x, y = small_data(128)
    m = small_model()
    results, errors = [], []

    def predict_loop():
        try:
            for _ in range(20):
                results.append(m.predict(x[:4]))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=predict_loop)
    t.start()
    m.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[Recorder()])
    t.join()
    assert not errors and len(results) == 20 and all(np.isfinite(r).all() for r in results)


def test_duck_typed_callback():
    class Plain:  # no base class, Keras 2 hook names only
        def __init__(self):
            self.batches = 0

        def on_train_begin(self, logs=None): pass
        def on_epoch_end(self, epoch, logs=None): pass
        def on_batch_end(self, batch, logs=None): self.batches += 1

    c = Plain()
    small_model().fit(*small_data(32), epochs=2, batch_size=16, callbacks=[c], verbose=0)
    assert c.batches == 4


def _big_fit_interrupted(callbacks):
    x, y = small_data(256, shape=(24, 24, 3))
    m = tn.Sequential([tn.Conv2D(16, (3, 3), padding="same", activation="relu"), tn.Flatten(),
                       tn.Dense(5, activation="sigmoid")], input_shape=(24, 24, 3))
    m.compile(tn.SGD(0.001), "binary_crossentropy")
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            m.fit(x, y, epochs=100_000, batch_size=8, callbacks=callbacks, verbose=0)
    finally:
        timer.cancel()
    return m, x


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals go to the main thread")
@pytest.mark.parametrize("with_callback", [False, True])
def test_ctrl_c_stops_between_batches(with_callback):
    m, x = _big_fit_interrupted([Recorder()] if with_callback else [])
    done = m.iterations
    # Finished epochs are in the history; an interrupt that lands after an epoch's last
    # batch but before its end-of-epoch step leaves that epoch out.
    assert done > 0 and len(m.history.epoch) in (done // 32, (done - 1) // 32)
    assert np.isfinite(m.predict(x[:4])).all()
    m.fit(x[:16], np.zeros((16, 5), np.uint8), epochs=1, batch_size=8, verbose=0)  # still trainable
    assert m.iterations == done + 2


def test_gil_is_released_while_training():
    """Between a batch's begin and end callbacks only Swift runs (one call, fit_epoch):
    another Python thread steps there only if that call released the GIL."""
    x, y = small_data(96, shape=(24, 24, 3))
    m = tn.Sequential([tn.Conv2D(32, (3, 3), padding="same", activation="relu"), tn.Flatten(),
                       tn.Dense(5, activation="sigmoid")], input_shape=(24, 24, 3))
    m.compile(tn.SGD(0.001), "binary_crossentropy")

    class Windows(tn.Callback):
        def __init__(self, steps):
            super().__init__()
            self.steps, self.begun, self.inside = steps, None, []

        def on_batch_begin(self, batch, logs=None):
            self.begun = self.steps.count

        def on_batch_end(self, batch, logs=None):
            self.inside.append(self.steps.count - self.begun)

    with OtherThreadSteps() as steps:
        windows = Windows(steps)
        m.fit(x, y, epochs=2, batch_size=16, callbacks=[windows], verbose=0)
    assert len(windows.inside) == 12
    assert sum(windows.inside) > 0, windows.inside


# -- bad input -------------------------------------------------------------------------

def test_bad_input_is_a_clear_error():
    x, y = small_data(16)
    m = small_model()
    with pytest.raises(ValueError, match=r"Expected `x` to have shape \(n, 16, 16, 3\), but got \(16, 16, 16\)"):
        m.fit(x[..., 0], y, verbose=0)
    with pytest.raises(ValueError, match=r"Expected `x` to have shape \(n, 16, 16, 3\), but got \(16, 16, 16, 4\)"):
        m.predict(np.zeros((16, 16, 16, 4), np.float32))
    with pytest.raises(ValueError, match=r"Expected `y` to hold 0/1 labels or soft targets in \[0, 1\], but got 2\.0 at \(0, 1\)"):
        bad = y.copy()
        bad[0, 1] = 2
        m.fit(x, bad, verbose=0)
    with pytest.raises(ValueError, match=r"Expected `y` to have shape \(16, 5\), but got \(16, 4\)"):
        m.fit(x, y[:, :4], verbose=0)
    with pytest.raises(ValueError, match="to have the same number of samples, but got 16 and 15"):
        m.fit(x, y[:15], verbose=0)
    nan = x.copy()
    nan[3, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="Expected `x` to hold finite numbers, but got nan in sample 3"):
        m.fit(nan, y, verbose=0)
    with pytest.raises(ValueError, match="Expected `validation x` to hold finite numbers"):
        m.fit(x, y, validation_data=(nan, y), verbose=0)
    assert m.iterations == 0  # nothing above trained
    with pytest.raises(TypeError, match="Expected `x` to hold numbers"):
        m.predict(np.array(["a"] * 16))
    with pytest.raises(ValueError, match="Expected a metric among"):
        m.fit(x, y, metrics=["accuracy"], verbose=0)

    def precision(y_true, y_pred):  # the seed question's batch metric
        return 0.0

    with pytest.raises(TypeError, match="takes \\(y_true, y_pred\\) like a Keras batch metric"):
        m.fit(x, y, metrics=[precision], verbose=0)
    with pytest.raises(ValueError, match=r"Expected weights\[0\] \(conv2d/kernel\) to have shape \(3, 3, 3, 8\)"):
        m.set_weights([w.T for w in m.get_weights()])
    with pytest.raises(ValueError, match=r"Expected 6 weight arrays"):
        m.set_weights(m.get_weights()[:-1])
    w = m.get_weights()
    w[2][0, 0] = np.inf
    before = m.get_weights()
    with pytest.raises(ValueError, match=r"Expected weights\[2\] \(dense/kernel\) to hold finite numbers"):
        m.set_weights(w)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="Expected `validation_data` to be a tuple"):
        m.fit(x, y, validation_data=(x, y, np.ones(16), None), verbose=0)


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="Invalid `activation` argument value"):
        tn.Dense(3, activation="tanh")
    with pytest.raises(ValueError, match="Invalid `padding` argument value"):
        tn.Conv2D(3, 3, padding="full")
    with pytest.raises(ValueError, match="Invalid `rate` argument value"):
        tn.Dropout(1.0)
    with pytest.raises(ValueError, match="Expected an input shape"):
        tn.Sequential([tn.Flatten(), tn.Dense(2)]).build()
    with pytest.raises(TypeError, match="Expected a tally.net layer"):
        tn.Sequential([object()])
    with pytest.raises(ValueError, match="Expected the input of Dense .* to be flat"):
        tn.Sequential([tn.Dense(2)], input_shape=(4, 4, 1)).build()
    with pytest.raises(ValueError, match=r"window of Conv2D .* to fit its input"):
        tn.Sequential([tn.Conv2D(2, 5)], input_shape=(4, 4, 1)).build()
    with pytest.raises(RuntimeError, match="Expected a compiled model"):
        tn.Sequential([tn.Flatten(), tn.Dense(2, activation="sigmoid")], input_shape=(4,)).fit(
            np.zeros((2, 4)), np.zeros((2, 2)))
    m = tn.Sequential([tn.Flatten(), tn.Dense(2)], input_shape=(4,))
    with pytest.raises(ValueError, match="Expected the last layer's activation to be 'sigmoid'"):
        m.compile("sgd", "binary_crossentropy")
    with pytest.raises(ValueError, match="Expected `loss` to be one of"):
        m.compile("sgd", "mse")
    with pytest.raises(ValueError, match="Expected `optimizer` to be"):
        m.compile("rmsprop", "binary_crossentropy")
    with pytest.raises(ValueError, match="Invalid `momentum` argument value"):
        tn.SGD(0.1, momentum=-1)
    with pytest.raises(ValueError, match="MaxNorm axes to be distinct axes of a rank-2 kernel"):
        tn.Sequential([tn.Dense(2, kernel_constraint=tn.MaxNorm(2, axis=3))], input_shape=(4,)).build()
    assert tn.SGD(lr=0.2).learning_rate == 0.2  # Keras 2's spelling, as in the seed's script


def test_seed_question_script_runs():
    """The seed question's model code, with tally.net for keras (images 16x16, 5 labels)."""
    from tally.net import SGD, Activation, Conv2D, Dense, Dropout, Flatten, MaxPooling2D, Sequential, maxnorm

    x, y = small_data(48)
    model = Sequential()
    model.add(Conv2D(32, (3, 3), input_shape=(16, 16, 3), padding='same', activation='relu',
                     kernel_constraint=maxnorm(3)))
    model.add(Dropout(0.2))
    model.add(Conv2D(32, (3, 3), activation='relu', padding='same', kernel_constraint=maxnorm(3)))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(512, activation='relu', kernel_constraint=maxnorm(3)))
    model.add(Dropout(0.5))
    model.add(Dense(5))
    model.add(Activation('sigmoid'))
    epochs, lrate = 2, 0.001
    sgd = SGD(lr=lrate, momentum=0.9, decay=lrate / epochs, nesterov=False)
    model.compile(loss='binary_crossentropy', optimizer=sgd, metrics=['precision', 'recall'])
    h = model.fit(x[:32], y[:32], epochs=epochs, batch_size=32, validation_data=(x[32:], y[32:]), verbose=0)
    assert len(h.history["val_precision"]) == 2 and "val_recall/4" in h.history
    assert model.learning_rate == pytest.approx(lrate / (1 + lrate / epochs * 2))


# -- sample and class weights ----------------------------------------------------------

def weights_for(n, seed=0):
    """Per-sample weights with zeros, fractions and values above 1."""
    w = np.random.default_rng(seed).choice([0.0, 0.25, 1.0, 1.5, 4.0], size=n)
    w[:2] = (0.0, 4.0)
    return w


@pytest.mark.parametrize("weighting", ["sample_weight", "class_weight"])
def test_weighted_training_matches_keras(keras, weighting):
    """Three SGD+momentum steps with sample weights (or class weights on multi-label targets,
    Keras's argmax rule, a label-free row included) give Keras's weights (1e-5); the logged
    loss and the weighted validation loss of a 3-tuple validation_data are Keras's."""
    km = keras_model(keras, dropout=False)
    km.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="binary_crossentropy")
    net = tn.from_keras(km)
    x, y = small_data(30, seed=4)
    y[3] = 0
    xv, yv = small_data(12, seed=5)
    wv = weights_for(12, seed=2)
    weighting_args = ({"sample_weight": weights_for(30)} if weighting == "sample_weight"
                      else {"class_weight": {0: 0.5, 1: 3.0, 3: 0.0, 4: 2.0}})
    theirs = km.fit(x, y.astype(np.float32), batch_size=10, epochs=1, shuffle=False, verbose=0,
                    validation_data=(xv, yv.astype(np.float32), wv), **weighting_args)
    ours = net.fit(x, y, batch_size=10, epochs=1, shuffle=False, verbose=0,
                   validation_data=(xv, yv, wv), **weighting_args)
    assert net.iterations == 3
    for a, b, name in zip(km.get_weights(), net.get_weights(), net.weight_names):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5, err_msg=name)
    assert ours.history["loss"][0] == pytest.approx(theirs.history["loss"][0], abs=1e-5)
    assert ours.history["val_loss"][0] == pytest.approx(theirs.history["val_loss"][0], abs=1e-5)
    # Weighted and unweighted runs differ (guards the comparison).
    plain = tn.from_keras(km)
    assert plain.evaluate(xv, yv) != pytest.approx(plain.evaluate(xv, yv, sample_weight=wv), abs=1e-3)


def test_weighted_evaluate_loss_is_keras_for_the_same_predictions(keras):
    """Keras's weighted loss is sum(w * loss) / n (not / sum(w)); batches of 7 leave a partial one."""
    km = keras_model(keras, dropout=False)
    km.compile(optimizer="sgd", loss="binary_crossentropy")
    net = tn.from_keras(km)
    x, y = small_data(40, seed=6)
    w = weights_for(40, seed=3)
    theirs = km.evaluate(x, y.astype(np.float32), sample_weight=w, batch_size=7, verbose=0)
    ours = net.evaluate(x, y, sample_weight=w, batch_size=7)
    assert ours == pytest.approx(theirs, abs=1e-6)
    p = np.clip(net.predict(x).astype(np.float64), 1e-7, 1 - 1e-7)
    per_sample = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=1)
    assert ours == pytest.approx((w * per_sample).sum() / len(w), abs=1e-6)


def test_class_weight_is_keras_rule(keras):
    """The conversion is Keras's own function's, value for value, for each target shape."""
    from keras.src.trainers.data_adapters.data_adapter_utils import class_weight_to_sample_weights

    rng = np.random.default_rng(1)
    cw = {0: 0.5, 1: 2.0, 2: 0.0, 7: 9.0}
    multi_label = (rng.random((50, 4)) < 0.3).astype(np.uint8)
    one_hot = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 50)]
    binary = (rng.random((50, 1)) < 0.5).astype(np.float32)
    for y in (multi_label, one_hot, binary, binary[:, 0], np.zeros((3, 4))):
        ours = tn.class_weight_to_sample_weights(y, cw)
        theirs = class_weight_to_sample_weights(y, cw)
        assert ours.dtype == theirs.dtype == np.float32
        np.testing.assert_array_equal(ours, theirs)
    # Keras's own words when both are given.
    km = keras_model(keras, dropout=False)
    km.compile(optimizer="sgd", loss="binary_crossentropy")
    x, y = small_data(8)
    with pytest.raises(ValueError) as theirs:
        km.fit(x, y.astype(np.float32), class_weight={0: 1.0}, sample_weight=np.ones(8), verbose=0)
    with pytest.raises(ValueError) as ours:
        tn.from_keras(km).fit(x, y, class_weight={0: 1.0}, sample_weight=np.ones(8), verbose=0)
    assert str(ours.value) == str(theirs.value)


def dense_model(seed=1, **compile_args):
    """No dropout: the first step's training predictions are `predict`'s."""
    m = tn.Sequential([tn.Flatten(), tn.Dense(16, activation="relu"), tn.Dense(5, activation="sigmoid")],
                      input_shape=(16, 16, 3), seed=seed)
    m.compile(**({"optimizer": tn.SGD(0.05, momentum=0.9), "loss": "binary_crossentropy",
                  "metrics": ["f1", "precision_micro", "recall_samples", "f1_weighted"]} | compile_args))
    return m


def sklearn_logs(y, predicted, w):
    f1 = f1_score(y, predicted, average=None, zero_division=0, sample_weight=w)
    return {
        "f1": f1.mean(), **{f"f1/{k}": v for k, v in enumerate(f1)},
        "precision_micro": precision_recall_fscore_support(y, predicted, average="micro", zero_division=0,
                                                           sample_weight=w)[0],
        "recall_samples": precision_recall_fscore_support(y, predicted, average="samples", zero_division=0,
                                                          sample_weight=w)[1],
        "f1_weighted": f1_score(y, predicted, average="weighted", zero_division=0, sample_weight=w),
    }


def test_weighted_metrics_equal_sklearn():
    """Training counts (one batch: the predictions are the starting model's), validation counts
    and evaluate's are scikit-learn's with sample_weight on the recorded predictions."""
    x, y = small_data(48, seed=2)
    xv, yv = small_data(40, seed=3)
    w, wv = weights_for(48, seed=4), weights_for(40, seed=5)
    m = dense_model()
    before = m.predict(x) >= 0.5
    h = m.fit(x, y, batch_size=48, epochs=1, shuffle=False, sample_weight=w, validation_data=(xv, yv, wv), verbose=0)
    after = m.predict(xv) >= 0.5
    for key, value in sklearn_logs(y, before, w).items():
        assert h.history[key][0] == pytest.approx(value, abs=1e-12), key
    for key, value in sklearn_logs(yv, after, wv).items():
        assert h.history["val_" + key][0] == pytest.approx(value, abs=1e-12), key
    logs = m.evaluate(xv, yv, sample_weight=wv, return_dict=True)
    assert logs["loss"] == pytest.approx(h.history["val_loss"][0], abs=1e-12)
    for key, value in sklearn_logs(yv, after, wv).items():
        assert logs[key] == pytest.approx(value, abs=1e-12), key
    assert h.val_tallies[0].report() == tally.Tally(5).update(yv, after, sample_weight=wv).report()
    # validation_split splits the weights too (Keras takes the last samples).
    s = dense_model().fit(x, y, batch_size=48, epochs=1, shuffle=False, sample_weight=w, validation_split=0.25,
                          verbose=0)
    unweighted = dense_model().fit(x, y, batch_size=48, epochs=1, shuffle=False, validation_split=0.25, verbose=0)
    assert s.history["val_loss"] != pytest.approx(unweighted.history["val_loss"], abs=1e-4)


def test_bad_weights_raise_and_change_nothing():
    x, y = small_data(16)
    m = small_model()
    before = m.get_weights()
    cases = [
        (dict(sample_weight=np.ones(15)), ValueError, r"Expected `sample_weight` to have 16 values \(one per sample\), but got 15"),
        (dict(sample_weight=np.ones((16, 5, 1))), ValueError, r"Expected `sample_weight` to be 1-D \(one weight per sample\), but got shape \(16, 5, 1\)"),
        # (16, 5) is one weight per label (test_net_missing); another 2-D shape is refused.
        (dict(sample_weight=np.ones((16, 4))), ValueError, r"Expected a 2-D `sample_weight` to have shape \(16, 5\) like `y`, but got \(16, 4\)"),
        (dict(sample_weight=np.r_[np.ones(15), -1.0]), ValueError, r"finite numbers >= 0, but got -1\.0 at index 15"),
        (dict(sample_weight=np.r_[np.nan, np.ones(15)]), ValueError, r"finite numbers >= 0, but got nan at index 0"),
        (dict(sample_weight=np.r_[np.ones(3), np.inf, np.ones(12)]), ValueError, r"but got inf at index 3"),
        (dict(sample_weight=["a"] * 16), TypeError, "Expected `sample_weight` to hold numbers"),
        (dict(validation_data=(x, y, np.ones(3))), ValueError, r"Expected `validation sample_weight` to have 16 values"),
        (dict(class_weight={0: 1.0}, sample_weight=np.ones(16)), ValueError, "You cannot `class_weight` and `sample_weight`"),
        (dict(class_weight=[1.0, 2.0]), TypeError, "Expected `class_weight` to be a dict"),
        (dict(class_weight={0: -1.0}), ValueError, r"Expected `class_weight` values to be finite numbers >= 0, but got -1\.0 for class 0"),
        (dict(class_weight={1: float("nan")}), ValueError, "but got nan for class 1"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            m.fit(x, y, epochs=1, verbose=0, **kwargs)
    with pytest.raises(ValueError, match=r"Expected `sample_weight` to have 16 values"):
        m.evaluate(x, y, sample_weight=np.ones(17))
    assert m.iterations == 0 and m._fits == 0 and m.history is None
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- saving and loading ------------------------------------------------------------------

def resumable_model(optimizer, seed=1):
    """Dropout, and max-norm constraints that bind (pending factors on the Dense kernels)."""
    m = tn.Sequential([
        tn.Conv2D(8, (3, 3), padding="same", activation="relu", kernel_constraint=tn.MaxNorm(0.5)),
        tn.Dropout(0.2), tn.MaxPooling2D((2, 2)), tn.Flatten(),
        tn.Dense(16, activation="relu", kernel_constraint=tn.MaxNorm(0.3)),
        tn.Dropout(0.3),
        tn.Dense(5, activation="sigmoid", kernel_constraint=tn.MaxNorm(0.4)),
    ], input_shape=(16, 16, 3), seed=seed)
    m.compile(optimizer, "binary_crossentropy", metrics=["f1", "recall_micro"])
    m.threads = 2
    return m


OPTIMIZERS = {
    "sgd_momentum_decay": lambda: tn.SGD(0.3, momentum=0.9, decay=0.01),
    "nesterov": lambda: tn.SGD(0.3, momentum=0.9, nesterov=True),
    "sgd": lambda: tn.SGD(0.3),
    "adam": lambda: tn.Adam(0.02, decay=0.01),
}


@pytest.mark.parametrize("kind", list(OPTIMIZERS))
@pytest.mark.parametrize("seed", [None, 7])
def test_save_load_resumes_bit_for_bit(tmp_path, kind, seed):
    """fit 2 epochs == fit 1 epoch, save, load_model, fit(epochs=2, initial_epoch=1): the same
    weights, optimizer state and epoch-2 logs, bit for bit (dropout and binding max-norms on)."""
    x, y = small_data(40)
    xv, yv = small_data(16, seed=9)
    w = weights_for(40)
    args = dict(batch_size=8, validation_data=(xv, yv), sample_weight=w, seed=seed, verbose=0)
    whole = resumable_model(OPTIMIZERS[kind]())
    reference = whole.fit(x, y, epochs=2, **args)

    first = resumable_model(OPTIMIZERS[kind]())
    first.fit(x, y, epochs=1, **args)
    path = tmp_path / "model.tally"
    first.save(path)
    assert path.exists() and not (tmp_path / "model.tally.npz").exists()
    loaded = tn.load_model(path)
    loaded.threads = 2
    resumed = loaded.fit(x, y, epochs=2, initial_epoch=1, **args)
    continued = first.fit(x, y, epochs=2, initial_epoch=1, **args)  # the saved model itself, continued

    for model, h in ((loaded, resumed), (first, continued)):
        assert model.iterations == whole.iterations == 10
        for a, b in zip(whole.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(whole._optimizer_state()[2], model._optimizer_state()[2]):
            np.testing.assert_array_equal(a, b)
        assert h.epoch == [1]
        assert {k: v[1] for k, v in reference.history.items()} == {k: v[0] for k, v in h.history.items()}


def test_save_load_round_trip(tmp_path):
    m = tn.Sequential([tn.Input((16, 16, 3)), tn.Conv2D(4, 3, strides=2, activation="relu",
                                                         kernel_constraint=tn.MaxNorm(2, axis=(0, 1, 2))),
                       tn.MaxPooling2D(2, padding="same"), tn.Flatten(), tn.Dropout(0.1),
                       tn.Dense(7, use_bias=False, kernel_constraint=tn.MaxNorm(3, axis=None)),
                       tn.Activation("softmax")], seed=5, name="round")

    def f(t):
        return 0.5

    thresholds = np.linspace(0.2, 0.6, 7)
    m.compile(tn.Adam(0.01, beta_1=0.8, epsilon=1e-6), "categorical_crossentropy",
              metrics=["precision", f], threshold=thresholds, label_names=list("abcdefg"))
    x = np.random.default_rng(0).random((12, 16, 16, 3), dtype=np.float32)
    y = np.eye(7, dtype=np.uint8)[np.arange(12) % 7]
    m.fit(x, y, epochs=1, batch_size=5, verbose=0)
    m.save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"callable metric 'f' .* custom_objects"):
        tn.load_model(tmp_path / "m.npz")
    loaded = tn.load_model(tmp_path / "m.npz", custom_objects={"f": f})
    assert [repr(l) for l in loaded.layers] == [repr(l) for l in m.layers]
    assert loaded.name == "round" and loaded.seed == 5 and loaded.input_shape == m.input_shape
    assert repr(loaded.optimizer) == repr(m.optimizer) and loaded.loss == m.loss
    assert loaded.metrics_names == m.metrics_names and loaded.iterations == m.iterations == 3
    assert loaded.learning_rate == m.learning_rate
    np.testing.assert_array_equal(loaded._threshold, thresholds)
    np.testing.assert_array_equal(loaded.predict(x), m.predict(x))
    assert loaded.evaluate(x, y, return_dict=True) == m.evaluate(x, y, return_dict=True)
    assert "precision/g" in loaded.evaluate(x, y, return_dict=True)
    names, slots = m._optimizer_state()[1:], loaded._optimizer_state()[1:]
    assert names[0] == slots[0] == [f"{n}/{s}" for n in m.weight_names for s in ("momentum", "velocity")]
    for a, b in zip(names[1], slots[1]):
        np.testing.assert_array_equal(a, b)
    # compile=False, and a model saved before compile: uncompiled, same weights.
    bare = tn.load_model(tmp_path / "m.npz", compile=False)
    assert not bare._compiled and bare.optimizer is None
    np.testing.assert_array_equal(bare.predict(x), m.predict(x))
    fresh = tn.Sequential(list(m.layers), input_shape=(16, 16, 3), seed=2)
    fresh.save(tmp_path / "fresh.npz")
    again = tn.load_model(tmp_path / "fresh.npz")
    with pytest.raises(RuntimeError, match="Expected a compiled model"):
        again.fit(x, y, verbose=0)
    with pytest.raises(FileExistsError, match="exists"):
        fresh.save(tmp_path / "fresh.npz", overwrite=False)


def test_save_weights_and_load_weights(tmp_path):
    x, y = small_data(32)
    m = small_model()
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    m.save_weights(tmp_path / "w.npz")
    other = small_model(seed=9)
    other.fit(x, y, epochs=1, batch_size=16, verbose=0)
    state = other._optimizer_state()
    other.load_weights(tmp_path / "w.npz")
    for a, b in zip(m.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert other.iterations == 2  # the optimizer state is kept, as set_weights
    for a, b in zip(state[2], other._optimizer_state()[2]):
        np.testing.assert_array_equal(a, b)
    m.save(tmp_path / "full.npz")
    third = small_model(seed=3)
    third.load_weights(tmp_path / "full.npz")
    np.testing.assert_array_equal(third.predict(x), m.predict(x))
    smaller = tn.Sequential([tn.Flatten(), tn.Dense(5, activation="sigmoid")], input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match=r"Expected the weights \['dense/kernel', 'dense/bias'\] in .*, but it holds"):
        smaller.load_weights(tmp_path / "w.npz")
    with pytest.raises(ValueError, match="format tally.net.Sequential, version 1.*holds format 'tally.net.weights'"):
        tn.load_model(tmp_path / "w.npz")


def test_missing_and_corrupt_files_are_clear_errors(tmp_path):
    x, y = small_data(16)
    m = small_model()
    m.fit(x, y, epochs=1, verbose=0)
    good = tmp_path / "good.npz"
    m.save(good)
    with pytest.raises(FileNotFoundError, match=r"Expected a tally.net model file .* but '.*nope.npz' does not exist"):
        tn.load_model(tmp_path / "nope.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all" * 10)
    with pytest.raises(ValueError, match="is not a readable .npz file"):
        tn.load_model(junk)
    half = tmp_path / "half.npz"
    half.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="Expected a tally.net model file"):
        tn.load_model(half)
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="has no 'tally_config' entry"):
        tn.load_model(tmp_path / "plain.npz")
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(ValueError, match="has no 'tally_config' entry"):
        tn.load_model(tmp_path / "array.npy")

    def rewrite(name, change):
        with np.load(good) as data:
            members = {k: data[k] for k in data.files}
        change(members)
        np.savez(tmp_path / name, **members)
        return tmp_path / name

    missing = rewrite("missing.npz", lambda d: d.pop("weights/dense/kernel"))
    with pytest.raises(ValueError, match="to hold the array 'weights/dense/kernel', but it does not"):
        tn.load_model(missing)
    wrong = rewrite("wrong.npz", lambda d: d.update({"optimizer/dense/kernel/momentum": np.zeros((3, 16), np.float32)}))
    with pytest.raises(ValueError, match=r"Expected optimizer slot 2 \(dense/kernel/momentum, shape \(512, 16\)\) "
                                         r"to have 8192 values, but got 48"):
        tn.load_model(wrong)
    nan = rewrite("nan.npz", lambda d: d["weights/conv2d/bias"].__setitem__(0, np.nan))
    with pytest.raises(ValueError, match=r"conv2d/bias\) to hold finite numbers"):
        tn.load_model(nan)
    bad_json = rewrite("json.npz", lambda d: d.update({"tally_config": np.array("{not json")}))
    with pytest.raises(ValueError, match="configuration in .* is corrupt"):
        tn.load_model(bad_json)
    import json

    def no_layers(d):
        config = json.loads(str(d["tally_config"]))
        config["layers"][0]["class_name"] = "LSTM"
        d["tally_config"] = np.array(json.dumps(config))

    with pytest.raises(ValueError, match=r"architecture in .* is corrupt \(ValueError: unknown layer 'LSTM'\)"):
        tn.load_model(rewrite("lstm.npz", no_layers))


def test_reading_weights_between_epochs_changes_nothing():
    """Pending max-norm factors are applied at each epoch start: a callback that reads the
    weights (EarlyStopping(restore_best_weights=True) does) leaves the run as it was."""
    x, y = small_data(40)

    class Read(tn.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.get_weights()

    quiet, reader = resumable_model(tn.SGD(0.3, momentum=0.9)), resumable_model(tn.SGD(0.3, momentum=0.9))
    hq = quiet.fit(x, y, epochs=3, batch_size=8, verbose=0)
    hr = reader.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[Read()])
    assert hq.history == hr.history
    for a, b in zip(quiet.get_weights(), reader.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("winograd", [True, False])
def test_winograd_convolution_matches_keras(keras, winograd):
    """The seed's second convolution (3x3, same, channels in multiples of 8, fused 2x2 pooling)
    runs as Winograd F(4x4, 3x3) unless `allows_winograd` is False: either way the predictions
    and three SGD steps agree with Keras's direct convolution to 1e-5. 18x18 leaves partial tiles."""
    L, C = keras.layers, keras.constraints
    km = keras.Sequential([
        keras.Input((18, 18, 3)),
        L.Conv2D(8, (3, 3), padding="same", activation="relu", kernel_constraint=C.MaxNorm(3)),
        L.Conv2D(16, (3, 3), padding="same", activation="relu", kernel_constraint=C.MaxNorm(3)),
        L.MaxPooling2D((2, 2)), L.Flatten(),
        L.Dense(5, activation="sigmoid"),
    ])
    km.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="binary_crossentropy")
    net = tn.from_keras(km)
    assert net.allows_winograd is True
    net.allows_winograd = winograd
    assert net.allows_winograd is winograd
    rng = np.random.default_rng(8)
    x = rng.random((30, 18, 18, 3), dtype=np.float32)
    y = (rng.random((30, 5)) < 0.4).astype(np.float32)
    np.testing.assert_allclose(net.predict(x), km.predict(x, verbose=0), rtol=0, atol=1e-5)
    for i in range(3):
        km.train_on_batch(x[10 * i:10 * i + 10], y[10 * i:10 * i + 10])
    net.fit(x, y, batch_size=10, epochs=1, shuffle=False, verbose=0)
    for theirs, ours, name in zip(km.get_weights(), net.get_weights(), net.weight_names):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5, err_msg=name)
    with pytest.raises(TypeError, match="Expected `allows_winograd` to be a bool, but got str"):
        net.allows_winograd = "no"

"""A shared `tally.Tally` fed from a Keras `fit` callback and, at the same time,
from another Python thread running `predict` (JAX backend): it must finish
without deadlock and hold exactly the counts of every update, replayed in one thread.

Keras fixes its backend at import, so the scenario runs in a subprocess with
KERAS_BACKEND=jax and a timeout (a deadlock shows up as that timeout).
"""

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("keras")
if importlib.util.find_spec("jax") is None:
    pytest.skip("needs JAX", allow_module_level=True)

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)

SCRIPT = textwrap.dedent("""
    import threading
    import numpy as np
    import keras
    import tally

    assert keras.backend.backend() == "jax"
    rng = np.random.default_rng(3)
    x = rng.random((96, 4)).astype("float32")
    y = (rng.random((96, 3)) < 0.4).astype("float32")
    scores = rng.random((96, 3))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    shared = tally.Tally(3)
    log, log_lock = [], threading.Lock()   # every update's arrays, for the replay

    def feed(y_true, y_score):
        shared.update(y_true, y_score)
        with log_lock:
            log.append((y_true, y_score))

    class Feed(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            i = (batch * 8) % 96
            # (Calling the model here would read JAX variables fit holds unsynced.)
            feed(y[i:i + 8], scores[i:i + 8])
            # Overlap for sure: fit waits (once) until the predict thread has fed the tally.
            assert predicted_once.wait(timeout=120), "no predict finished during fit"


    errors, done, predicted_once = [], threading.Event(), threading.Event()

    def predictor():
        try:
            rounds = 0
            while not done.is_set() or rounds < 3:
                feed(y, twin.predict(x, batch_size=32, verbose=0))
                rounds += 1
                predicted_once.set()
        except Exception as exc:  # reported below
            errors.append(exc)

    # Keras builds the model, optimizer and compiled functions on first use, and that
    # lazy build is not itself thread-safe: warm predict and train once first.
    model.fit(x[:8], y[:8], batch_size=8, epochs=1, verbose=0)
    # Keras's JAX trainer takes the variables out of the model while fit runs, so a
    # concurrent predict uses its own copy of the model (a Keras limit, not Tally's).
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    twin.predict(x[:8], verbose=0)
    side = threading.Thread(target=predictor)
    side.start()
    try:
        model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[Feed()])
    finally:
        done.set()
        side.join(timeout=120)
    assert not side.is_alive(), "the predict thread did not finish"
    assert not errors, errors
    train_rows = 3 * 12 * 8
    predicted = sum(len(t) for t, _ in log) - train_rows
    assert predicted >= 3 * 96 and predicted % 96 == 0, predicted
    replay = tally.Tally(3)
    for t, s in log:
        replay.update(t, s)
    assert shared.n_samples == train_rows + predicted, (shared.n_samples, train_rows, predicted)
    assert shared.to_bytes() == replay.to_bytes()
    print("OK", shared.n_samples, len(log))
""")


def test_fit_callback_and_predict_thread_share_one_tally():
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", PYTHONPATH=PACKAGE)
    try:
        proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"deadlock: fit + predict thread still running after {exc.timeout}s\n{exc.stderr or ''}")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.startswith("OK"), proc.stdout

"""Cost of Tally's Keras metrics in a compiled train step, against Keras's own.

For each backend (a subprocess each, since Keras fixes its backend at import) and
two models — a small CNN (24x24x3 images, 10 labels) and a tiny dense model, where
the metric's fixed cost is most visible — trains with `model.fit` under:

  anchor   no metrics
  keras    keras.metrics.F1Score(average="macro", threshold=0.5) + keras.metrics.Precision()
  tally    tally.keras.F1Score(average="macro") + tally.keras.Precision(average="micro"),
           per_label=False (the same two scalars in the logs)
  tally+   the same with per_label=True (10 more scalars each in the logs)

and prints the median time per step and the ratios tally/keras and each/anchor,
all measured in the same run, interleaved. Epoch times exclude the first (compile).

    .venv/bin/python bench/bench_keras.py [--steps 60] [--repeats 5] [--backends jax tensorflow]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def child(steps, repeats, model_kind):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    import tally.keras as tk

    rng = np.random.default_rng(0)
    batch, labels = 32, 10
    n = batch * steps
    if model_kind == "cnn":
        x = rng.random((n, 24, 24, 3), dtype=np.float32)
    else:
        x = rng.random((n, 32), dtype=np.float32)
    y = (rng.random((n, labels)) < 0.3).astype("float32")

    def build():
        keras.utils.set_random_seed(0)
        if model_kind == "cnn":
            layers = [keras.Input((24, 24, 3)), keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
                      keras.layers.Conv2D(32, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(),
                      keras.layers.Flatten(), keras.layers.Dense(128, activation="relu")]
        else:
            layers = [keras.Input((32,)), keras.layers.Dense(32, activation="relu")]
        return keras.Sequential(layers + [keras.layers.Dense(labels, activation="sigmoid")])

    configs = {
        "anchor": lambda: [],
        "keras": lambda: [keras.metrics.F1Score(average="macro", threshold=0.5), keras.metrics.Precision()],
        "tally": lambda: [tk.F1Score(average="macro", per_label=False),
                          tk.Precision(average="micro", per_label=False)],
        "tally+": lambda: [tk.F1Score(average="macro"), tk.Precision(average="micro")],
    }

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.t0)

    models = {}
    for name, metrics in configs.items():
        m = build()
        m.compile(optimizer="sgd", loss="binary_crossentropy", metrics=metrics())
        m.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # compile and warm up
        models[name] = m
    per_step = {name: [] for name in configs}
    for _ in range(repeats):  # interleaved, so drift of the shared machine hits all alike
        for name, m in models.items():
            timer = EpochTimer()
            m.fit(x, y, batch_size=batch, epochs=1, verbose=0, callbacks=[timer])
            per_step[name].append(timer.times[0] / steps)
    print(json.dumps({name: statistics.median(v) for name, v in per_step.items()}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    ap.add_argument("--models", nargs="+", default=["cnn", "dense"])
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(int(args.child[0]), int(args.child[1]), args.child[2])
        return
    print(f"{'backend':<11}{'model':<7}{'anchor ms':>10}{'keras ms':>10}{'tally ms':>10}{'tally+ ms':>10}"
          f"{'tally/keras':>13}{'tally+/keras':>14}{'keras/anchor':>14}{'tally/anchor':>14}")
    for backend in args.backends:
        for model in args.models:
            env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
                       PYTHONPATH=os.path.join(ROOT, "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
            proc = subprocess.run([sys.executable, __file__, "--child", str(args.steps), str(args.repeats), model],
                                  env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{backend} {model}: failed\n{proc.stderr[-2000:]}")
                continue
            t = json.loads(proc.stdout.strip().splitlines()[-1])
            ms = {k: 1e3 * v for k, v in t.items()}
            print(f"{backend:<11}{model:<7}{ms['anchor']:>10.3f}{ms['keras']:>10.3f}{ms['tally']:>10.3f}"
                  f"{ms['tally+']:>10.3f}{t['tally'] / t['keras']:>13.2f}{t['tally+'] / t['keras']:>14.2f}"
                  f"{t['keras'] / t['anchor']:>14.2f}{t['tally'] / t['anchor']:>14.2f}")


if __name__ == "__main__":
    main()

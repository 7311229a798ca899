"""Cost of Tally's Keras metrics in a compiled train step, against Keras's own.

For each backend (a subprocess each, since Keras fixes its backend at import), two
models — a small CNN (24x24x3 images, 10 labels) and a tiny dense model, where a
metric's fixed cost is most visible — and, on TensorFlow, each of `jit_compile=False`
(Keras's "auto" on a CPU) and `True` (XLA; "auto" on a GPU), trains with `model.fit` under:

  anchor   no metrics
  keras    keras.metrics.F1Score(average="macro", threshold=0.5) + keras.metrics.Precision()
  host     tally.keras.F1Score(average="macro") + tally.keras.Precision(average="micro"),
           per_label=False (the same two scalars in the logs), counting="host": each
           metric's batch goes to the Swift core through a host callback
  device   the same with counting="device": the batch is counted in backend ops
  auto     the same with the default counting="auto" and per_label=True (10 more
           scalars each in the logs): what a user gets

and prints the median time per step and the ratios to `keras` and to `anchor`, all
measured in the same run, interleaved. Epoch times exclude the first (compile).
`host` cannot run under XLA (no host callback there) and is left out.

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


def child(steps, repeats, model_kind, jit):
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
        "host": lambda: [tk.F1Score(average="macro", per_label=False, counting="host"),
                         tk.Precision(average="micro", per_label=False, counting="host")],
        "device": lambda: [tk.F1Score(average="macro", per_label=False, counting="device"),
                           tk.Precision(average="micro", per_label=False, counting="device")],
        "auto": lambda: [tk.F1Score(average="macro"), tk.Precision(average="micro")],
    }
    if jit == "True":
        del configs["host"]

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
        m.compile(optimizer="sgd", loss="binary_crossentropy", metrics=metrics(),
                  jit_compile="auto" if jit == "auto" else jit == "True")
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
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(int(args.child[0]), int(args.child[1]), args.child[2], args.child[3])
        return
    names = ["anchor", "keras", "host", "device", "auto"]
    print(f"{'backend':<14}{'model':<7}" + "".join(f"{n + ' ms':>11}" for n in names)
          + "".join(f"{n + '/keras':>14}" for n in names[2:]) + f"{'keras/anchor':>14}{'auto/anchor':>13}")
    for backend in args.backends:
        for jit in (["auto"] if backend == "jax" else ["False", "True"]):
            label = backend if backend == "jax" else f"tf{' xla' if jit == 'True' else ''}"
            for model in args.models:
                env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
                           PYTHONPATH=os.path.join(ROOT, "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
                proc = subprocess.run([sys.executable, __file__, "--child", str(args.steps), str(args.repeats), model,
                                       jit], env=env, capture_output=True, text=True)
                if proc.returncode != 0:
                    print(f"{label} {model}: failed\n{proc.stderr[-2000:]}")
                    continue
                t = json.loads(proc.stdout.strip().splitlines()[-1])
                cell = lambda v, width, fmt: f"{format(v, fmt) if v is not None else '-':>{width}}"
                print(f"{label:<14}{model:<7}"
                      + "".join(cell(1e3 * t[n] if n in t else None, 11, ".3f") for n in names)
                      + "".join(cell(t[n] / t["keras"] if n in t else None, 14, ".2f") for n in names[2:])
                      + cell(t["keras"] / t["anchor"], 14, ".2f") + cell(t["auto"] / t["anchor"], 13, ".2f"), flush=True)


if __name__ == "__main__":
    main()

"""Trainer speed and memory: TallyNet (tally.net) vs Keras on TensorFlow and on JAX, in one run.

The seed's model (Conv2D 32 -> Dropout -> Conv2D 32 -> MaxPool -> Dense 512 -> Dropout ->
Dense 39 sigmoid, max-norm 3, SGD momentum 0.9 with decay, binary cross-entropy, batch 32)
on the same random data for every framework:

  (a) 204x204x3, 39 labels: a few batches are timed after warm-up batches (which include
      Keras's compilation) and the time per batch is EXTRAPOLATED to the seed's 1269-sample
      epoch (40 batches). Each framework still holds the whole 1269-sample float32 set in
      memory, so peak memory is that of a real epoch's process.
  (b) the same layers at 64x64x3: a whole 1269-sample epoch is timed (the second of two, so
      compilation is excluded).

Each framework runs in its own subprocess (peak memory = that process's ru_maxrss; only one
framework's libraries are loaded there). The script also measures the machine's SGEMM rate
(numpy's BLAS, 2048^3, all cores) in the same run and prints the compute floor: training
FLOPs per epoch at that rate. Ratios are to the faster Keras backend measured in this run.

    .venv/bin/python bench/bench_trainer.py [--sizes 204 64] [--timed-batches 3] [--only tallynet keras-tf keras-jax]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

N_SAMPLES, N_LABELS, BATCH = 1269, 39, 32
FRAMEWORKS = ("tallynet", "keras-tf", "keras-jax")


def make_data(size, n):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.random((n, size, size, 3), dtype=np.float32)
    y = (rng.random((n, N_LABELS)) < 0.15).astype(np.float32)
    return x, y


def training_flops(size):
    """Multiply-adds x 2 of one training sample: forward, input gradients (not for the
    first layer) and weight gradients of the convolutions and dense layers."""
    conv1 = 2 * size * size * 3 * 9 * 32
    conv2 = 2 * size * size * 32 * 9 * 32
    flat = (size // 2) * (size // 2) * 32
    dense1, dense2 = 2 * flat * 512, 2 * 512 * N_LABELS
    return 2 * conv1 + 3 * conv2 + 3 * dense1 + 3 * dense2


def sgemm_gflops():
    import numpy as np
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    a @ a
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    return 2 * 2048 ** 3 / best / 1e9


# -- workers (one framework per process) -------------------------------------------------

def worker(framework, size, warm, timed, full_epoch):
    import numpy as np
    x, y = make_data(size, N_SAMPLES)
    steps = -(-N_SAMPLES // BATCH)
    lr, epochs = 0.001, 5
    stamps = []

    def stamp(loss):
        float(loss)  # forces an asynchronous backend (JAX) to finish the step
        stamps.append(time.perf_counter())

    if framework == "tallynet":
        import tally.net as tn

        model = tn.seed_model(N_LABELS, (size, size, 3))
        model.compile(tn.SGD(lr, momentum=0.9, decay=lr / epochs), "binary_crossentropy")

        class Stamp(tn.Callback):
            def on_train_batch_end(self, batch, logs=None):
                stamp(logs["loss"])

        def run(n_batches):
            stamps.append(time.perf_counter())
            n = min(N_SAMPLES, n_batches * BATCH)
            model.fit(x[:n], y[:n], batch_size=BATCH, epochs=1, verbose=0, callbacks=[Stamp()])
        threads = model.threads
    else:
        os.environ["KERAS_BACKEND"] = "tensorflow" if framework == "keras-tf" else "jax"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        L, C = keras.layers, keras.constraints
        model = keras.Sequential([
            keras.Input((size, size, 3)),
            L.Conv2D(32, (3, 3), padding="same", activation="relu", kernel_constraint=C.MaxNorm(3)),
            L.Dropout(0.2),
            L.Conv2D(32, (3, 3), padding="same", activation="relu", kernel_constraint=C.MaxNorm(3)),
            L.MaxPooling2D((2, 2)),
            L.Flatten(),
            L.Dense(512, activation="relu", kernel_constraint=C.MaxNorm(3)),
            L.Dropout(0.5),
            L.Dense(N_LABELS),
            L.Activation("sigmoid"),
        ])
        # Keras 2's SGD(decay=d) is InverseTimeDecay(lr, 1, d) in Keras 3.
        schedule = keras.optimizers.schedules.InverseTimeDecay(lr, 1, lr / epochs)
        model.compile(optimizer=keras.optimizers.SGD(schedule, momentum=0.9), loss="binary_crossentropy")

        class Stamp(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                stamp(logs["loss"])

        def run(n_batches):
            stamps.append(time.perf_counter())
            model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=True, callbacks=[Stamp()],
                      steps_per_epoch=min(n_batches, steps))
        threads = os.cpu_count()

    t0 = time.perf_counter()
    if full_epoch:
        run(steps)               # warm-up epoch (compilation)
        warm_seconds = time.perf_counter() - t0
        stamps.clear()
        run(steps)
        epoch_seconds = stamps[-1] - stamps[0]
        per_batch = epoch_seconds / steps
        measured = f"a whole {N_SAMPLES}-sample epoch ({steps} batches), after a warm-up epoch"
    else:
        run(warm + timed)
        warm_seconds = stamps[warm] - stamps[0]
        timed_stamps = stamps[warm:warm + timed + 1]
        diffs = np.diff(timed_stamps)
        per_batch = float(np.median(diffs))
        # The last batch of an epoch is smaller: 1269 = 39 x 32 + 21.
        epoch_seconds = per_batch * (N_SAMPLES / BATCH)
        measured = f"median of {timed} batches after {warm} warm-up, extrapolated to {N_SAMPLES} samples"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    return {"framework": framework, "size": size, "epoch_seconds": epoch_seconds, "batch_seconds": per_batch,
            "warmup_seconds": warm_seconds, "peak_rss_mib": rss, "measured": measured, "threads": threads}


def run_worker(framework, size, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--size", str(size),
           "--warm-batches", str(args.warm_batches), "--timed-batches", str(args.timed_batches)]
    if size <= args.full_epoch_up_to:
        cmd.append("--full-epoch")
    done = subprocess.run(cmd, capture_output=True, text=True)
    lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return {"framework": framework, "size": size, "error": " | ".join(tail)}
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[204, 64])
    ap.add_argument("--only", nargs="+", choices=FRAMEWORKS, default=list(FRAMEWORKS))
    ap.add_argument("--warm-batches", type=int, default=1)
    ap.add_argument("--timed-batches", type=int, default=3)
    ap.add_argument("--full-epoch-up-to", type=int, default=64,
                    help="time a whole epoch for image sizes up to this (else extrapolate)")
    ap.add_argument("--worker", choices=FRAMEWORKS)
    ap.add_argument("--size", type=int)
    ap.add_argument("--full-epoch", action="store_true")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.size, args.warm_batches, args.timed_batches, args.full_epoch)))
        return

    gflops = sgemm_gflops()
    print(f"# trainer benchmark: seed's model, batch {BATCH}, {N_LABELS} labels, {N_SAMPLES}-sample epoch; "
          f"{os.cpu_count()} CPUs; SGEMM {gflops:.0f} GFLOP/s (numpy BLAS, this run); "
          f"load average {os.getloadavg()[0]:.1f} at start (other processes skew every figure)")
    for size in args.sizes:
        floor = training_flops(size) * N_SAMPLES / (gflops * 1e9)
        results = {f: run_worker(f, size, args) for f in args.only}
        ok = {f: r for f, r in results.items() if "error" not in r}
        keras_best = min((r["epoch_seconds"] for f, r in ok.items() if f.startswith("keras")), default=None)
        keras_mem = min((r["peak_rss_mib"] for f, r in ok.items() if f.startswith("keras")), default=None)
        print(f"# load average {os.getloadavg()[0]:.1f} after {size}x{size}")
        print(f"\n## {size}x{size}x3: {training_flops(size) / 1e9:.3f} GFLOP per training sample; "
              f"compute floor {floor:.1f} s per epoch at {gflops:.0f} GFLOP/s")
        print(f"{'framework':<10} {'s/epoch':>8} {'ms/sample':>9} {'x floor':>7} {'x best Keras':>12} "
              f"{'peak MiB':>9} {'x Keras mem':>11} {'warm-up s':>9}  measured")
        for f, r in results.items():
            if "error" in r:
                print(f"{f:<10} failed: {r['error']}")
                continue
            e = r["epoch_seconds"]
            rel = f"{e / keras_best:.2f}" if keras_best else "-"
            mem = f"{r['peak_rss_mib'] / keras_mem:.2f}" if keras_mem else "-"
            print(f"{f:<10} {e:8.1f} {1000 * e / N_SAMPLES:9.2f} {e / floor:7.2f} {rel:>12} "
                  f"{r['peak_rss_mib']:9.0f} {mem:>11} {r['warmup_seconds']:9.1f}  {r['measured']}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

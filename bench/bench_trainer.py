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
(numpy's BLAS, 2048^3, all cores) in the same run and prints two compute floors: the training
FLOPs per epoch at that rate with direct convolutions (what Keras runs) and with the algorithm
TallyNet actually runs (conv2 as Winograd F(4x4, 3x3): its 36 GEMMs per tile). Each framework's
"x floor" is against its own algorithm's floor. Ratios are to the faster Keras backend measured
in this run. PyTorch on the CPU (eager, channels_last) is a third anchor when `torch` imports.

With `--rounds R` every framework runs R times, in turn (round 1: each framework, round 2:
each again, ...), each round with its own SGEMM rate: the table gives each framework's median
epoch time and peak memory, and the ratios are the medians of the per-round ratios, so that the
machine's drift between one framework's process and the next (±20 % on these shared 2-CPU
machines) does not land in a ratio. Each round's ratios are printed too.

The header prints the CPU and TallyNet's kernels (`tally.net.backend()`): a speed claim holds
for the machine it was measured on. `--blis-table` runs TallyNet with BLIS's own CPU-model
table instead of TallyNet's choice by instruction set (TALLY_BLIS_ARCH=table), for comparison.

    .venv/bin/python bench/bench_trainer.py [--sizes 204 64] [--timed-batches 6] [--rounds 1]
        [--only tallynet keras-tf keras-jax torch] [--blis-table] [--settle 5]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

N_SAMPLES, N_LABELS, BATCH = 1269, 39, 32
FRAMEWORKS = ("tallynet", "keras-tf", "keras-jax", "torch")


def make_data(size, n):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.random((n, size, size, 3), dtype=np.float32)
    y = (rng.random((n, N_LABELS)) < 0.15).astype(np.float32)
    return x, y


def training_flops(size, winograd=False):
    """Multiply-adds x 2 of one training sample: forward, input gradients (not for the
    first layer) and weight gradients of the convolutions and dense layers. With
    `winograd`, conv2 counts the GEMMs of F(4x4, 3x3) (36 products per 4x4 output tile
    instead of 16 x 9), as TallyNet runs it; its transforms are not counted."""
    conv1 = 2 * size * size * 3 * 9 * 32
    conv2 = 2 * size * size * 32 * 9 * 32
    if winograd:
        tiles = (-(-size // 4)) ** 2  # ceil(size / 4) tiles a side (** binds before the unary minus)
        conv2 = 2 * 36 * tiles * 32 * 32
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
    elif framework == "torch":
        import torch
        from torch import nn

        torch.manual_seed(0)

        class MaxNormSGD(torch.optim.SGD):
            """SGD with momentum (Keras's form: v = m*v - lr*g, w += v, as PyTorch's with
            dampening 0 up to the lr's placement), then Keras's MaxNorm(3) on the kernels."""

            def __init__(self, params, constrained, lr):
                super().__init__(params, lr=lr, momentum=0.9)
                self.constrained = constrained

            @torch.no_grad()
            def step(self):
                super().step()
                for w in self.constrained:  # Keras MaxNorm: norm over all axes but the output one
                    dims = tuple(range(1, w.dim()))
                    norms = w.pow(2).sum(dim=dims, keepdim=True).sqrt()
                    w.mul_(norms.clamp(max=3) / (norms + 1e-7))

        flat = (size // 2) * (size // 2) * 32
        net = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Dropout(0.2),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(flat, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, N_LABELS),
        ).to(memory_format=torch.channels_last)
        constrained = [net[0].weight, net[3].weight, net[7].weight]
        opt = MaxNormSGD(net.parameters(), constrained, lr)
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: 1 / (1 + lr / epochs * it))
        loss_fn = nn.BCEWithLogitsLoss()
        xt = torch.from_numpy(x).permute(0, 3, 1, 2)  # NHWC memory seen as NCHW channels_last: no copy
        yt = torch.from_numpy(y)

        def run(n_batches):
            stamps.append(time.perf_counter())
            order = torch.randperm(N_SAMPLES)
            for b in range(min(n_batches, steps)):
                idx = order[b * BATCH:(b + 1) * BATCH]
                xb = xt[idx].contiguous(memory_format=torch.channels_last)
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(net(xb), yt[idx])
                loss.backward()
                opt.step()
                schedule.step()
                stamp(loss.item())
        threads = torch.get_num_threads()
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


def backend_line(args):
    """TallyNet's `backend()` report, from a subprocess with the workers' environment."""
    env = dict(os.environ)
    if args.blis_table:
        env["TALLY_BLIS_ARCH"] = "table"
    code = "import tally.net as tn; print(tn.backend_report())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return done.stdout.strip() if done.returncode == 0 else f"backend report failed: {done.stderr.strip()[-300:]}"


def run_worker(framework, size, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--size", str(size),
           "--warm-batches", str(args.warm_batches), "--timed-batches", str(args.timed_batches)]
    if size <= args.full_epoch_up_to:
        cmd.append("--full-epoch")
    env = dict(os.environ)
    if args.blis_table:
        env["TALLY_BLIS_ARCH"] = "table"
    # Let the previous worker's exit settle first: the kernel frees a Keras process's 5-6 GB
    # on these 2-CPU machines in the background, and the next worker paid for it.
    time.sleep(args.settle)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
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
    # Six: single batches at 204x204 vary by ±20 % on these shared machines.
    ap.add_argument("--timed-batches", type=int, default=6)
    ap.add_argument("--full-epoch-up-to", type=int, default=64,
                    help="time a whole epoch for image sizes up to this (else extrapolate)")
    ap.add_argument("--settle", type=float, default=5,
                    help="seconds to wait before each framework's process (the previous one's exit settles)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run every framework this many times, in turn; report medians of per-round ratios")
    ap.add_argument("--blis-table", action="store_true",
                    help="TallyNet on BLIS's own CPU-model table, not TallyNet's choice by instruction set")
    ap.add_argument("--worker", choices=FRAMEWORKS)
    ap.add_argument("--size", type=int)
    ap.add_argument("--full-epoch", action="store_true")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.size, args.warm_batches, args.timed_batches, args.full_epoch)))
        return

    if "torch" in args.only:
        try:
            import torch  # noqa: F401  (an optional anchor)
        except ImportError:
            print("# torch is not importable here: the PyTorch anchor is left out")
            args.only = [f for f in args.only if f != "torch"]
    gflops = sgemm_gflops()
    print(f"# trainer benchmark: seed's model, batch {BATCH}, {N_LABELS} labels, {N_SAMPLES}-sample epoch; "
          f"{os.cpu_count()} CPUs; SGEMM {gflops:.0f} GFLOP/s (numpy BLAS, this run); "
          f"load average {os.getloadavg()[0]:.1f} at start (other processes skew every figure)")
    print("# " + backend_line(args).replace("\n", "\n# "))
    median = statistics.median
    for size in args.sizes:
        # One row per round: its SGEMM rate, then each framework's run, in turn.
        rounds = []
        for r in range(max(1, args.rounds)):
            rate = gflops if r == 0 else sgemm_gflops()
            rounds.append((rate, {f: run_worker(f, size, args) for f in args.only}))
        print(f"# load average {os.getloadavg()[0]:.1f} after {size}x{size}")
        wflops, dflops = training_flops(size, winograd=True), training_flops(size)

        def ratios(rate, results):
            """Per framework of one round: x its own floor, x the best Keras, x Keras's memory."""
            ok = {f: res for f, res in results.items() if "error" not in res}
            best = min((res["epoch_seconds"] for f, res in ok.items() if f.startswith("keras")), default=None)
            mem = min((res["peak_rss_mib"] for f, res in ok.items() if f.startswith("keras")), default=None)
            out = {}
            for f, res in ok.items():
                floor = (wflops if f == "tallynet" else dflops) * N_SAMPLES / (rate * 1e9)
                e = res["epoch_seconds"]
                out[f] = (e / floor, e / best if best else None, res["peak_rss_mib"] / mem if mem else None)
            return out

        per_round = [ratios(rate, results) for rate, results in rounds]
        rate = median(rate for rate, _ in rounds)
        floor, wfloor = dflops * N_SAMPLES / (rate * 1e9), wflops * N_SAMPLES / (rate * 1e9)
        print(f"\n## {size}x{size}x3: {dflops / 1e9:.3f} GFLOP per training sample with direct "
              f"convolutions, {wflops / 1e9:.3f} with conv2 as Winograd F(4x4,3x3); "
              f"compute floors {floor:.1f} s and {wfloor:.1f} s per epoch at {rate:.0f} GFLOP/s"
              + (f" (median of {len(rounds)} rounds' SGEMM rates; ratios: medians of the rounds' ratios)"
                 if len(rounds) > 1 else ""))
        print(f"{'framework':<10} {'s/epoch':>8} {'ms/sample':>9} {'x floor':>7} {'x best Keras':>12} "
              f"{'peak MiB':>9} {'x Keras mem':>11} {'warm-up s':>9}  measured")

        def fmt(values, spec):
            values = [v for v in values if v is not None]
            return format(median(values), spec) if values else "-"

        for f in args.only:
            runs = [results[f] for _, results in rounds if "error" not in results[f]]
            if not runs:
                print(f"{f:<10} failed: {rounds[-1][1][f]['error']}")
                continue
            e = median(res["epoch_seconds"] for res in runs)
            mine = [rr[f] for rr in per_round if f in rr]
            print(f"{f:<10} {e:8.1f} {1000 * e / N_SAMPLES:9.2f} {fmt([m[0] for m in mine], '7.2f')} "
                  f"{fmt([m[1] for m in mine], '>12.2f')} {median(res['peak_rss_mib'] for res in runs):9.0f} "
                  f"{fmt([m[2] for m in mine], '>11.2f')} {median(res['warmup_seconds'] for res in runs):9.1f}  "
                  f"{runs[0]['measured']}" + (f"; median of {len(runs)} rounds" if len(rounds) > 1 else ""))
        if len(rounds) > 1:
            for i, ((rate, results), rr) in enumerate(zip(rounds, per_round), 1):
                cells = "; ".join(f"{f} {results[f]['epoch_seconds']:.1f} s, x floor {rr[f][0]:.2f}, x best Keras "
                                  + (f"{rr[f][1]:.2f}" if rr[f][1] is not None else "-")
                                  for f in args.only if f in rr)
                print(f"#   round {i} (SGEMM {rate:.0f} GFLOP/s): {cells}")
        sys.stdout.flush()

if __name__ == "__main__":
    main()

"""Intervals' cost, measured in one run against a plain `Tally.update` (the anchor).

Prints, for a (32 x 39) batch (per call, from Python) and a (N x 39) batch (rows/second):
the plain update, the update with B bootstrap replicates (B = 200 and 1000), and what
the replicates hold in memory; then the time to compute intervals at the end (Wilson,
Clopper-Pearson and the bootstrap over every average) and DeLong's interval from the
score store. Medians of several repeats; the machine is noisy.

    .venv/bin/python bench/bench_intervals.py [--rows 1000000] [--repeats 5]
"""
import argparse
import os
import sys

import numpy as np

import tally
from tally import _tally

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_line, kernel_line, median_seconds  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--labels", type=int, default=39)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    n, k = args.rows, args.labels
    rng = np.random.default_rng(0)
    y_true = rng.random((n, k)) < 0.1
    y_score = rng.random((n, k), dtype=np.float32) * 0.6 + y_true * 0.3
    print(cpu_line())
    print(kernel_line())
    print("# kernels: Tally.update (byte lanes); bootstrap: one counter-based Poisson draw per row and replicate,")
    print("#          a float64 add per replicate for each of the row's true and predicted labels")

    small_t, small_s = y_true[:32], y_score[:32]
    plain = tally.Tally(k)
    anchor = median_seconds(lambda: plain.update(small_t, small_s), args.repeats, number=2000)
    print(f"\n(32 x {k}) per update: plain {anchor * 1e6:.2f} us (anchor)")
    for b in (200, 1000):
        acc = tally.Tally(k, bootstrap=b)
        t = median_seconds(lambda: acc.update(small_t, small_s), args.repeats, number=200)
        print(f"  bootstrap={b}: {t * 1e6:.1f} us ({t / anchor:.1f}x the anchor)")

    plain = tally.Tally(k)

    def plain_big():
        plain.reset()
        plain.update(y_true, y_score)

    anchor = median_seconds(plain_big, args.repeats)
    print(f"\n({n} x {k}) one update: plain {n / anchor / 1e6:.1f} M rows/s (anchor)")
    for b in (200, 1000):
        acc = tally.Tally(k, bootstrap=b)

        def boot_big():
            acc.reset()
            acc.update(y_true, y_score)

        t = median_seconds(boot_big, max(1, args.repeats // 2))
        memory = _tally.bootstrap_info(acc._bootstrap)[4]
        print(f"  bootstrap={b}: {n / t / 1e6:.2f} M rows/s ({t / anchor:.0f}x the anchor); "
              f"replicates hold {memory / 1e6:.2f} MB")

    acc = tally.Tally(k, bootstrap=200).update(y_true[:100_000], y_score[:100_000])
    print("\nat the end (100000 rows, bootstrap=200):")
    for method in ("wilson", "clopper_pearson"):
        t = median_seconds(lambda: acc.confidence_interval("recall", method=method), args.repeats, number=5)
        print(f"  {method} per label: {t * 1e3:.2f} ms")
    for average in (None, "micro", "macro", "weighted", "samples"):
        t = median_seconds(lambda: acc.confidence_interval("f1", average, method="bootstrap"), args.repeats)
        print(f"  bootstrap f1 average={average}: {t * 1e3:.1f} ms")
    store = tally.ScoreTally(k).update(y_true[:100_000], y_score[:100_000])
    t = median_seconds(lambda: store.confidence_interval(), max(1, args.repeats // 2))
    auc = median_seconds(lambda: store.roc_auc(average=None), max(1, args.repeats // 2))
    print(f"  DeLong per label: {t * 1e3:.0f} ms (exact ROC AUC alone: {auc * 1e3:.0f} ms, {t / auc:.1f}x)")


if __name__ == "__main__":
    main()

"""Calibration speed: `tally.CalibrationTally.update` (exact Brier and log-loss sums,
equal-width bins) against the anchor `tally.Tally.update` (confusion counts) on the same
float32 scores, and against what numpy needs for the same per-label sums in float64
(no exactness), measured in one run.

Prints the CPU, seconds per update (medians), and the ratios to the anchor, for a
(32 x 39) batch (per call, from Python) and a (10^6 x 39) one.

    .venv/bin/python bench/bench_calibration.py [--rows 1000000] [--repeats 5]
"""
import argparse
import os
import sys
import time

import numpy as np

import tally

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_line, kernel_line, median_seconds  # noqa: E402


def numpy_sums(y, p, n_bins=15):
    """The per-label sums a careful numpy user writes (float64, not exact)."""
    p64 = p.astype(np.float64)
    brier = ((y - p64) ** 2).sum(axis=0)
    eps = np.finfo(np.float32).eps
    loss = -np.log(np.clip(np.where(y, p, 1 - p), eps, 1 - eps).astype(np.float64)).sum(axis=0)
    ids = np.minimum((p64 * n_bins).astype(np.int64), n_bins - 1) + np.arange(p.shape[1]) * n_bins
    counts = np.bincount(ids.ravel(), minlength=p.shape[1] * n_bins)
    sums = np.bincount(ids.ravel(), weights=p64.ravel(), minlength=p.shape[1] * n_bins)
    return brier, loss, counts, sums


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--labels", type=int, default=39)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    n, k = args.rows, args.labels
    rng = np.random.default_rng(0)
    y = rng.random((n, k)) < 0.2
    p = rng.random((n, k), dtype=np.float32)
    print(cpu_line())
    print(kernel_line())
    print(f"# calibration benchmark: median of {args.repeats}; anchor: tally.Tally.update on the same scores")
    counts, cal = tally.Tally(k), tally.CalibrationTally(k)
    small_y, small_p = y[:32], p[:32]
    for label, yy, pp, inner in (("32 x %d" % k, small_y, small_p, 2000), ("%d x %d" % (n, k), y, p, 1)):
        for clock_name, clock in (("wall", time.perf_counter), ("CPU", time.process_time)):
            anchor = median_seconds(lambda: counts.update(yy, pp), args.repeats, inner, clock)
            ours = median_seconds(lambda: cal.update(yy, pp), args.repeats, inner, clock)
            numpy = median_seconds(lambda: numpy_sums(yy, pp), args.repeats, inner, clock)
            print(f"{label:>14} {clock_name:>4}: Tally.update {anchor * 1e6:10.1f} us   CalibrationTally.update "
                  f"{ours * 1e6:10.1f} us ({ours / anchor:5.2f}x the anchor)   numpy float64 sums {numpy * 1e6:10.1f} us "
                  f"({numpy / anchor:5.2f}x)")

if __name__ == "__main__":
    main()

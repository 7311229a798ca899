"""Counting speed: Tally vs a vectorized numpy count vs scikit-learn, measured in one run.

Prints rows/second for one update over a (N x 39) batch of bool predictions and of
float32 scores (also with per-label thresholds), the GB/s read against a plain
`numpy.sum` over the same bytes (the bandwidth reference), the ratios to the anchors
next to their targets, and the per-call cost of a (32 x 39) update from Python.
Medians of several repeats; the machine is shared, so compare ratios within a run.

    .venv/bin/python bench/bench_counting.py [--rows 1000000] [--repeats 15]
"""
import argparse
import os
import sys
import timeit

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

import tally

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_line, gbps, kernel_line, median_seconds, numpy_sum, paired_medians, target  # noqa: E402


def numpy_counts(y_true, y_pred):
    """What a careful user writes: four vectorized sums per label."""
    tp = np.count_nonzero(y_true & y_pred, axis=0)
    fp = np.count_nonzero(~y_true & y_pred, axis=0)
    fn = np.count_nonzero(y_true & ~y_pred, axis=0)
    tn = y_true.shape[0] - tp - fp - fn
    return tp, fp, fn, tn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--labels", type=int, default=39)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--sklearn-repeats", type=int, default=1)
    args = ap.parse_args()
    n, k = args.rows, args.labels
    rng = np.random.default_rng(0)
    y_true = rng.random((n, k)) < 0.2
    y_score = rng.random((n, k), dtype=np.float32)
    y_pred = y_score >= 0.5
    thresholds = rng.uniform(0.3, 0.7, size=k)

    print(cpu_line())
    print(kernel_line())
    print(f"# counting benchmark: {n} x {k}, median of {args.repeats} (scikit-learn: {args.sklearn_repeats})")
    acc = tally.Tally(k)
    per_label = tally.Tally(k, threshold=thresholds)

    def run(a, x):
        def f():
            a.reset()
            a.update(y_true, x)
        return f

    weights = rng.uniform(0.5, 2.0, size=n)

    def run_weighted(a, x):
        def f():
            a.reset()
            a.update(y_true, x, weights)
        return f

    # Row order: each label's float64 sum is the row loop's, bit for bit, so one thread takes
    # the label sums and the other the row table (large batches), both over every row.
    # Each update and its bandwidth reference in turn, round after round (`paired_medians`).
    t_bool, t_float, t_per_label, t_weighted, t_sum_bool, t_sum_float = paired_medians(
        [run(acc, y_pred), run(acc, y_score), run(per_label, y_score), run_weighted(acc, y_pred),
         numpy_sum([y_true, y_pred]), numpy_sum([y_true, y_score])], args.repeats)
    t_numpy_bool = median_seconds(lambda: numpy_counts(y_true, y_pred), args.repeats)
    t_numpy_float = median_seconds(lambda: numpy_counts(y_true, y_score >= 0.5), args.repeats)
    t_sklearn = median_seconds(lambda: precision_recall_fscore_support(y_true, y_pred, average=None,
                                                                       zero_division=0), args.sklearn_repeats)
    # The numbers agree (a benchmark of wrong answers is worthless).
    acc.reset()
    acc.update(y_true, y_score)
    cm = acc.confusion_matrix()
    tp, fp, fn, tn = numpy_counts(y_true, y_pred)
    assert (cm[:, 1, 1] == tp).all() and (cm[:, 0, 1] == fp).all() and (cm[:, 1, 0] == fn).all()

    bytes_bool = y_true.nbytes + y_pred.nbytes
    bytes_float = y_true.nbytes + y_score.nbytes
    print(f"{'':46s} {'time':>10s} {'rows/s':>10s} {'GB/s':>7s}")

    def row(name, t, nbytes, note=""):
        print(f"{name:46s} {t * 1e3:7.1f} ms {n / t / 1e6:7.1f} M {gbps(nbytes, t):7.2f}  {note}")

    row("numpy.sum over y_true + y_pred bytes", t_sum_bool, bytes_bool, "(bandwidth reference)")
    row("tally update, bool", t_bool, bytes_bool,
        f"{t_sum_bool / t_bool:.2f}x numpy.sum's GB/s ({target(t_sum_bool / t_bool, 1.0)})")
    row("numpy.sum over y_true + y_score bytes", t_sum_float, bytes_float, "(bandwidth reference)")
    row("tally update, float32 >= 0.5", t_float, bytes_float,
        f"{t_sum_float / t_float:.2f}x numpy.sum's GB/s ({target(t_sum_float / t_float, 1.0)})")
    row("tally update, float32, per-label thresholds", t_per_label, bytes_float,
        f"{t_sum_float / t_per_label:.2f}x numpy.sum's GB/s ({target(t_sum_float / t_per_label, 1.0)})")
    weighted_ratio = gbps(bytes_bool + weights.nbytes, t_weighted) / gbps(bytes_bool, t_sum_bool)
    row("tally update, bool, weighted (row order)", t_weighted, bytes_bool + weights.nbytes,
        f"{weighted_ratio:.2f}x numpy.sum's GB/s ({target(weighted_ratio, 1.0)})")
    row("numpy vectorized count, bool", t_numpy_bool, bytes_bool, f"tally {t_numpy_bool / t_bool:.1f}x faster")
    row("numpy threshold + count, float32", t_numpy_float, bytes_float, f"tally {t_numpy_float / t_float:.1f}x faster")
    row("sklearn precision_recall_fscore_support", t_sklearn, bytes_bool,
        f"tally {t_sklearn / t_bool:.0f}x (bool), {t_sklearn / t_float:.0f}x (float32) faster")

    small_true = y_true[:32].copy()
    small_score = y_score[:32].copy()
    small = tally.Tally(k)
    raw = small._counts
    number = 20000
    per_call = min(timeit.repeat(lambda: small.update(small_true, small_score), number=number, repeat=7)) / number
    per_raw = min(timeit.repeat(lambda: raw.update(small_true, small_score, None, False), number=number, repeat=7)) / number
    per_numpy = min(timeit.repeat(lambda: numpy_counts(small_true, small_score >= 0.5), number=2000, repeat=5)) / 2000
    print(f"(32 x {k}) update from Python: tally.Tally.update {per_call * 1e6:.2f} us "
          f"({target(per_call * 1e6, 1.0, more_is_better=False, unit=' us')}), _tally.Counts.update {per_raw * 1e6:.2f} us, "
          f"numpy count {per_numpy * 1e6:.2f} us")


if __name__ == "__main__":
    main()

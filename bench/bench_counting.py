"""Counting speed: Tally vs a vectorized numpy count vs scikit-learn, measured in one run.

Prints rows/second for one update over a (N x 39) batch of bool predictions and of
float32 scores, the ratios to the anchors, and the per-call cost of a (32 x 39)
update from Python. Medians of several repeats; the machine is noisy.

    .venv/bin/python bench/bench_counting.py [--rows 1000000] [--repeats 5]
"""
import argparse
import statistics
import time
import timeit

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

import tally


def median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sklearn-repeats", type=int, default=1)
    args = ap.parse_args()
    n, k = args.rows, args.labels
    rng = np.random.default_rng(0)
    y_true = rng.random((n, k)) < 0.2
    y_score = rng.random((n, k), dtype=np.float32)
    y_pred = y_score >= 0.5

    print(f"# counting benchmark: {n} x {k}, median of {args.repeats} (scikit-learn: {args.sklearn_repeats})")
    acc = tally.Tally(k)

    def tally_bool():
        acc.reset()
        acc.update(y_true, y_pred)

    def tally_float():
        acc.reset()
        acc.update(y_true, y_score)

    t_tally_bool = median_seconds(tally_bool, args.repeats)
    t_tally_float = median_seconds(tally_float, args.repeats)
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

    def row(name, t, anchor=None):
        ratio = f"{anchor / t:8.1f}x" if anchor else ""
        print(f"{name:44s} {t * 1e3:9.1f} ms {n / t / 1e6:9.1f} M rows/s {ratio}")

    print(f"{'':44s} {'time':>12s} {'throughput':>17s} {'speed-up':>9s}")
    row("numpy vectorized count, bool", t_numpy_bool)
    row("tally update, bool  (vs numpy)", t_tally_bool, t_numpy_bool)
    row("numpy threshold + count, float32", t_numpy_float)
    row("tally update, float32 (vs numpy)", t_tally_float, t_numpy_float)
    row("sklearn precision_recall_fscore_support", t_sklearn)
    print(f"{'tally bool vs sklearn':44s} {t_sklearn / t_tally_bool:8.1f}x")
    print(f"{'tally float32 vs sklearn':44s} {t_sklearn / t_tally_float:8.1f}x")

    small_true = y_true[:32].copy()
    small_score = y_score[:32].copy()
    small = tally.Tally(k)
    raw = small._counts
    number = 20000
    per_call = min(timeit.repeat(lambda: small.update(small_true, small_score), number=number, repeat=5)) / number
    per_raw = min(timeit.repeat(lambda: raw.update(small_true, small_score, None, False), number=number, repeat=5)) / number
    per_numpy = min(timeit.repeat(lambda: numpy_counts(small_true, small_score >= 0.5), number=2000, repeat=5)) / 2000
    print(f"(32 x {k}) update from Python: tally.Tally.update {per_call * 1e6:.2f} us, "
          f"_tally.Counts.update {per_raw * 1e6:.2f} us, numpy count {per_numpy * 1e6:.2f} us")


if __name__ == "__main__":
    main()

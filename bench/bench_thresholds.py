"""Tuned thresholds on (N x 39) float32 scores, against Tally's own exact average
precision (the anchor: the same sort per label) and scikit-learn's
`average_precision_score`, on the same arrays in one run.

Prints seconds and ratios measured in this run. Target: each objective's tuning,
and all six objectives from one sorted pass, at most 1.5x Tally's AP time.
The scores are stored once (`update`, timed apart); the sort is per label, in
parallel over the machine's cores (and on one thread, for the per-core ratio).

    .venv/bin/python bench/bench_thresholds.py [--rows 1000000] [--labels 39] [--repeats 3]
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np
import sklearn.metrics as sk

from tally import _tally
from tally.scores import ScoreTally

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_line, kernel_line, seconds  # noqa: E402

OBJECTIVES = [
    ("f1", dict()),
    ("fbeta", dict(beta=2.0)),
    ("recall_at_precision", dict(min_precision=0.3)),
    ("precision_at_recall", dict(min_recall=0.8)),
    ("youden", dict()),
    ("rate", dict(rate=0.25)),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--labels", type=int, default=39)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    n, k = args.rows, args.labels
    rng = np.random.default_rng(0)
    y_true = rng.random((n, k)) < 0.2
    y_score = rng.random((n, k), dtype=np.float32)
    y_score[:, :5] = np.round(y_score[:, :5], 2)  # a few labels with heavy ties
    warnings.simplefilter("ignore")
    print(cpu_line())
    print(kernel_line())
    print(f"# threshold tuning: {n} x {k} float32, median of {args.repeats} (scikit-learn: once)")

    store = ScoreTally(k)
    t_update, _ = seconds(lambda: store.reset().update(y_true, y_score), args.repeats)
    print(f"{'store the scores (update, shared)':<46s} {t_update:8.3f} s")
    t_sk, ap_sk = seconds(lambda: sk.average_precision_score(y_true, y_score, average=None), 1)
    for threads in (None, 1):
        where = "all cores" if threads is None else "one thread"
        t_ap, ap_ours = seconds(lambda: store.average_precision(None, threads=threads), args.repeats)
        assert np.max(np.abs(ap_ours - ap_sk)) < 1e-12
        print(f"\n## {where}")
        print(f"{'Tally average precision (anchor)':<46s} {t_ap:8.3f} s   1.00x AP   "
              f"scikit-learn AP {t_sk:.3f} s = {t_sk / t_ap:.1f}x Tally's AP")
        for name, params in OBJECTIVES:
            t, result = seconds(lambda: store.tune_thresholds(name, threads=threads, **params), args.repeats)
            assert result.n_labels == k
            label = f"tune {name}" + "".join(f" {key}={value}" for key, value in params.items())
            print(f"{label:<46s} {t:8.3f} s   {t / t_ap:.2f}x AP   {t_sk / t:6.1f}x faster than scikit-learn's AP")
        specs = tuple((name, params.get("beta"), params.get("min_precision"), params.get("min_recall"),
                       params.get("rate")) for name, params in OBJECTIVES)
        t_all, texts = seconds(lambda: _tally.scores_tune_many(store._handle, specs, threads), args.repeats)
        assert len(texts) == len(OBJECTIVES)
        print(f"{'all six objectives, one sorted pass':<46s} {t_all:8.3f} s   {t_all / t_ap:.2f}x AP   "
              f"{t_sk / t_all:6.1f}x faster than scikit-learn's AP")


if __name__ == "__main__":
    main()

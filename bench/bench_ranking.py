"""Exact ROC AUC and average precision on (N x 39) float32 scores: Tally vs
scikit-learn, the row-wise ranking metrics, and the counting metrics vs numpy and
scikit-learn, in one run.

Prints seconds and the ratio to scikit-learn (the anchor) measured in the same run,
next to the target ratio; the GB/s the score store's update reads against a plain
`numpy.sum` over the same bytes. Tally's AUC/AP times include storing the scores
(the `update`); the sort is per label, in parallel over the machine's cores (micro:
one pooled sort, its passes split over the cores). The machine is shared: compare
ratios within a run.

    .venv/bin/python bench/bench_ranking.py [--rows 1000000] [--labels 39] [--repeats 3]
"""
import argparse
import os
import sys
import warnings

import numpy as np
import sklearn.metrics as sk

from tally import metrics as tm
from tally.scores import RankingTally, ScoreTally

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_line, gbps, kernel_line, numpy_sum_seconds, seconds, target  # noqa: E402

TARGETS = {"roc_auc macro": 30, "roc_auc micro": 25, "ap macro": 30, "coverage_error": 20, "label_ranking_loss": 20,
           "label_ranking_average_precision_score": 100, "ndcg_score": 100}


def row(name, ours, anchor, label="scikit-learn", goal=None):
    note = f"   ({target(anchor / ours, goal)})" if goal else ""
    print(f"{name:<44s} tally {ours:8.3f} s   {label} {anchor:8.3f} s   {anchor / ours:6.1f}x{note}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--labels", type=int, default=39)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ranking-rows", type=int, default=100_000)
    args = ap.parse_args()
    n, k = args.rows, args.labels
    rng = np.random.default_rng(0)
    y_true = rng.random((n, k)) < 0.2
    y_score = rng.random((n, k), dtype=np.float32)
    y_score[:, :5] = np.round(y_score[:, :5], 2)  # a few labels with heavy ties
    warnings.simplefilter("ignore")
    print(cpu_line())
    print(kernel_line())
    print(f"# ranking benchmark: {n} x {k} float32, median of {args.repeats} (scikit-learn: once)")

    store = ScoreTally(k)
    t_update, _ = seconds(lambda: store.reset().update(y_true, y_score), args.repeats)
    t_sum = numpy_sum_seconds([y_true, y_score], args.repeats)
    nbytes = y_true.nbytes + y_score.nbytes
    print(f"{'store the scores (update)':<44s} tally {t_update:8.3f} s   {gbps(nbytes, t_update):.2f} GB/s read "
          f"(numpy.sum over the same bytes {gbps(nbytes, t_sum):.2f} GB/s: {t_sum / t_update:.2f}x); "
          f"{store.memory_bytes / (n * k):.3f} bytes per score")
    for average in ("macro", "micro"):
        t_auc, ours = seconds(lambda: store.roc_auc(average), args.repeats)
        t_sk, theirs = seconds(lambda: sk.roc_auc_score(y_true, y_score, average=average), 1)
        assert abs(ours - theirs) < 1e-12, (ours, theirs)
        row(f"roc_auc_score average={average} (+update)", t_auc + t_update, t_sk, goal=TARGETS[f"roc_auc {average}"])
    t_ap, ours = seconds(lambda: store.average_precision("macro"), args.repeats)
    t_sk, theirs = seconds(lambda: sk.average_precision_score(y_true, y_score, average="macro"), 1)
    assert abs(ours - theirs) < 1e-12, (ours, theirs)
    row("average_precision_score macro (+update)", t_ap + t_update, t_sk, goal=TARGETS["ap macro"])
    t_one, _ = seconds(lambda: store.roc_auc("macro", threads=1), args.repeats)
    print(f"{'roc_auc macro, one thread (no update)':<44s} tally {t_one:8.3f} s")

    m = args.ranking_rows
    yt, ys = y_true[:m], y_score[:m]
    # The one-shot functions (each keeps only its own metric), then one RankingTally for all of them.
    total_sk = 0.0
    for name in ("label_ranking_average_precision_score", "coverage_error", "label_ranking_loss", "ndcg_score"):
        t_ours, ours = seconds(lambda: getattr(tm, name)(yt, ys), args.repeats)
        t_sk, theirs = seconds(lambda: getattr(sk, name)(yt, ys), 1)
        total_sk += t_sk
        assert abs(ours - theirs) < 1e-9, (name, ours, theirs)
        row(f"{name} ({m} rows)", t_ours, t_sk, goal=TARGETS[name])
    t_all, _ = seconds(lambda: RankingTally(k).update(yt, ys), args.repeats)
    row(f"all four + precision/recall@1,3,5, one RankingTally", t_all, total_sk, "sklearn's four")

    y_pred = y_score >= 0.5
    for name, ours_fn, sk_fn, np_fn in (
        ("multilabel_confusion_matrix", tm.multilabel_confusion_matrix, sk.multilabel_confusion_matrix,
         lambda: (np.count_nonzero(y_true & y_pred, axis=0), np.count_nonzero(~y_true & y_pred, axis=0),
                  np.count_nonzero(y_true & ~y_pred, axis=0))),
        ("accuracy_score (subset)", tm.accuracy_score, sk.accuracy_score,
         lambda: np.mean((y_true == y_pred).all(axis=1))),
        ("hamming_loss", tm.hamming_loss, sk.hamming_loss, lambda: np.mean(y_true != y_pred)),
        ("jaccard_score samples", lambda a, b: tm.jaccard_score(a, b, average="samples"),
         lambda a, b: sk.jaccard_score(a, b, average="samples"),
         lambda: np.mean(np.count_nonzero(y_true & y_pred, axis=1)
                         / np.maximum(np.count_nonzero(y_true | y_pred, axis=1), 1))),
    ):
        t_ours, _ = seconds(lambda: ours_fn(y_true, y_pred), args.repeats)
        t_np, _ = seconds(np_fn, args.repeats)
        t_sk, _ = seconds(lambda: sk_fn(y_true, y_pred), 1)
        print(f"{name:<44s} tally {t_ours:8.3f} s   numpy {t_np:8.3f} s ({t_np / t_ours:5.1f}x)   "
              f"scikit-learn {t_sk:8.3f} s ({t_sk / t_ours:6.1f}x)")


if __name__ == "__main__":
    main()

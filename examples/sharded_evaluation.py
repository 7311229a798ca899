"""Sharded evaluation: score shards in worker processes, merge their states, get
exactly the one-shot numbers.

Each worker sees only its shard of the evaluation set (as a data-parallel job, or
a Spark/Ray map task, would) and returns its accumulators' states as bytes; the
parent merges them (a reduce) and scores once. The result equals scikit-learn on
the concatenated arrays, which this script checks before printing.

    python examples/sharded_evaluation.py [--rows 20000] [--labels 12] [--workers 4]
"""
import argparse
import functools
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import sklearn.metrics as sk

import tally
from tally.scores import RankingTally, ScoreTally


def make_data(rows, labels, seed=0):
    """A fixed synthetic evaluation set: skewed label frequencies, informative scores."""
    rng = np.random.default_rng(seed)
    frequency = np.linspace(0.02, 0.5, labels)
    y_true = rng.random((rows, labels)) < frequency
    y_score = np.clip(0.35 * y_true + rng.normal(0.3, 0.2, (rows, labels)), 0, 1).astype(np.float32)
    weight = rng.integers(1, 4, size=rows).astype(np.float64)
    return y_true, y_score, weight


def evaluate_shard(args):
    """The map step, run in a worker: this shard's states as bytes (what a worker
    would send over a network, an all-gather, or write next to a checkpoint)."""
    rows, labels, start, stop = args
    y_true, y_score, weight = make_data(rows, labels)      # a real worker would read only its shard
    y_true, y_score, weight = y_true[start:stop], y_score[start:stop], weight[start:stop]
    counts = tally.Tally(labels).update(y_true, y_score, sample_weight=weight)
    scores = ScoreTally(labels).update(y_true, y_score, sample_weight=weight)
    ranking = RankingTally(labels).update(y_true, y_score, sample_weight=weight)
    return counts.to_bytes(), scores.to_bytes(), ranking.to_bytes()


def merge_states(labels, states):
    """The reduce step: rebuild each shard's accumulators and add them up."""
    counts = functools.reduce(tally.Tally.merge, (tally.Tally(labels).load_bytes(c) for c, _, _ in states))
    scores = functools.reduce(ScoreTally.merge, (ScoreTally.from_bytes(s) for _, s, _ in states))
    ranking = functools.reduce(RankingTally.merge, (RankingTally.from_bytes(r) for _, _, r in states))
    return counts, scores, ranking


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--labels", type=int, default=12)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args(argv)
    bounds = np.linspace(0, args.rows, args.workers + 1).astype(int)
    tasks = [(args.rows, args.labels, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        states = list(pool.map(evaluate_shard, tasks))
    counts, scores, ranking = merge_states(args.labels, states)

    # The same numbers from scikit-learn on the whole set, in this process.
    y_true, y_score, weight = make_data(args.rows, args.labels)
    y_pred = y_score >= 0.5
    checks = {
        "micro F1": (counts.f1("micro"), sk.f1_score(y_true, y_pred, average="micro", sample_weight=weight)),
        "macro F1": (counts.f1("macro"), sk.f1_score(y_true, y_pred, average="macro", sample_weight=weight)),
        "samples F1": (counts.f1("samples", zero_division=0),
                       sk.f1_score(y_true, y_pred, average="samples", sample_weight=weight, zero_division=0)),
        "subset accuracy": (counts.subset_accuracy(), sk.accuracy_score(y_true, y_pred, sample_weight=weight)),
        "macro ROC AUC": (scores.roc_auc("macro"), sk.roc_auc_score(y_true, y_score, sample_weight=weight)),
        "macro average precision": (scores.average_precision("macro"),
                                    sk.average_precision_score(y_true, y_score, sample_weight=weight)),
        "LRAP": (ranking.label_ranking_average_precision(),
                 sk.label_ranking_average_precision_score(y_true, y_score, sample_weight=weight)),
        "coverage error": (ranking.coverage_error(), sk.coverage_error(y_true, y_score, sample_weight=weight)),
    }
    print(f"{args.rows} rows x {args.labels} labels scored in {args.workers} worker processes, states merged:")
    print(f"{'metric':<26s}{'merged shards':>16s}{'scikit-learn':>16s}")
    for name, (ours, theirs) in checks.items():
        print(f"{name:<26s}{ours:16.12f}{theirs:16.12f}")
        assert abs(ours - theirs) <= 1e-12 * max(1.0, abs(theirs)), (name, ours, theirs)
    print("every merged value equals scikit-learn on the concatenated arrays")


if __name__ == "__main__":
    main()

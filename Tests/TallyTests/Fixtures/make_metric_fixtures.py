"""Records arrays and scikit-learn's answers for the metric suite's Swift tests.

Run from the repository root with the project's virtual environment:
    .venv/bin/python Tests/TallyTests/Fixtures/make_metric_fixtures.py
Writes, for case k in {0 (unweighted), 1 (weighted)}: metrics<k>_y_true.npy (bool),
metrics<k>_y_score.npy (float32, with ties), metrics<k>_weight.npy (case 1), and
metrics<k>_expected.npy: float64, the values in the order of EXPECTED below (per-label
blocks hold one value per label).
"""
import os
import warnings

import numpy as np
import sklearn.metrics as sk

HERE = os.path.dirname(os.path.abspath(__file__))
AVERAGES = ["micro", "macro", "weighted", "samples"]


def expected(y_true, y_score, weight):
    y_pred = y_score >= 0.5
    k = y_true.shape[1]
    kw = {"sample_weight": weight}
    out = []
    out += list(sk.jaccard_score(y_true, y_pred, average=None, zero_division=0, **kw))           # k
    out += [sk.jaccard_score(y_true, y_pred, average=a, zero_division=0, **kw) for a in AVERAGES]  # 4
    out += [sk.accuracy_score(y_true, y_pred, **kw), sk.hamming_loss(y_true, y_pred, **kw),
            sk.zero_one_loss(y_true, y_pred, **kw)]                                                # 3
    out += [sk.matthews_corrcoef(y_true[:, j], y_pred[:, j], **kw) for j in range(k)]            # k
    out += [sk.accuracy_score(y_true[:, j], y_pred[:, j], **kw) for j in range(k)]               # k
    out += list(sk.roc_auc_score(y_true, y_score, average=None, **kw))                           # k
    out += [sk.roc_auc_score(y_true, y_score, average=a, **kw) for a in AVERAGES]                # 4
    out += [sk.roc_auc_score(y_true, y_score, average="macro", max_fpr=0.3, **kw)]               # 1
    out += list(sk.average_precision_score(y_true, y_score, average=None, **kw))                 # k
    out += [sk.average_precision_score(y_true, y_score, average=a, **kw) for a in AVERAGES]      # 4
    out += [sk.label_ranking_average_precision_score(y_true, y_score, **kw),
            sk.coverage_error(y_true, y_score, **kw), sk.label_ranking_loss(y_true, y_score, **kw),
            sk.ndcg_score(y_true, y_score, **kw), sk.ndcg_score(y_true, y_score, k=3, **kw)]     # 5
    return np.array(out, dtype=np.float64)


def case(k, weighted, seed):
    rng = np.random.default_rng(seed)
    n, labels = 150, 6
    y_true = rng.random((n, labels)) < np.linspace(0.1, 0.6, labels)
    y_score = (np.round(rng.random((n, labels)) * 20) / 20).astype(np.float32)  # many ties
    y_score[:, 2] = np.where(y_true[:, 2], y_score[:, 2], 0.5)                  # ties at the threshold
    weight = rng.choice([0.0, 0.5, 1.0, 2.5], size=n) if weighted else None
    if weighted:
        weight[0] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = expected(y_true, y_score, weight)
    np.save(os.path.join(HERE, f"metrics{k}_y_true.npy"), y_true)
    np.save(os.path.join(HERE, f"metrics{k}_y_score.npy"), y_score)
    if weighted:
        np.save(os.path.join(HERE, f"metrics{k}_weight.npy"), weight)
    np.save(os.path.join(HERE, f"metrics{k}_expected.npy"), values)


case(0, False, 10)
case(1, True, 11)


# -- Curves, binned scores and per-row confusion (CurveTests.swift) ------------------------
#
# curves<k>_y_true.npy (bool), curves<k>_y_score.npy (float32), curves<k>_weight.npy (k >= 1),
# curves<k>_expected.npy: float64 blocks, each preceded by its length, in this order:
#   per label j:  confusion_matrix_at_thresholds: fps, tps, thresholds
#                 roc_curve (drop_intermediate=False, then True): fpr, tpr, thresholds
#                 precision_recall_curve (drop_intermediate=False, then True): precision, recall, thresholds
#   binned:       [bins, low, high]; roc_auc_score on the bin of each score: average=None, micro,
#                 macro, weighted; average_precision_score likewise; then roc_auc_score and
#                 average_precision_score (average=None) on the raw scores, which the binned
#                 intervals must hold
#   rows:         multilabel_confusion_matrix(y_true, y_score >= 0.5, samplewise=True) as
#                 [tn, fp, fn, tp] per row
CURVE_CASES = {
    # Unweighted: label 0 ties (tenths), 1 no positives, 2 one score for every row, 3 fine scores.
    0: dict(bins=10, low=0.0, high=1.0, weighted=False),
    # Weighted with weight-0 rows: 0 ties, 1 no positives, 2 fine scores, 3 a weight-0 row with
    # the only score above 0.95 (scikit-learn drops it before sorting: no threshold there).
    1: dict(bins=7, low=0.2, high=0.9, weighted=True),
    # Weighted: 0 ties, 1 no negatives, 2 fine scores, 3 ties in twentieths; 1000 bins.
    2: dict(bins=1000, low=0.0, high=1.0, weighted=True),
}


def binned_index(y_score, bins, low, high):
    """BinnedScores.bin in float64, as the Swift code computes it."""
    x = (y_score.astype(np.float64) - low) / (high - low) * bins
    return np.where(~(x > 0), 0, np.where(x >= bins, bins - 1, np.floor(np.where(x > 0, x, 0)))).astype(np.float64)


def curve_case(k, seed):
    spec = CURVE_CASES[k]
    rng = np.random.default_rng(seed)
    n, labels = 60, 4
    y_true = rng.random((n, labels)) < 0.4
    y_score = (np.round(rng.random((n, labels)) * 10) / 10).astype(np.float32)
    y_score[:, 2] = rng.random(n).astype(np.float32)
    y_score[:, 3] = rng.random(n).astype(np.float32)
    weight = rng.choice([0.0, 0.5, 1.0, 2.5], size=n) if spec["weighted"] else None
    if k == 0:
        y_true[:, 1] = False
        y_score[:, 2] = np.float32(0.7)
    elif k == 1:
        y_true[:, 1] = False
        y_score[:, 3] = np.minimum(y_score[:, 3], np.float32(0.95))
        y_score[5, 3], weight[5] = np.float32(0.99), 0.0
        weight[0] = 1.0
    else:
        y_true[:, 1] = True
        y_score[:, 3] = (np.round(rng.random(n) * 20) / 20).astype(np.float32)
    out = []

    def block(values):
        values = np.asarray(values, dtype=np.float64).ravel()
        out.append([len(values)])
        out.append(values)

    kw = {"sample_weight": weight}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(labels):
            t, s = y_true[:, j], y_score[:, j]
            _, fps, _, tps, thresholds = sk.confusion_matrix_at_thresholds(t, s, **kw)
            for a in (fps, tps, thresholds):
                block(a)
            for drop in (False, True):
                for a in sk.roc_curve(t, s, drop_intermediate=drop, **kw):
                    block(a)
            for drop in (False, True):
                for a in sk.precision_recall_curve(t, s, drop_intermediate=drop, **kw):
                    block(a)
        block([spec["bins"], spec["low"], spec["high"]])
        b = binned_index(y_score, spec["bins"], spec["low"], spec["high"])
        for metric in (sk.roc_auc_score, sk.average_precision_score):
            block(metric(y_true, b, average=None, **kw))
            for average in ("micro", "macro", "weighted"):
                block([metric(y_true, b, average=average, **kw)])
        block(sk.roc_auc_score(y_true, y_score, average=None, **kw))
        block(sk.average_precision_score(y_true, y_score, average=None, **kw))
        block(sk.multilabel_confusion_matrix(y_true, y_score >= 0.5, samplewise=True, **kw).reshape(n, 4))
    np.save(os.path.join(HERE, f"curves{k}_y_true.npy"), y_true)
    np.save(os.path.join(HERE, f"curves{k}_y_score.npy"), y_score)
    if weight is not None:
        np.save(os.path.join(HERE, f"curves{k}_weight.npy"), weight)
    np.save(os.path.join(HERE, f"curves{k}_expected.npy"), np.concatenate(out))


for k in CURVE_CASES:
    curve_case(k, 20 + k)

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

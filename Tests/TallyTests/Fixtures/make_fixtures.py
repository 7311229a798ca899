"""Records the arrays and scikit-learn's answers that the Swift tests check.

Run from the repository root with the project's virtual environment:
    .venv/bin/python Tests/TallyTests/Fixtures/make_fixtures.py
Each case k writes case<k>_y_true.npy (bool), case<k>_y_score.npy (float32),
optionally case<k>_weight.npy (float64), and scikit-learn's results:
case<k>_per_label.npy  float64 (3 zero_division [0, 1, nan], 4 [p, r, f1, support], n_labels)
case<k>_averaged.npy   float64 (4 average [micro, macro, weighted, samples], 3 zero_division, 3 [p, r, f1])
"""
import os

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

HERE = os.path.dirname(os.path.abspath(__file__))
ZERO_DIVISION = [0.0, 1.0, np.nan]
AVERAGES = ["micro", "macro", "weighted", "samples"]


def case(k, n, labels, density, weighted, seed):
    rng = np.random.default_rng(seed)
    y_true = rng.random((n, labels)) < density
    y_score = rng.random((n, labels)).astype(np.float32)
    # Edge cases: a label never true, a label never predicted, empty rows, scores at the threshold.
    y_true[:, 0] = False
    y_score[:, 1] = 0.1
    y_true[: n // 10] = False
    y_score[: n // 20] = 0.2
    y_score[n // 2, :] = 0.5
    weight = rng.random(n) * 3 if weighted else None
    y_pred = y_score >= 0.5
    per_label = np.zeros((3, 4, labels))
    averaged = np.zeros((4, 3, 3))
    for z, zd in enumerate(ZERO_DIVISION):
        p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=zd,
                                                     sample_weight=weight)
        per_label[z] = [p, r, f, s]
        for a, avg in enumerate(AVERAGES):
            averaged[a, z] = precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=zd,
                                                             sample_weight=weight)[:3]
    np.save(os.path.join(HERE, f"case{k}_y_true.npy"), y_true)
    np.save(os.path.join(HERE, f"case{k}_y_score.npy"), y_score)
    if weighted:
        np.save(os.path.join(HERE, f"case{k}_weight.npy"), weight)
    np.save(os.path.join(HERE, f"case{k}_per_label.npy"), per_label)
    np.save(os.path.join(HERE, f"case{k}_averaged.npy"), averaged)


case(0, 200, 7, 0.3, False, 0)
case(1, 500, 39, 0.1, False, 1)
case(2, 300, 5, 0.5, True, 2)


def reports():
    """scikit-learn's classification_report text for the recorded cases."""
    from sklearn.metrics import classification_report

    for k, weighted in ((0, False), (1, False), (2, True)):
        y_true = np.load(os.path.join(HERE, f"case{k}_y_true.npy"))
        y_pred = np.load(os.path.join(HERE, f"case{k}_y_score.npy")) >= 0.5
        weight = np.load(os.path.join(HERE, f"case{k}_weight.npy")) if weighted else None
        for digits in (2, 4):
            text = classification_report(y_true, y_pred, digits=digits, zero_division=0, sample_weight=weight)
            with open(os.path.join(HERE, f"case{k}_report_{digits}.txt"), "w") as f:
                f.write(text)


def number_formats():
    """Doubles (as bit patterns) with Python's format(x, '.Nf') and repr(x)."""
    import struct

    rng = np.random.default_rng(7)
    values = list(rng.random(300)) + list(rng.random(100) * 1000) + list(-rng.random(50))
    values += [0.0, -0.0, 0.5, 0.125, 0.375, 2.675, 1.005, 0.045, 1e-05, 1e-4, 1e16, 1e15, 123456789012345678.0,
               1234567890123456.0, 5e-324, 1.7976931348623157e308, 1 / 3, 2 / 3, 0.1, 0.7, 100.0, 1e22]
    values += [k / 1000 for k in range(0, 1001, 5)] + [k / 8 for k in range(40)]
    with open(os.path.join(HERE, "number_formats.txt"), "w") as f:
        for v in values:
            v = float(v)
            bits = struct.unpack("<Q", struct.pack("<d", v))[0]
            fixed = [format(v, f".{d}f") if abs(v) < 1e15 else "-" for d in (0, 2, 4)]
            f.write(f"{bits:016x} {' '.join(fixed)} {repr(v)}\n")


reports()
number_formats()

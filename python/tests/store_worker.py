"""Run by test_score_store.py in a fresh interpreter with TALLY_KERNEL set: stores batches
through the score store's fill kernel of that level, checks each stored score and truth
value and the refusals, and prints JSON with the level, the failures and a digest of every
state and value (which must be the same at every level)."""

import hashlib
import json
import warnings

import numpy as np

from tally import _tally
from tally.scores import ScoreTally


def main():
    failures, digest = [], hashlib.sha256()

    def check(ok, what):
        if not ok:
            failures.append(what)

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(11)
    for k in (1, 15, 16, 17, 39, 64, 65):
        for n in (1, 63, 64, 65, 129, 7000):
            where = f"k={k} n={n}"
            y_true = rng.random((n, k)) < 0.3
            y_score = rng.random((n, k), dtype=np.float32) - 0.25
            y_score[:, ::3] = np.round(y_score[:, ::3], 1)
            y_score[::4, -1] = -0.0
            for dtype in (np.float32, np.float64):
                acc = ScoreTally(k).update(y_true[:37], y_score[:37].astype(dtype)).update(y_true[37:], y_score[37:].astype(dtype))
                state = acc.to_bytes()
                digest.update(state)
                one = ScoreTally(k).update(y_true, y_score)
                check(state == one.to_bytes(), f"{where} {dtype.__name__}: batches differ from one batch")
                values = [acc.roc_auc(None), acc.average_precision(None), acc.roc_auc("micro"), acc.average_precision("micro")]
                for v in values:
                    digest.update(np.asarray(v, dtype=np.float64).tobytes())
                slow = ScoreTally(k).update(y_true, y_score, np.ones(n))
                check(np.array_equal(acc.roc_auc(None), slow.roc_auc(None), equal_nan=True), f"{where}: auc vs pair sort")
            # Stored keys read back through the curves: the thresholds are the distinct scores.
            if n > 1:
                fpr, tpr, thresholds = acc.roc_curve(0, drop_intermediate=False)
                expected = np.unique(np.where(y_score[:, 0] == 0, 0, y_score[:, 0]).astype(np.float64))[::-1]
                check(np.array_equal(thresholds[1:], expected), f"{where}: thresholds of label 0")
    y_true = rng.random((9000, 39)) < 0.3
    y_score = rng.random((9000, 39), dtype=np.float32)
    acc = ScoreTally(39).update(y_true[:50], y_score[:50])
    before = acc.to_bytes()
    for r, c, v in ((0, 0, np.nan), (8999, 38, np.inf), (4000, 20, -np.inf)):
        bad = y_score.copy()
        bad[r, c] = v
        try:
            acc.update(y_true, bad)
            check(False, f"{v} at ({r}, {c}) accepted")
        except ValueError as e:
            check(f"but got {'nan' if np.isnan(v) else ('inf' if v > 0 else '-inf')} at row {r}, column {c}" in str(e), f"message {e}")
        check(acc.to_bytes() == before, f"state changed by a refused {v}")
    bad = y_true.view(np.uint8).copy()
    bad[8000, 3] = 2
    try:
        acc.update(bad, y_score)
        check(False, "truth 2 accepted")
    except ValueError as e:
        check("but got 2 at row 8000, column 3" in str(e), f"message {e}")
    check(acc.to_bytes() == before, "state changed by a refused truth")
    print(json.dumps({"level": _tally.kernel_level(), "failures": failures, "digest": digest.hexdigest()}))


if __name__ == "__main__":
    main()

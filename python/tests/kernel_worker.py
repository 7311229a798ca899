"""Run by test_kernels.py in a fresh interpreter with TALLY_KERNEL set (the core picks its
kernel level once per process): checks the counting and ranking kernels of that level
against numpy, scikit-learn and the core's own row-by-row Swift loop, and prints JSON
with the level, the failures and a digest of every state and value, which must be the
same at every level."""

import hashlib
import json
import sys

import numpy as np
import sklearn.metrics as sk

import tally
from tally import _tally
from tally.scores import RankingTally


def main():
    failures, digest = [], hashlib.sha256()

    def check(ok, what):
        if not ok:
            failures.append(what)

    def refused(update, message, what):
        """`update()` must raise a ValueError whose text contains `message`."""
        try:
            update()
            failures.append(f"{what} accepted")
        except ValueError as e:
            check(message in str(e), f"{what} message: {e}")

    def counted_as_row_loop(t, p, s, where):
        """Counting bool, uint8 and float32 scores (the kernels) against the int8 row loop
        (Swift), state byte for byte, and the counts against numpy (p: s >= 0.5)."""
        n = t.shape[1]
        ref = tally.Tally(n).update(t.astype(np.int8), p)
        for name, acc in (("bool", tally.Tally(n).update(t, p)),
                          ("uint8", tally.Tally(n).update(t.view(np.uint8), p.view(np.uint8))),
                          ("float32", tally.Tally(n).update(t, s))):
            check(acc.to_bytes() == ref.to_bytes(), f"{where} {name}: state differs from the row loop")
            digest.update(acc.to_bytes())
        cm = ref.confusion_matrix()
        check((cm[:, 1, 1] == (t & p).sum(0)).all() and (cm[:, 0, 1] == (~t & p).sum(0)).all()
              and (cm[:, 1, 0] == (t & ~p).sum(0)).all(), f"{where}: counts differ from numpy")

    rng = np.random.default_rng(7)
    for n in (1, 7, 8, 39, 63, 64, 65, 130):
        for rows in (1, 254, 255, 256, 600, 9000):
            where = f"n={n} rows={rows}"
            t = rng.random((rows, n)) < rng.uniform(0.05, 0.9)
            s = rng.random((rows, n), dtype=np.float32)
            s[:, ::3] = np.round(s[:, ::3], 1)  # ties, and scores equal to the threshold
            p = s >= 0.5
            counted_as_row_loop(t, p, s, where)
            acc = tally.Tally(n).update(t, p)
            check(acc.subset_accuracy() == np.mean((t == p).all(1)), f"{where}: subset accuracy")
            f1 = acc.f1(average="samples", zero_division=0)
            tp, fp, fn = (t & p).sum(1), (~t & p).sum(1), (t & ~p).sum(1)
            denominator = 2 * tp + fp + fn
            per_row = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
            check(abs(f1 - per_row.mean()) < 1e-12, f"{where}: samples F1 {f1} vs {per_row.mean()}")
            # Per-label thresholds (float64, compared exactly).
            th = rng.uniform(0.2, 0.8, size=n)
            per = tally.Tally(n, threshold=th).update(t, s)
            pt = s.astype(np.float64) >= th
            check((per.confusion_matrix()[:, 1, 1] == (t & pt).sum(0)).all(), f"{where}: per-label thresholds")
            digest.update(per.to_bytes())
            # Ranking: bytes (kernels) against scikit-learn and the float64-truth row loop.
            if n >= 2:
                fast = RankingTally(n).update(t, s)
                slow = RankingTally(n).update(t.astype(np.float64), s)
                for name in ("label_ranking_average_precision_score", "coverage_error", "label_ranking_loss", "ndcg_score"):
                    short = {"label_ranking_average_precision_score": "label_ranking_average_precision",
                             "ndcg_score": "ndcg"}.get(name, name)
                    ours = getattr(fast, short)()
                    theirs = getattr(sk, name)(t, s)
                    check(abs(ours - theirs) <= 1e-12 * max(1, abs(theirs)), f"{where}: {name} {ours} vs {theirs}")
                    check(abs(ours - getattr(slow, short)()) <= 1e-12 * max(1, abs(ours)), f"{where}: {name} row loop")
                    digest.update(np.float64(ours).tobytes())
                check(fast.coverage_error() == slow.coverage_error(), f"{where}: coverage differs from the row loop")
                check(fast.label_ranking_loss() == slow.label_ranking_loss(), f"{where}: ranking loss row loop")
                cov = tally.metrics.coverage_error(t, s)  # the coverage-only kernel
                check(cov == fast.coverage_error(), f"{where}: coverage-only kernel")
                w = rng.uniform(0, 2, size=rows)
                check(abs(RankingTally(n).update(t, s, w).ndcg() - sk.ndcg_score(t, s, sample_weight=w)) < 1e-12,
                      f"{where}: weighted NDCG")
                check(abs(tally.metrics.coverage_error(t, s.astype(np.float64), sample_weight=w)
                          - sk.coverage_error(t, s, sample_weight=w)) < 1e-9, f"{where}: weighted float64 coverage")
    # One kernel call of more than 65280 rows (a batch below 2^21 values is not split): the
    # label sums' 16-bit lanes reach the counts several times, one label true and predicted
    # in every row (255 a flush, its lanes at 65280 when they are emptied).
    for n, rows in ((1, 1_500_000), (2, 700_000)):
        where = f"n={n} rows={rows} (one call)"
        t = rng.random((rows, n)) < 0.4
        s = rng.random((rows, n), dtype=np.float32)
        t[:, 0] = True
        s[:, 0] = 0.75
        counted_as_row_loop(t, s >= 0.5, s, where)
    # The counting kernels' row tables and the weighted kernel, on label counts around the
    # 16-lane and 64-label edges and row counts around the 255-row flush, the 2048-row table
    # and the threaded splits (weighted from 2^20 values: 17001 x 63 or 64; unweighted from
    # 2^21: 32769 x 64, 21000 x 100): many predicted labels put most rows' triples above 15.
    # Each state equals, byte for byte, the Swift row loop's (int8 truth takes it).
    cases = [(n, rows) for n in (1, 15, 16, 17, 63, 64, 65, 100) for rows in (1, 37, 300, 2047, 2049, 17001)]
    for n, rows in cases + [(64, 32769), (100, 21000)]:
        where = f"n={n} rows={rows}"
        t = rng.random((rows, n)) < rng.uniform(0.1, 0.7)
        s = rng.random((rows, n), dtype=np.float32)
        s[:, ::4] = np.round(s[:, ::4], 1)
        s[::5] = np.maximum(s[::5], 0.5)  # rows of many predicted labels
        p = s >= 0.5
        w = rng.uniform(-1, 3, size=rows)
        w[::7] = 0.0
        w[3::7] = -0.0
        th = rng.uniform(0.2, 0.8, size=n)
        slow_t = t.astype(np.int8)
        for name, fast, slow in (
                ("bool", lambda: tally.Tally(n).update(t, p), lambda: tally.Tally(n).update(slow_t, p)),
                ("float32", lambda: tally.Tally(n, threshold=th).update(t, s),
                 lambda: tally.Tally(n, threshold=th).update(slow_t, s)),
                ("weighted bool", lambda: tally.Tally(n).update(t, p, w), lambda: tally.Tally(n).update(slow_t, p, w)),
                ("weighted uint8", lambda: tally.Tally(n).update(t.view(np.uint8), p.view(np.uint8), w),
                 lambda: tally.Tally(n).update(slow_t, p, w)),
                ("weighted float32", lambda: tally.Tally(n, threshold=th).update(t, s, w),
                 lambda: tally.Tally(n, threshold=th).update(slow_t, s, w)),
                ("unweighted after weighted", lambda: tally.Tally(n).update(t[:1], p[:1], w[:1]).update(t, s),
                 lambda: tally.Tally(n).update(slow_t[:1], p[:1], w[:1]).update(slow_t, s))):
            a = fast()
            check(a.to_bytes() == slow().to_bytes(), f"{where} {name}: state differs from the row loop")
            digest.update(a.to_bytes())
        acc = tally.Tally(n).update(t, p)
        tp, fp, fn = (t & p).sum(1), (~t & p).sum(1), (t & ~p).sum(1)
        jaccard = np.where(tp + fp + fn > 0, tp / np.maximum(tp + fp + fn, 1), 1.0)
        check(abs(acc.jaccard(average="samples", zero_division=1) - jaccard.mean()) < 1e-12,
              f"{where}: samples Jaccard")
        # Small batches one after another (a training loop) equal one batch.
        steps = tally.Tally(n)
        for a in range(0, rows, 32):
            steps.update(t[a:a + 32], s[a:a + 32])
        check(steps.to_bytes() == tally.Tally(n).update(t, s).to_bytes(), f"{where}: batches of 32")
    # A bad value at the first or the last cell, in every kernel's batch shape: the row
    # loop's message, and the counts unchanged.
    for n in (16, 39, 64, 65):
        for rows in (32, 3000):
            t = rng.random((rows, n)) < 0.3
            s = rng.random((rows, n), dtype=np.float32)
            w = rng.uniform(0, 2, size=rows)
            for r, c in ((0, 0), (rows - 1, n - 1)):
                for weights in (None, w):
                    acc = tally.Tally(n).update(t[:5], s[:5])
                    before = acc.to_bytes()
                    bad = t.view(np.uint8).copy()
                    bad[r, c] = 2
                    where = f"n={n} rows={rows}"
                    for pred in (s, s >= 0.5):
                        refused(lambda: acc.update(bad, pred, weights),
                                f"Expected `y_true` to hold only 0 and 1, but got 2 at row {r}, column {c}",
                                f"{where}: truth 2")
                    nan = s.copy()
                    nan[r, c] = np.nan
                    refused(lambda: acc.update(t, nan, weights),
                            f"Expected `y_score` to hold numbers, but got nan at row {r}, column {c}", f"{where}: nan")
                    badp = (s >= 0.5).view(np.uint8).copy()
                    badp[r, c] = 3
                    refused(lambda: acc.update(t, badp, weights),
                            f"Expected `y_pred` to hold only 0 and 1, but got 3 at row {r}, column {c}",
                            f"{where}: prediction 3")
                    check(acc.to_bytes() == before, f"n={n} rows={rows}: a refused batch changed the counts")
    # Bad values are refused with the row loop's message, at every level.
    t = rng.random((300, 39)) < 0.3
    s = rng.random((300, 39), dtype=np.float32)
    s[123, 17] = np.nan
    for update in (lambda: tally.Tally(39).update(t, s), lambda: RankingTally(39).update(t, s),
                   lambda: tally.metrics.coverage_error(t, s)):
        refused(update, "nan at row 123, column 17", "nan score")
    bad = t.view(np.uint8).copy()
    bad[200, 5] = 2
    refused(lambda: tally.Tally(39).update(bad, s[:, :] * 0), "but got 2 at row 200, column 5", "truth 2")
    print(json.dumps({"level": _tally.kernel_level(), "failures": failures[:20], "digest": digest.hexdigest()}))


if __name__ == "__main__":
    sys.exit(main())

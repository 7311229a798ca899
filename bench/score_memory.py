"""Memory of the exact score store (`ScoreTally`), measured: bytes per (sample × label)
as the store reports them (`memory_bytes`) and as the process's resident memory grows.

The input arrays are made before the first reading, so the growth is the store's;
each case runs in a fresh process.
Swift arrays grow by doubling, so resident memory can exceed `memory_bytes` by up to
the last growth step; the last column says by how much it did here.

    .venv/bin/python bench/score_memory.py [--rows 1000000] [--labels 39] [--batch 10000]
"""
import argparse
import gc
import json

import numpy as np

from tally.scores import ScoreTally


def rss_bytes():
    """Resident set size now, from /proc (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os
    return pages * os.sysconf("SC_PAGE_SIZE")


def measure(rows, labels, batch, dtype, weighted):
    rng = np.random.default_rng(0)
    y_true = rng.random((batch, labels)) < 0.2
    y_score = rng.random((batch, labels)).astype(dtype)
    if dtype == np.float64:
        y_score += 1e-9  # float64 scores that float32 cannot hold: the store keeps 64-bit keys
    weight = rng.random(batch) if weighted else None
    gc.collect()
    before = rss_bytes()
    store = ScoreTally(labels)
    for _ in range(rows // batch):  # streamed, as an evaluation loop feeds it
        store.update(y_true, y_score, sample_weight=weight)
    grown = rss_bytes() - before
    cells = store.n_samples * labels
    return {"scores": np.dtype(dtype).name + (" (not float32-exact)" if dtype == np.float64 else ""),
            "weighted": weighted, "rows": store.n_samples, "labels": labels,
            "memory_bytes_per_cell": store.memory_bytes / cells, "rss_growth_per_cell": grown / cells}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--labels", type=int, default=39)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--json", action="store_true", help="print one JSON object per case")
    args = ap.parse_args(argv)
    cases = [(np.float32, False), (np.float32, True), (np.float64, False)]
    # Each case in a fresh process, so no case reuses memory another freed.
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(max_workers=1, max_tasks_per_child=1) as pool:
        results = [pool.submit(measure, args.rows, args.labels, args.batch, d, w).result() for d, w in cases]
    if args.json:
        for r in results:
            print(json.dumps(r))
        return results
    print(f"# exact score store: {args.rows} rows x {args.labels} labels, streamed in batches of {args.batch}")
    print(f"{'scores':<32s}{'weighted':>9s}{'memory_bytes/cell':>19s}{'RSS growth/cell':>17s}")
    for r in results:
        print(f"{r['scores']:<32s}{str(r['weighted']):>9s}{r['memory_bytes_per_cell']:19.3f}{r['rss_growth_per_cell']:17.3f}")
    return results


if __name__ == "__main__":
    main()

"""Throughput of tally.dask on a dask.distributed.LocalCluster against one process.

Writes a Parquet dataset (N rows x 39 labels: 0/1 truth and float32 scores, in
--files files), then scores it two ways in one run, with `Tally` alone and with
`Tally` + `ScoreTally` in one pass, from Parquet (the read included) and from memory:

- one process: pyarrow reads each file, or numpy blocks in memory (the anchor);
- `tally.dask.update` on a LocalCluster of --workers worker processes (one thread each):
  `dd.read_parquet`, or Dask arrays persisted on the workers; partitions counted on
  the workers, states merged in a tree.

Prints rows/s for each (median of --repeats), the ratio to the anchor, checks that both
give the same counts and ROC AUC, and the first lines of the report. The CPU line says
what machine (and how busy) the numbers are from.

    .venv/bin/python bench/bench_dask.py [--rows 1000000] [--files 16] [--workers 2] [--repeats 3]
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_line, kernel_line, seconds  # noqa: E402

import tally  # noqa: E402


def write_dataset(folder, rows, labels, files, seed=0):
    """--files Parquet files of skewed labels and informative float32 scores."""
    rng = np.random.default_rng(seed)
    frequency = np.linspace(0.02, 0.5, labels)
    for i, part in enumerate(np.array_split(np.arange(rows), files)):
        y = rng.random((len(part), labels)) < frequency
        s = np.clip(0.35 * y + rng.normal(0.3, 0.2, y.shape), 0, 1).astype(np.float32)
        columns = {f"y{j}": y[:, j] for j in range(labels)} | {f"s{j}": s[:, j] for j in range(labels)}
        pq.write_table(pa.table(columns), os.path.join(folder, f"part-{i:03d}.parquet"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--labels", type=int, default=39)
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import dask
    import dask.dataframe as dd
    import distributed

    import tally.dask

    k = args.labels
    labels, scores = [f"y{j}" for j in range(k)], [f"s{j}" for j in range(k)]
    print(cpu_line())
    print(kernel_line())
    print(f"# tally.dask: {args.rows} rows x {k} labels in {args.files} Parquet files; Tally, then Tally + "
          f"ScoreTally in one pass; median of {args.repeats}; dask {dask.__version__}, pyarrow {pa.__version__}")
    with tempfile.TemporaryDirectory() as folder:
        write_dataset(folder, args.rows, k, args.files)
        paths = sorted(os.path.join(folder, f) for f in os.listdir(folder))

        blocks = []  # the same rows in memory, one block per file

        def one_process(make, source):
            def run():
                accs = make()
                for i, path in enumerate(paths):
                    if source == "in memory":
                        y, s = blocks[i]
                    else:
                        table = pq.read_table(path)
                        y = np.column_stack([table[c].to_numpy() for c in labels])
                        s = np.column_stack([table[c].to_numpy() for c in scores])
                        if len(blocks) < len(paths):
                            blocks.append((y, s))
                    for acc in accs:
                        acc.update(y, s)
                return accs
            return run

        configs = {"Tally": lambda: (tally.Tally(k),),
                   "Tally + ScoreTally": lambda: (tally.Tally(k), tally.ScoreTally(k))}
        sources = ("Parquet", "in memory")
        local = {(name, source): seconds(one_process(make, source), args.repeats)
                 for source in sources for name, make in configs.items()}
        with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            df = dd.read_parquet(folder)
            # The same rows held by the workers: Dask arrays persisted from the frame.
            # (from the persisted frame: Dask would partition each column selection of a
            # Parquet read differently).
            frame = client.persist(df[labels + scores])
            y_mem = client.persist(frame[labels].to_dask_array(lengths=True))
            s_mem = client.persist(frame[scores].to_dask_array(lengths=True))
            del frame
            distributed.wait([y_mem, s_mem])
            inputs = {"Parquet": (df[labels], df[scores]), "in memory": (y_mem, s_mem)}
            tally.dask.update(tally.Tally(k), df[labels], df[scores])  # warm the workers (imports, first task)
            spread = {(name, source): seconds(lambda: tally.dask.update(make(), *inputs[source]), args.repeats)
                      for source in sources for name, make in configs.items()}

    rate = lambda s: args.rows / s  # noqa: E731
    print(f"{'accumulators':<20s}{'rows from':<11s}{'one process':>26s}{'LocalCluster':>26s}{'ratio':>7s}")
    for key in local:
        (local_s, local_accs), (cluster_s, accs) = local[key], spread[key]
        assert accs[0].to_bytes() == local_accs[0].to_bytes()
        if len(accs) > 1:
            assert np.array_equal(accs[1].roc_auc(average=None), local_accs[1].roc_auc(average=None))
        print(f"{key[0]:<20s}{key[1]:<11s}{local_s:7.2f} s {rate(local_s):10,.0f} rows/s"
              f"{cluster_s:7.2f} s {rate(cluster_s):10,.0f} rows/s{local_s / cluster_s:6.2f}x")
    counts, store = spread[("Tally + ScoreTally", "Parquet")][1]
    print(f"# LocalCluster: {args.workers} worker processes, one thread each; one process: pyarrow reads each file "
          f"(Parquet) or the blocks are numpy arrays (in memory; on the cluster, persisted Dask arrays)")
    print(f"# the same counts and ROC AUC both ways; the merged ScoreTally holds "
          f"{store.memory_bytes / (args.rows * k):.3f} bytes per score ({store.memory_bytes / 2**20:.0f} MiB)")
    print(f"micro F1 {counts.f1('micro'):.4f}, macro ROC AUC {store.roc_auc('macro'):.4f}")
    report = counts.report(digits=3).splitlines()
    print("\n".join(report[:6] + ["..."] + report[-5:]))


if __name__ == "__main__":
    main()

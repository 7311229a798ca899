"""Scoring Dask collections: each partition is counted on the worker that holds it,
and the partial states merge in a tree reduction.

A partition's rows go to fresh copies of the accumulators given (`Tally`,
`ScoreTally`, `BinnedScoreTally`, `RankingTally`, `CalibrationTally`) in one task; partial accumulators
travel as their pickled state (bytes of counts, or of the compact score store) and
merge by addition, ``split_every`` at a time, up to one. The result is the same object
a local run gives (`report()`, averages, per-label arrays), with the values of
scikit-learn on the concatenated arrays.

Imported only when used (``import tally.dask``: ``import tally`` never imports Dask);
needs ``pip install tally[dask]``. With a ``distributed.Client`` open, the work runs on
its cluster; without one, on Dask's local scheduler.

    import dask.dataframe as dd
    import tally, tally.dask

    df = dd.read_parquet("predictions/")                   # columns y0..y38 (0/1), s0..s38 (scores)
    counts, scores = tally.dask.update((tally.Tally(39), tally.ScoreTally(39)),
                                       df[[f"y{j}" for j in range(39)]], df[[f"s{j}" for j in range(39)]])
    print(counts.report(), scores.roc_auc(average=None))
"""

from __future__ import annotations

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
from dask.sizeof import sizeof

from .calibration import CalibrationTally
from .scores import BinnedScoreTally, RankingTally, ScoreTally
from .streaming import Tally

__all__ = ["update", "to_delayed"]

ACCUMULATORS = (Tally, ScoreTally, BinnedScoreTally, RankingTally, CalibrationTally)


@sizeof.register(ScoreTally)
def _score_store_size(acc):
    # The store's bytes, so Dask's scheduler keeps merges next to the larger partial states
    # and counts them in a worker's memory (the default would see a small Python object).
    return acc.memory_bytes + 64


def _as_accumulators(accumulators):
    """(tuple of accumulators, whether one was given alone); TypeError otherwise."""
    single = isinstance(accumulators, ACCUMULATORS)
    accs = (accumulators,) if single else accumulators
    if not isinstance(accs, (tuple, list)) or not accs or \
            not all(isinstance(a, ACCUMULATORS) for a in accs):
        got = type(accumulators).__name__ if single or not isinstance(accs, (tuple, list)) else \
            f"[{', '.join(type(a).__name__ for a in accs)}]"
        raise TypeError("Expected a Tally, ScoreTally, BinnedScoreTally, RankingTally or CalibrationTally (or a "
                        f"non-empty tuple of them), but got {got}")
    return tuple(accs), single


def _kind(x, name):
    if isinstance(x, da.Array):
        return "array"
    if isinstance(x, (dd.DataFrame, dd.Series)):
        return "frame"
    raise TypeError(f"Expected `{name}` to be a dask.array.Array or a dask.dataframe.DataFrame, "
                    f"but got {type(x).__module__}.{type(x).__name__}")


def _array_blocks(x, rows, name):
    """One delayed block per row chunk of `rows`, each holding every column."""
    if x.ndim not in (1, 2):
        raise ValueError(f"Expected `{name}` to be 1-D or 2-D, but got {x.ndim}-D")
    if x.shape[0] != sum(rows) and not np.isnan(x.shape[0]):
        raise ValueError(f"Expected `{name}` to have {sum(rows)} rows like `y_true`, but got {x.shape[0]}")
    x = x.rechunk({0: rows} if x.ndim == 1 else {0: rows, 1: -1})
    return list(x.to_delayed().ravel())


def _partitions(y_true, y_score, sample_weight):
    """One (layout, *delayed blocks) per task, aligned row for row: arrays give
    (None, y_true, y_score, sample_weight) blocks, frames (layout, one frame)."""
    kinds = {_kind(y_true, "y_true"), _kind(y_score, "y_score")}
    if sample_weight is not None:
        kinds.add(_kind(sample_weight, "sample_weight"))
    if len(kinds) != 1:
        raise TypeError("Expected `y_true`, `y_score` and `sample_weight` to be all dask arrays or all "
                        "dask DataFrames/Series (columns of one frame), but got a mix")
    if kinds == {"array"}:
        if y_true.ndim != 2:
            raise ValueError(f"Expected `y_true` to be 2-D (n_samples, n_labels), but got {y_true.ndim}-D")
        y_true = y_true.rechunk({1: -1})
        rows = y_true.chunks[0]
        if np.isnan(sum(rows)):
            raise ValueError("Expected `y_true` to have known chunk sizes, but they are unknown "
                             "(call `y_true.compute_chunk_sizes()` first)")
        parts = [list(y_true.to_delayed().ravel()), _array_blocks(y_score, rows, "y_score")]
        parts.append(_array_blocks(sample_weight, rows, "sample_weight") if sample_weight is not None
                     else [None] * len(parts[0]))
        return [(None, *blocks) for blocks in zip(*parts)]
    frames = [f for f in (y_true, y_score, sample_weight) if f is not None]
    if len({f.npartitions for f in frames}) != 1:
        raise ValueError("Expected `y_true`, `y_score` and `sample_weight` to have the same partitions "
                         f"(columns of one frame), but got {[f.npartitions for f in frames]} partitions")
    # One frame of their columns, read as one partition per task: each selection
    # converted alone may be partitioned differently (Dask fuses the files of a
    # Parquet read that needs few columns).
    parts = [_renamed(y_true, "t"), _renamed(y_score, "s")]
    if sample_weight is not None:
        parts.append(_renamed(sample_weight, "w"))
    combined = dd.concat(parts, axis=1)
    weight = None if sample_weight is None else \
        "series" if isinstance(sample_weight, dd.Series) else len(sample_weight.columns)
    layout = (len(parts[0].columns), len(parts[1].columns), weight)
    return [(layout, part) for part in combined.to_delayed()]


def _renamed(frame, prefix):
    """A frame's columns (or a Series) renamed by position, so that selections of one
    frame that share names can sit side by side."""
    if isinstance(frame, dd.Series):
        return frame.to_frame(name=f"{prefix}0")
    return frame.rename(columns=dict(zip(frame.columns, (f"{prefix}{i}" for i in range(len(frame.columns))))))


def _block(part):
    """A partition as the numpy array the accumulators read (a frame's columns in order)."""
    if part is None or isinstance(part, np.ndarray):
        return part
    values = part.to_numpy()
    if values.dtype == object:  # nullable or Arrow-backed columns: plain numbers, NA as nan
        values = part.to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def _split(layout, frame):
    """(y_true, y_score, sample_weight) of one partition of the combined frame."""
    n_true, n_score, weight = layout
    y_true, y_score = frame.iloc[:, :n_true], frame.iloc[:, n_true:n_true + n_score]
    w = None if weight is None else frame.iloc[:, n_true + n_score] if weight == "series" else \
        frame.iloc[:, n_true + n_score:]
    return y_true, y_score, w


def _count_partition(empty, layout, *blocks, index=0):
    """The map step, on the worker holding the partition: fresh accumulators, updated
    with the partition's blocks (y_true, y_score, sample_weight), or with the columns of
    one frame partition as `layout` says."""
    accs = tuple(a.copy() for a in empty)
    if layout is not None:
        blocks = _split(layout, blocks[0])
    yt, ys, w = (_block(b) for b in blocks)
    for acc in accs:
        if isinstance(acc, Tally) and acc._bootstrap is not None:
            # Bootstrap draws depend on row ids: partition `index` numbers its rows from
            # (index + 1) * 2**40, so no two partitions (nor the accumulator's own earlier
            # rows, numbered from 0) draw the same Poisson weights.
            acc.update(yt, ys, w, row_ids=(index + 1) << 40)
        else:
            acc.update(yt, ys, w)
    return accs


def _merge(*partials):
    """The reduce step: the first partial's copy plus the others (inputs are left as they
    are, since Dask may hand the same result to a retried task)."""
    out = tuple(a.copy() for a in partials[0])
    for partial in partials[1:]:
        for acc, other in zip(out, partial):
            acc.merge(other)
    return out


def to_delayed(accumulators, y_true, y_score, sample_weight=None, *, split_every=8):
    """A `dask.delayed` object holding new accumulators, configured as the given ones
    (labels, thresholds, …) and holding only the collection's rows; compute it together
    with other Dask work, then `merge` it where wanted.

    Parameters are those of `update`. The given accumulators are not changed.
    """
    accs, single = _as_accumulators(accumulators)
    if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"Expected `split_every` to be an int >= 2, but got {split_every!r}")
    empty = tuple(a.copy().reset() for a in accs)
    count = dask.delayed(_count_partition, pure=True)
    merge = dask.delayed(_merge, pure=True)
    level = [count(empty, *task, index=i) for i, task in enumerate(_partitions(y_true, y_score, sample_weight))]
    while len(level) > 1:  # a tree: each merge reads at most `split_every` partials
        level = [merge(*level[i:i + split_every]) for i in range(0, len(level), split_every)]
    result = level[0]
    return result[0] if single else result


def update(accumulators, y_true, y_score, sample_weight=None, *, split_every=8):
    """Add the rows of Dask collections to accumulators, partition by partition on the
    workers, and return them.

    Parameters
    ----------
    accumulators : Tally, ScoreTally, BinnedScoreTally, RankingTally, CalibrationTally, or a tuple of them
        Updated in place (their earlier state is kept, as with ``update``); several are
        updated in one pass over the data.
    y_true : dask.array.Array (n, n_labels) or dask.dataframe.DataFrame
        0/1 truth; a frame's columns in order are the labels.
    y_score : dask.array.Array or dask.dataframe.DataFrame
        Scores (or 0/1 predictions; probabilities for a `CalibrationTally`) of the same shape; frames must be columns of the same
        frame as ``y_true`` (same partitions), arrays are rechunked to ``y_true``'s rows.
    sample_weight : dask array / Series (n,) or (n, n_labels) array / DataFrame, optional
    split_every : int, default 8
        How many partial states one merge task adds up.

    Returns
    -------
    The accumulator (or the tuple of them), updated.

    Raises TypeError/ValueError naming what was expected (before anything runs for the
    collections' types and partitions; from the worker's ``update`` for bad values);
    the accumulators are unchanged then.
    """
    accs, single = _as_accumulators(accumulators)
    partial = to_delayed(accs, y_true, y_score, sample_weight, split_every=split_every).compute()
    for acc, other in zip(accs, partial):
        acc.merge(other)
    return accs[0] if single else accs

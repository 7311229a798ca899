"""Confidence intervals, computed by the Swift core:

- Wilson and Clopper–Pearson intervals of the proportions (precision, recall,
  specificity, npv, label accuracy), per label and micro-averaged, from the counts;
- a Poisson bootstrap for every counting metric and average, from replicate
  counts kept inside the accumulator (``Tally(n, bootstrap=200, seed=0)``);
- DeLong's interval of per-label ROC AUC from the exact score store, and DeLong's
  paired test of two models' AUC on the same rows (`tally.delong`).

Bootstrap draws: row ``r`` weighs ``w(seed, id(r), b)`` in replicate ``b``, a
Poisson(1) count that is a pure function of the seed, the row's id and ``b``
(`poisson_weights` gives them; the rule is in the core's ``PoissonDraws.swift``).
A row's id is by default its position in the accumulator's stream, so batching
changes nothing; accumulators over different rows that are merged later must pass
distinct ids (``update(..., row_ids=...)``: global row numbers or data-set indices),
and merged they equal one accumulator over all the rows.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from numbers import Real

from . import _tally
from ._convert import as_array, as_columns

__all__ = ["Interval", "DeLongTest", "proportion_interval", "poisson_weights"]

Interval = namedtuple("Interval", ["lower", "upper", "point"])
Interval.__doc__ = """Lower and upper bounds and the point estimate: arrays per label, floats for an average."""

DeLongTest = namedtuple("DeLongTest", ["auc_a", "auc_b", "variance", "z", "p_value"])
DeLongTest.__doc__ = """DeLong's paired test per label: both AUCs, var(AUC_A - AUC_B), z and the two-sided p-value."""


def _floats(raw):
    return np.frombuffer(raw, dtype=np.float64).copy()


def check_bootstrap(bootstrap):
    """None for no replicates; True for the core's default number; else an int >= 1 (0 or False: none)."""
    if bootstrap is None or bootstrap is False:
        return 0
    if bootstrap is True:
        return None
    if not isinstance(bootstrap, (int, np.integer)):
        raise TypeError(f"Expected `bootstrap` to be a bool or an int, but got {type(bootstrap).__name__}")
    if bootstrap < 0:
        raise ValueError(f"Expected `bootstrap` to be an int >= 0 (a number of replicates), but got {bootstrap}")
    return int(bootstrap)


def as_row_ids(row_ids, n_rows):
    """Row ids as int64: an int (the first of consecutive ids) or one id per row."""
    if row_ids is None:
        return None
    if isinstance(row_ids, (int, np.integer)) and not isinstance(row_ids, bool):
        if row_ids < 0:
            raise ValueError(f"Expected `row_ids` to be an int >= 0 or one id per row, but got {row_ids}")
        return np.arange(int(row_ids), int(row_ids) + n_rows, dtype=np.int64)
    ids = as_array(row_ids, "row_ids")
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"Expected `row_ids` to be an int or a 1-D array of ints, but got shape {ids.shape} "
                         f"and dtype {ids.dtype}")
    if ids.shape[0] != n_rows:
        raise ValueError(f"Expected `row_ids` to have {n_rows} values (one per row), but got {ids.shape[0]}")
    return np.ascontiguousarray(ids, dtype=np.int64)


# `Tally.to_bytes` with replicates: this tag, the counts' length (8 bytes, little
# endian), the counts' bytes, the replicates' bytes. Without replicates: the counts' bytes alone.
_STATE_TAG = b"TALLYBS1"


def pack_state(counts_bytes, bootstrap):
    if bootstrap is None:
        return counts_bytes
    return _STATE_TAG + len(counts_bytes).to_bytes(8, "little") + counts_bytes + _tally.bootstrap_serialize(bootstrap)


def unpack_state(data):
    """(counts bytes, replicates handle or None) from `pack_state` bytes."""
    if not data.startswith(_STATE_TAG):
        return data, None
    n = int.from_bytes(data[8:16], "little")
    if len(data) < 16 + n:
        raise ValueError(f"Expected bytes from Tally.to_bytes(), but they end early ({len(data)} bytes)")
    return data[16:16 + n], _tally.bootstrap_from_bytes(data[16 + n:])


def check_same_replicates(mine, theirs):
    """Refuses a state whose bootstrap replicates (their number, seed) differ from this accumulator's."""
    def describe(handle):
        if handle is None:
            return "no bootstrap replicates"
        info = _tally.bootstrap_info(handle)
        return f"bootstrap={info[1]}, seed={info[2]}"

    if describe(mine) != describe(theirs):
        raise ValueError(f"Expected a state with {describe(mine)} like this Tally, but got one with {describe(theirs)}")


def counts_interval(counts, bootstrap, metric, *, method, beta, average, zero_division, labels, level):
    """The core's interval of a counting metric (`Tally.confidence_interval`); the
    core parses every name and number."""
    if isinstance(zero_division, Real) and not isinstance(zero_division, bool):
        zero_division = float(zero_division)  # numpy scalars as Python floats
    lower, upper, point = _tally.counts_interval(counts, bootstrap, metric, method, float(beta), average,
                                                 zero_division, labels, float(level))
    result = Interval(_floats(lower), _floats(upper), _floats(point))
    if average is None:
        return result
    return Interval(*(float(v[0]) for v in result))


def proportion_interval(successes, trials, level=0.95, method="wilson"):
    """Interval of ``successes / trials`` (arrays or numbers) as statsmodels'
    ``proportion_confint(successes, trials, alpha=1 - level, method=...)`` with
    method ``"wilson"`` or ``"clopper_pearson"`` (statsmodels' ``"beta"``); nan
    where ``trials`` is 0. Returns ``(lower, upper)``."""
    s = np.atleast_1d(np.asarray(successes, dtype=np.float64))
    t = np.atleast_1d(np.asarray(trials, dtype=np.float64))
    s, t = np.broadcast_arrays(s, t)
    lower, upper = _tally.proportion_interval(np.ascontiguousarray(s.ravel()), np.ascontiguousarray(t.ravel()),
                                              float(level), method)
    lower, upper = _floats(lower).reshape(s.shape), _floats(upper).reshape(s.shape)
    if np.ndim(successes) == 0 and np.ndim(trials) == 0:
        return float(lower[0]), float(upper[0])
    return lower, upper


def poisson_weights(seed, row_ids, replicates):
    """The bootstrap's Poisson(1) weights of rows ``row_ids`` in replicates
    ``0..replicates-1``, shape (rows, replicates): what ``Tally(n, bootstrap=replicates,
    seed=seed)`` multiplies each row's sample weight by."""
    ids = np.ascontiguousarray(np.atleast_1d(row_ids), dtype=np.int64)
    return _floats(_tally.poisson_weights(int(seed), ids, int(replicates))).reshape(ids.shape[0], int(replicates))


def delong_interval(scores, metric, average, *, level, method, labels, return_variance):
    """`ScoreTally.confidence_interval`: checks the names, then the core's DeLong."""
    if metric != "roc_auc":
        raise ValueError(f"Expected `metric` to be 'roc_auc' for a ScoreTally interval, but got {metric!r}")
    if method != "delong":
        raise ValueError(f"Expected `method` to be 'delong' for a ScoreTally interval, but got {method!r}")
    if average is not None:
        raise ValueError(f"Expected `average` to be None (DeLong's interval is per label), but got {average!r}")
    lower, upper, auc, variance = _tally.scores_delong(scores._handle, float(level), as_columns(labels))
    result = Interval(_floats(lower), _floats(upper), _floats(auc))
    return (result, _floats(variance)) if return_variance else result

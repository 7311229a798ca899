"""Scores from the state, in backend ops (traced inside the train step), with
scikit-learn's rules for `zero_division` and averaging."""

from __future__ import annotations

from keras import ops

AVERAGES = (None, "micro", "macro", "weighted", "samples")


def _divide(numerator, denominator, zero_division):
    """numerator / denominator, `zero_division` where the denominator is 0 (sklearn's _prf_divide)."""
    zero = ops.equal(denominator, 0.0)
    safe = ops.where(zero, ops.ones_like(denominator), denominator)
    return ops.where(zero, ops.full_like(numerator, zero_division), numerator / safe)


def _nan_average(values, weights=None):
    """sklearn's _nanaverage: the mean of the non-nan values, weighted when the
    weights of those values do not sum to zero; nan when all are nan."""
    keep = ops.logical_not(ops.isnan(values))
    kept = ops.where(keep, values, ops.zeros_like(values))
    count = ops.sum(ops.cast(keep, values.dtype))
    plain = ops.sum(kept) / count  # 0 / 0 = nan when every value is nan
    if weights is None:
        return plain
    w = ops.where(keep, weights, ops.zeros_like(weights))
    total = ops.sum(w)
    nonzero = ops.not_equal(total, 0.0)
    weighted = ops.sum(kept * w) / ops.where(nonzero, total, ops.ones_like(total))
    return ops.where(nonzero, weighted, plain)


def _average(values, weights=None):
    """np.average, as sklearn's jaccard_score uses it: nan propagates."""
    if weights is None:
        return ops.mean(values)
    total = ops.sum(weights)
    nonzero = ops.not_equal(total, 0.0)
    weighted = ops.sum(values * weights) / ops.where(nonzero, total, ops.ones_like(total))
    return ops.where(nonzero, weighted, ops.mean(values))

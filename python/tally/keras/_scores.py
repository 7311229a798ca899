"""The metric rules that must also run in backend ops (traced inside the train
step, on the step's device): the F-beta fraction, `zero_division` division, the
averages and the samples average read from the summed state. Each mirrors one
rule of the Swift core (named in its docstring), and python/tests/test_core_rules.py
checks each against the core on the same numbers. Nothing else in tally.keras
computes a score."""

from __future__ import annotations

import math

from keras import ops

def fbeta_fraction(beta, tp, predicted, actual):
    """F-beta's (numerator, denominator) from tp, predicted (tp + fp) and actual
    (tp + fn) counts, per label or per row: the core's `FBeta.fraction` (β = 0 is
    precision, β = ∞ recall; otherwise undefined only when tp + fp + fn = 0)."""
    if beta == math.inf:
        return tp, actual
    if beta == 0:
        return tp, predicted
    b2 = beta * beta
    if b2 == 1:  # F1: the same values without the multiply by 1 (an op in a traced step)
        return 2 * tp, actual + predicted
    return (1 + b2) * tp, b2 * actual + predicted


def _divide(numerator, denominator, zero_division):
    """numerator / denominator, `zero_division` where the denominator is 0 (sklearn's
    _prf_divide, the core's `divide`)."""
    # One DivNoNan (0 where the denominator is 0, the quotient elsewhere): all of it for
    # zero_division 0; any other value replaces those zeros, a scalar broadcast by `where`
    # (not a filled tensor: one op fewer in a traced step).
    quotient = ops.divide_no_nan(numerator, denominator)
    if zero_division == 0:
        return quotient
    return ops.where(ops.equal(denominator, 0.0), ops.cast(zero_division, numerator.dtype), quotient)


def _nan_average(values, weights=None, may_be_nan=True):
    """sklearn's _nanaverage, the core's `averageScores(nan: .skip)`: the mean of the
    non-nan values, weighted when the weights of those values do not sum to zero;
    nan when all are nan. `may_be_nan=False` (a score whose zero_division is a number,
    so no label's value is nan): the same without the masks, five ops fewer in a traced
    step. Its plain mean is `ops.mean`: a TensorFlow graph divides by the count there,
    as the masked form does (the same bits), but turns a division by the constant label
    count into a multiply by its reciprocal (1 ulp of float32 apart in a fifth of
    cases). XLA (JAX, jit_compile) multiplies the mean by the reciprocal too, so there
    the two forms can differ by that ulp."""
    if may_be_nan:
        keep = ops.logical_not(ops.isnan(values))
        kept = ops.where(keep, values, ops.zeros_like(values))
        plain = ops.sum(kept) / ops.sum(ops.cast(keep, values.dtype))  # 0 / 0 = nan when every value is nan
    else:
        kept, plain = values, ops.mean(values)
    if weights is None:
        return plain
    w = ops.where(keep, weights, ops.zeros_like(weights)) if may_be_nan else weights
    total = ops.sum(w)
    nonzero = ops.not_equal(total, 0.0)
    weighted = ops.sum(kept * w) / ops.where(nonzero, total, ops.ones_like(total))
    return ops.where(nonzero, weighted, plain)


def _average(values, weights=None):
    """np.average, as sklearn's jaccard_score uses it, the core's
    `averageScores(nan: .propagate)`: nan propagates."""
    if weights is None:
        return ops.mean(values)
    total = ops.sum(weights)
    nonzero = ops.not_equal(total, 0.0)
    weighted = ops.sum(values * weights) / ops.where(nonzero, total, ops.ones_like(total))
    return ops.where(nonzero, weighted, ops.mean(values))


def samples_average(state, offsets, metric, zero_division):
    """scikit-learn's average="samples" of `metric` from the summed state (float
    values in the core's layout, `offsets` from `_tally.summed_layout`): the core's
    `SummedCounts.samplesAverage`. Undefined rows count as `zero_division`, or are
    left out when it is nan; weighted by sample weight unless every weight is 0."""
    base = offsets[metric]
    weighted_sum, defined_weight, plain_sum, defined_rows = (state[base + i] for i in range(4))
    rows, weight = state[offsets["rows"]], state[offsets["weight_sum"]]

    def safe(x):
        return ops.where(ops.equal(x, 0.0), ops.ones_like(x), x)

    if not math.isnan(zero_division):
        weighted = (weighted_sum + zero_division * (weight - defined_weight)) / safe(weight)
        plain = (plain_sum + zero_division * (rows - defined_rows)) / rows
        return ops.where(ops.not_equal(weight, 0.0), weighted, plain)
    return ops.where(ops.not_equal(defined_weight, 0.0), weighted_sum / safe(defined_weight),
                     plain_sum / defined_rows)


def _descending_cumsum(h):
    """Per row of (labels, bins): the weight in each bin and every bin above it."""
    return ops.flip(ops.cumsum(ops.flip(h, axis=-1), axis=-1), axis=-1)


def binned_roc_auc(pw, nw, pc, nc):
    """Per label (rows of (labels, bins) histograms), ROC AUC with every score of a bin
    tied: the core's `BinnedScores.rocAUC` (trapezoids over the bins from the top,
    `ThresholdCurve.rocAUC`), nan where a label lacks a class (any row counts,
    zero-weight rows too)."""
    tp = _descending_cumsum(pw)
    above = tp - pw  # positive weight strictly above each bin
    positives, negatives = tp[:, 0], ops.sum(nw, axis=-1)
    area = ops.sum(nw * (above + tp), axis=-1) / 2.0
    both = ops.logical_and(ops.greater(ops.sum(pc, axis=-1), 0.0), ops.greater(ops.sum(nc, axis=-1), 0.0))
    return ops.where(both, area / (positives * negatives), math.nan)


def binned_average_precision(pw, nw):
    """Per label, average precision with every score of a bin tied: the core's
    `ThresholdCurve.averagePrecision` over the bins from the top, Σ (ΔR) P; 0 for
    a label without positive weight (scikit-learn warns there)."""
    tp, fp = _descending_cumsum(pw), _descending_cumsum(nw)
    predicted = tp + fp
    precision = ops.where(ops.greater(predicted, 0.0), tp / ops.where(ops.greater(predicted, 0.0), predicted, 1.0), 0.0)
    positives = tp[:, 0]
    total = ops.sum(pw * precision, axis=-1)
    has = ops.greater(positives, 0.0)
    return ops.where(has, ops.maximum(total / ops.where(has, positives, 1.0), 0.0), 0.0)


def binary_score_average(values, weights):
    """scikit-learn's `_average_binary_score` over labels, the core's
    `averageScores(nan: .zeroWeightIsZero)`: the plain mean (a nan spreads) without
    weights; with them, a label of weight 0 counts as 0, and the average is 0 when
    the weights sum to about 0 (`binaryScoreWeightsVanish`)."""
    if weights is None:
        return ops.mean(values)
    kept = ops.where(ops.equal(weights, 0.0), ops.zeros_like(values), values)
    total = ops.sum(weights)
    vanish = ops.less_equal(ops.abs(total), 1e-8)
    return ops.where(vanish, 0.0, ops.sum(kept * weights) / ops.where(vanish, 1.0, total))

"""Calibration metrics in `fit` and `evaluate`: 'brier', 'log_loss', 'ece' and 'mce'
(optionally suffixed with '_' and an average: 'brier_micro', 'ece_weighted'),
computed through a `tally.CalibrationTally` (15 equal-width bins) over the model's
predictions. In `fit` they are logged for the validation data only (the training
pass keeps counts, not scores), from the one extra inference pass per epoch that the
ranked metrics ('roc_auc', 'ap', ...) use too."""

from __future__ import annotations

import numpy as np

from .. import _tally
from ..calibration import METRICS, CalibrationTally


def parse(spec):
    """(metric, average) for a calibration metric name, None for any other name."""
    for metric in METRICS:
        if spec == metric:
            return metric, None
        if spec.startswith(metric + "_"):
            average = spec[len(metric) + 1:]
            _tally.check_average(average, None, False)  # the core's one list of averages
            if average == "samples" and metric in ("ece", "mce"):
                raise ValueError(f"Expected an average among 'micro', 'macro', 'weighted' for {metric!r} "
                                 f"(a row has no bins), but got {spec!r}")
            return metric, average
    return None


def check_binary(y, where, weights=None):
    """Calibration scores 0/1 targets: soft ones are refused before training starts
    (entries a 2-D weight marks unknown, weight 0, are not read)."""
    binary = np.isin(y, (0, 1))
    if weights is not None and np.ndim(weights) == 2:
        binary |= weights == 0
    if not binary.all():
        raise ValueError(f"Expected `{where}` to hold 0/1 labels for calibration metrics ({', '.join(METRICS)}), "
                         "but got soft targets")


def logs(metrics, names, scores, predictions, prefix=""):
    """{key: float} of the calibration metrics among `metrics` on the model's `predictions`
    of `scores` = (x, y, sample_weight); nothing without predictions."""
    wanted = [m for m in metrics if getattr(m, "calibration", None)]
    if not wanted or predictions is None:
        return {}
    _, y, weights = scores
    cal = CalibrationTally(predictions.shape[1]).update(y, predictions, weights)
    get = {"brier": cal.brier_score, "log_loss": cal.log_loss, "ece": cal.expected_calibration_error,
           "mce": cal.maximum_calibration_error}
    out = {}
    for m in wanted:
        metric, average = m.calibration
        if average is None:
            out[prefix + m.name] = float(get[metric]("macro"))
            out.update({f"{prefix}{m.name}/{n}": float(v) for n, v in zip(names, get[metric](None))})
        else:
            out[prefix + m.name] = float(get[metric](average))
    return out

"""Scores from an epoch's stored validation scores, shared by `tally.keras.PerLabelReport`
and `tally.net`'s `fit`: exact per-label ROC AUC and average precision, thresholds tuned
per label, and the file that keeps the last or the best epoch's thresholds for inference.
Keras-free; the rules themselves are the core's (`ScoreTally`)."""

from __future__ import annotations

import math
import warnings

import numpy as np


def ranking_per_label(store):
    """{"roc_auc": per label, "ap": per label} of a `ScoreTally`, exact (nan ROC AUC for a
    label with one class, as scikit-learn; the warnings are left out of an epoch's logs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"roc_auc": store.roc_auc(average=None), "ap": store.average_precision(average=None)}


def mean_of_defined(values, undefined=None):
    """The mean of the values that are defined (not nan, not masked), nan when none is:
    what the logs call the macro value of a per-label score some labels lack."""
    values = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(values) if undefined is None else ~np.asarray(undefined, dtype=bool)
    return float(values[keep].mean()) if keep.any() else math.nan


def tune_arguments(tune, from_logits=False):
    """`tune` as `ScoreTally.tune_thresholds` keyword arguments: an objective name or a
    dict of them; None stays None."""
    if tune is None:
        return None
    if not isinstance(tune, (str, dict)):
        raise ValueError(f"Invalid `tune` argument value. Expected an objective name or a dict. Received: tune={tune!r}")
    if from_logits:
        raise ValueError("Invalid `tune` argument value: thresholds are tuned on probabilities, "
                         f"but from_logits=True. Received: tune={tune!r}")
    return {"objective": tune} if isinstance(tune, str) else dict(tune)


class ThresholdFile:
    """Writes tuned thresholds for inference after each epoch: the last epoch's
    (`monitor=None`), or those of the epoch where `monitor` (a log key such as
    "val_macro_f1", "val_tuned_f1" or "val_loss") was best so far. `mode` "auto"
    minimises keys ending in "loss" and maximises the rest; a nan never counts as
    better. `.json` keeps the whole result, `.npy` the thresholds alone."""

    def __init__(self, path, monitor=None, mode="auto"):
        if not str(path).endswith((".json", ".npy")):
            raise ValueError(f"Invalid `thresholds_path` argument value. Expected a .json or .npy path. "
                             f"Received: thresholds_path={path!r}")
        if monitor is not None and not isinstance(monitor, str):
            raise ValueError(f"Invalid `thresholds_monitor` argument value. Expected a log key. "
                             f"Received: thresholds_monitor={monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"Invalid `thresholds_mode` argument value. Expected 'auto', 'min' or 'max'. "
                             f"Received: thresholds_mode={mode!r}")
        self.path, self.monitor = path, monitor
        self.mode = mode if mode != "auto" else ("min" if (monitor or "").endswith("loss") else "max")
        self.best = None
        self.best_epoch = None

    def epoch_end(self, epoch, tuned, logs):
        """Writes `tuned` when this epoch is the one to keep; returns whether it wrote."""
        if self.monitor is not None:
            if self.monitor not in logs:
                raise KeyError(f"Expected the monitored value {self.monitor!r} in the logs, but got only "
                               f"{sorted(k for k in logs if '/' not in k)}")
            value = float(logs[self.monitor])
            if math.isnan(value):
                return False
            if self.best is not None and not (value < self.best if self.mode == "min" else value > self.best):
                return False
            self.best = value
        self.best_epoch = epoch
        tuned.save(self.path)
        return True

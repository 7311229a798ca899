"""`PerLabelReport`: an epoch-end callback that scores a whole validation set per
label through one `tally.Tally`, and the helpers that iterate its batches."""

from __future__ import annotations

import csv
import json
import math

import keras
import numpy as np

from .. import _tally
from ..calibration import CalibrationTally, check_metrics, log_entries
from ..epoch_scores import ThresholdFile, mean_of_defined, ranking_per_label, tune_arguments
from ..metrics import parse_zero_division
from ..scores import ScoreTally
from ..streaming import Tally
from .metrics import check_ignore_value, keras_argument


def _batches(data, steps):
    """Yields (x, y, sample_weight) batches of `data` for one pass."""
    if isinstance(data, keras.utils.PyDataset):
        n = len(data) if steps is None else min(steps, len(data))
        for i in range(n):
            yield _split(data[i])
        return
    if callable(data) and not hasattr(data, "__len__"):
        data = data()  # a factory of fresh iterables
    it = iter(data)
    count = 0
    while steps is None or count < steps:
        try:
            batch = next(it)
        except StopIteration:
            return
        yield _split(batch)
        count += 1


def _split(batch):
    if isinstance(batch, dict) or not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise ValueError("Expected validation batches of (x, y) or (x, y, sample_weight), "
                         f"but got {type(batch).__name__}")
    x, y = batch[0], batch[1]
    w = batch[2] if len(batch) == 3 else None
    return x, y, w


def _numpy(a):
    if a is None:
        return None
    if hasattr(a, "numpy") and not isinstance(a, np.ndarray):
        return np.asarray(a.numpy())
    return np.asarray(a)


def _is_arrays(data):
    """Whether `data` is Keras's `validation_data=(x, y[, sample_weight])` of arrays
    (rather than a dataset or a list of batches)."""
    return isinstance(data, tuple) and len(data) in (2, 3) and hasattr(data[1], "shape")


class PerLabelReport(keras.callbacks.Callback):
    """Scores a whole validation set per label at the end of each epoch, exactly.

    The predictions go through one `tally.Tally`; the scores are put into `logs`
    (so callbacks placed after this one — EarlyStopping, ModelCheckpoint,
    CSVLogger, History — see them) as `{prefix}{metric}/{label}` and
    `{prefix}{average}_{metric}`, e.g. `val_f1/cat` and `val_macro_f1`.

    Args:
        validation_data: `(x, y)` or `(x, y, sample_weight)` arrays, a
            `keras.utils.PyDataset`, a `tf.data.Dataset`, a re-iterable of batches,
            a function returning a fresh iterable, or an iterator (then give `steps`:
            it is read `steps` batches per epoch, as Keras reads `validation_steps`).
        threshold, from_logits, label_names: as `tally.Tally`.
        metrics: which of "precision", "recall", "f1", "support" to log per label.
        averages: which averages to log.
        zero_division: as scikit-learn; "warn" gives 0 silently here.
        batch_size: prediction batch size for arrays.
        steps: batches per epoch for datasets and iterators (default: all).
        print_every: print a per-label table every this many epochs (0: never).
        prefix: the log key prefix (default "val_").
        csv_path, json_path: where to write the per-epoch history after each epoch.
        ranking: also log exact per-label ROC AUC and average precision
            (`val_roc_auc/<label>`, `val_ap/<label>`, `val_macro_roc_auc`, `val_macro_ap`;
            nan for a label with one class), from every validation score.
        tune: an objective name ("f1", "youden", …) or a dict of `ScoreTally.tune_thresholds`
            arguments: also tune one threshold per label each epoch and log the value reached
            and the threshold (`val_tuned_f1/<label>`, `val_tuned_threshold/<label>`,
            `val_tuned_f1` the mean over defined labels). Not with `from_logits=True`.
        thresholds_path: write tuned thresholds there for inference (.json: the whole
            result, .npy: the thresholds), after each epoch: the last epoch's, or with
            `thresholds_monitor` (a log key, e.g. "val_tuned_f1", "val_macro_f1",
            "val_loss") those of the best epoch so far (`thresholds_mode` "auto", "min"
            or "max", as EarlyStopping's `mode`).
        calibration: also log calibration per label from every validation score: True for
            ("brier", "ece"), or a list of "brier", "log_loss", "ece", "mce"
            (`val_brier/<label>`, `val_ece/<label>` and `val_<average>_brier`, … for each of
            `averages`; ECE/MCE have no "samples"). Not with `from_logits=True`.
        n_bins: equal-width bins of the ECE/MCE (`tally.CalibrationTally`).
        ignore_value: marks unknown entries of the validation `y` (e.g. -1; nan marks
            nan): each label is scored on the rows where it is known (README "Missing labels").

    Attributes:
        history: one dict per scored epoch: `{"epoch": e, "val_f1/cat": ..., ...}`.
        tally: the accumulator of the last scored epoch.
        tuned: the last epoch's `tally.thresholds.TunedThresholds` (with `tune`).
        thresholds_epoch: the epoch whose thresholds are in `thresholds_path`.
        calibration_tally: the last epoch's `tally.CalibrationTally` (with `calibration`).
    """

    METRICS = ("precision", "recall", "f1", "support")

    def __init__(self, validation_data, *, threshold=0.5, from_logits=False, label_names=None,
                 metrics=("precision", "recall", "f1"), averages=("micro", "macro", "weighted", "samples"),
                 zero_division=0.0, batch_size=None, steps=None, print_every=1, prefix="val_",
                 csv_path=None, json_path=None, ranking=False, tune=None, thresholds_path=None,
                 thresholds_monitor=None, thresholds_mode="auto",
                 calibration=None, n_bins=15, ignore_value=None):
        super().__init__()
        bad = [m for m in metrics if m not in self.METRICS]
        if bad or isinstance(metrics, str):
            raise ValueError(f"Invalid `metrics` argument value. Expected a list of {self.METRICS}. "
                             f"Received: metrics={metrics!r}")
        if isinstance(averages, str):
            raise ValueError(f"Invalid `averages` argument value. Expected a list of names. Received: averages={averages!r}")
        for a in averages:
            keras_argument("averages", averages, lambda _: _tally.check_average(a, None, False))
        if isinstance(print_every, bool) or not isinstance(print_every, int) or print_every < 0:
            raise ValueError(f"Invalid `print_every` argument value. Expected an int >= 0. "
                             f"Received: print_every={print_every!r}")
        # Scored after the epoch without warnings: the core's value of an undefined score (0 for "warn").
        zd = keras_argument("zero_division", zero_division,
                            lambda z: _tally.zero_division_value(parse_zero_division(z)))
        self.validation_data = validation_data
        self.threshold = threshold
        self.from_logits = from_logits
        self.label_names = None if label_names is None else [str(n) for n in label_names]
        self.metrics = tuple(metrics)
        self.averages = tuple(averages)
        self.zero_division = zd
        self.batch_size = batch_size
        self.steps = steps
        self.print_every = print_every
        self.prefix = prefix
        self.csv_path = csv_path
        self.json_path = json_path
        self.history = []
        self.tally = None
        self.ranking = bool(ranking)
        self.tune = tune_arguments(tune, from_logits)
        if thresholds_path is not None and self.tune is None:
            raise ValueError("Invalid `thresholds_path` argument value. Expected a .json or .npy path, with `tune`. "
                             f"Received: thresholds_path={thresholds_path!r}")
        self._thresholds_file = None if thresholds_path is None else ThresholdFile(thresholds_path, thresholds_monitor,
                                                                                   thresholds_mode)
        self.thresholds_path = thresholds_path
        check_ignore_value(ignore_value)
        self.ignore_value = ignore_value
        self.tuned = None
        self._store = None
        if calibration is True:
            calibration = ("brier", "ece")
        if calibration and from_logits:
            raise ValueError("Invalid `calibration` argument value: calibration reads probabilities, "
                             f"but from_logits=True. Received: calibration={calibration!r}")
        self.calibration = keras_argument("calibration", calibration, check_metrics) if calibration else ()
        if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
            raise ValueError(f"Invalid `n_bins` argument value. Expected an int >= 1. Received: n_bins={n_bins!r}")
        self.n_bins = n_bins
        self.calibration_tally = None

    @property
    def thresholds_epoch(self):
        return None if self._thresholds_file is None else self._thresholds_file.best_epoch

    def score(self):
        """A `tally.Tally` over the whole validation set, predicted by the model now."""
        acc = None
        data = self.validation_data
        if _is_arrays(data):
            x, y = data[0], data[1]
            w = data[2] if len(data) == 3 else None
            pred = self.model.predict(x, batch_size=self.batch_size, verbose=0)
            acc = self._new_tally(np.shape(pred)[-1] if np.ndim(pred) == 2 else 1)
            acc.update(_numpy(y), np.asarray(pred), None if w is None else _numpy(w))
            if self._store is not None:
                self._store.update(_numpy(y), np.asarray(pred), None if w is None else _numpy(w))
            if self.calibration_tally is not None:
                self.calibration_tally.update(_numpy(y), np.asarray(pred), None if w is None else _numpy(w))
            return acc
        for x, y, w in _batches(data, self.steps):
            pred = np.asarray(self.model.predict_on_batch(x))
            if acc is None:
                acc = self._new_tally(pred.shape[-1] if pred.ndim == 2 else 1)
            acc.update(_numpy(y), pred, _numpy(w))
            if self._store is not None:
                self._store.update(_numpy(y), pred, _numpy(w))
            if self.calibration_tally is not None:
                self.calibration_tally.update(_numpy(y), pred, _numpy(w))
        if acc is None:
            raise ValueError("Expected the validation data to yield at least one batch, but it yielded none")
        return acc

    def _new_tally(self, n_labels):
        if self.ranking or self.tune is not None:
            self._store = ScoreTally(n_labels, ignore_value=self.ignore_value)
        if self.calibration:
            self.calibration_tally = CalibrationTally(n_labels, self.n_bins, ignore_value=self.ignore_value)
        return Tally(n_labels, self.threshold, from_logits=self.from_logits, label_names=self.label_names,
                     ignore_value=self.ignore_value)

    def ranked_scores(self, names):
        """Log entries from the stored scores: ROC AUC, AP and the tuned thresholds."""
        out = {}
        store, pre = self._store, self.prefix
        if self.ranking:
            for key, values in ranking_per_label(store).items():
                for name, v in zip(names, values):
                    out[f"{pre}{key}/{name}"] = float(v)
                out[f"{pre}macro_{key}"] = mean_of_defined(values)
        if self.tune is not None:
            self.tuned = store.tune_thresholds(**self.tune)
            key = self.tuned.objective
            for name, v, t in zip(names, self.tuned.values, self.tuned.thresholds):
                out[f"{pre}tuned_{key}/{name}"] = float(v)
                out[f"{pre}tuned_threshold/{name}"] = float(t)
            out[f"{pre}tuned_{key}"] = mean_of_defined(self.tuned.values, self.tuned.undefined)
        return out

    def scores(self, acc):
        """The log entries for one accumulator."""
        names = acc.names()
        out = {}
        zd = self.zero_division
        p, r, f, s = acc.precision_recall_fscore_support(zero_division=zd, warn_for=())
        per = {"precision": p, "recall": r, "f1": f, "support": s}
        for m in self.metrics:
            for name, v in zip(names, per[m]):
                out[f"{self.prefix}{m}/{name}"] = float(v)
        for a in self.averages:
            ap, ar, af, _ = acc.precision_recall_fscore_support(average=a, zero_division=zd, warn_for=())
            for m, v in (("precision", ap), ("recall", ar), ("f1", af)):
                if m in self.metrics:
                    out[f"{self.prefix}{a}_{m}"] = float(v)
        return out

    def on_epoch_end(self, epoch, logs=None):
        # Write into the dict Keras passes on (not a copy), so later callbacks see the scores.
        logs = logs if logs is not None else {}
        acc = self.score()
        self.tally = acc
        entries = self.scores(acc)
        if self._store is not None:
            entries.update(self.ranked_scores(acc.names()))
            self._store = None
        if self.calibration:
            entries.update(log_entries(self.calibration_tally, acc.names(), metrics=self.calibration,
                                       averages=self.averages, prefix=self.prefix))
        logs.update(entries)
        if self._thresholds_file is not None:
            # After the update, so the monitor may be any key in the logs, this callback's too.
            self._thresholds_file.epoch_end(epoch, self.tuned, logs)
        self.history.append({"epoch": epoch, **entries})
        if self.print_every and (epoch + 1) % self.print_every == 0:
            print(f"\nEpoch {epoch + 1}: per-label scores on {acc.n_samples} validation rows\n"
                  + acc.report(zero_division=self.zero_division), flush=True)
        if self.csv_path:
            self.to_csv(self.csv_path)
        if self.json_path:
            self.to_json(self.json_path)

    def to_csv(self, path):
        """Writes the per-epoch history, one row per epoch."""
        keys = ["epoch"] + sorted({k for row in self.history for k in row if k != "epoch"})
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.history)

    def to_json(self, path):
        """Writes the per-epoch history as a JSON list (nan as null)."""
        clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                 for row in self.history]
        with open(path, "w") as fh:
            json.dump(clean, fh, indent=1)

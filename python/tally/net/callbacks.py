"""Keras's callback contract for `fit`: `Callback`, `History`, `EarlyStopping`,
`ProgressBar`, `SaveThresholds`, and the dispatch of each hook to every callback."""

from __future__ import annotations

import sys
import time

from ..epoch_scores import ThresholdFile
from ..progress import check_every, check_keys, compact, per_label_table

class Callback:
    """Keras's callback contract: hooks receive a `logs` dict; set
    ``self.model.stop_training = True`` to stop after the current batch or epoch.
    Keras's own callbacks (EarlyStopping, CSVLogger, ...) work as well."""

    def __init__(self):
        self.params = None
        self.model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)


class History(Callback):
    """What `fit` returns: ``history[key]`` is a list with one value per epoch
    (``loss``, ``f1``, ``f1/<label>``, ``val_loss``, ...); ``tallies`` and
    ``val_tallies`` hold each epoch's exact counts as `tally.Tally` objects, for
    reports (``history.val_tallies[-1].report()``); ``tuned`` each epoch's thresholds
    tuned on the validation data by a ``tuned_<objective>`` metric (else None)."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []
        self.tallies = []
        self.val_tallies = []
        self.tuned = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)


class EarlyStopping(Callback):
    """Stops when `monitor` has not improved by `min_delta` for `patience` epochs.
    ``mode='auto'`` minimises losses and maximises scores."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", restore_best_weights=False):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"Invalid `mode` argument value: expected 'auto', 'min' or 'max'. Received: mode={mode!r}")
        self.monitor, self.patience, self.restore_best_weights = monitor, int(patience), bool(restore_best_weights)
        self.min_delta = abs(float(min_delta))
        self.mode = mode if mode != "auto" else ("min" if monitor.endswith("loss") else "max")
        self.stopped_epoch = 0
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait, self.best, self.best_weights, self.stopped_epoch = 0, None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"Expected the monitored value {self.monitor!r} in the logs, but got only "
                           f"{sorted(k for k in logs if '/' not in k)}")
        value = logs[self.monitor]
        better = (self.best is None or
                  (value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta))
        if better:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ProgressBar(Callback):
    """The Keras-style progress bar that ``fit(verbose=1)`` prints (``verbose=2``: one
    line per epoch). Per-label scalars are left out of the line (they are in the logs);
    pass one in `callbacks` to print them as a table every `table_every` epochs, or to
    choose the line's `keys` (it then replaces the default bar).

    Args:
        verbose: 1, the bar; 2, one line per epoch; 0, nothing.
        table_every: print the per-label values of the logs as one table every this
            many epochs (0: never); `digits` decimals.
        keys: the log keys the line prints, in this order (default: all but per-label).
    """

    def __init__(self, verbose=1, stream=None, interval=0.1, table_every=0, digits=2, keys=None):
        super().__init__()
        self.verbose, self.stream, self.interval = verbose, stream, interval
        self.table_every = check_every(table_every)
        self.digits = int(digits)
        self.keys = check_keys(keys)

    def _out(self):
        return self.stream or sys.stdout

    def on_epoch_begin(self, epoch, logs=None):
        self.start = self.last = time.perf_counter()
        self.seen = 0
        self.dynamic = self.verbose == 1 and getattr(self._out(), "isatty", lambda: False)()
        if self.verbose:
            print(f"Epoch {epoch + 1}/{self.params['epochs']}", file=self._out(), flush=True)

    def _line(self, step, logs, final):
        steps = self.params["steps"]
        elapsed = time.perf_counter() - self.start
        width = 30
        done = int(width * step / max(steps, 1))
        bar = "=" * max(done - 1, 0) + (">" if done < width else "=") + "." * (width - done)
        head = f"{step:{len(str(steps))}d}/{steps} [{bar}]"
        if final:
            timing = f" - {elapsed:.0f}s {1000 * elapsed / max(step, 1):.0f}ms/step"
        else:
            timing = f" - ETA: {elapsed / max(step, 1) * (steps - step):.0f}s"
        values = "".join(f" - {k}: {v:.4f}" for k, v in compact(logs, self.keys).items() if isinstance(v, float))
        return head + timing + values

    def on_train_batch_end(self, batch, logs=None):
        if not self.dynamic:
            return
        now = time.perf_counter()
        if now - self.last >= self.interval:
            self.last = now
            print("\r" + self._line(batch + 1, logs, False), end="", file=self._out(), flush=True)

    def on_epoch_end(self, epoch, logs=None):
        if not self.verbose:
            return
        prefix = "\r" if self.dynamic else ""
        print(prefix + self._line(self.params["steps"], logs, True), file=self._out(), flush=True)
        if self.table_every and (epoch + 1) % self.table_every == 0:
            table = per_label_table(logs, self.digits)
            if table:
                print(f"Epoch {epoch + 1}: per-label values\n{table}", end="", file=self._out(), flush=True)


class SaveThresholds(Callback):
    """Writes the thresholds a ``tuned_<objective>`` metric tuned on the validation data,
    for inference: after each epoch the last epoch's, or with `monitor` (a log key, e.g.
    "val_tuned_f1", "val_f1" or "val_loss") those of the best epoch so far. ``.json``
    keeps the whole result (`tally.thresholds.TunedThresholds.load`), ``.npy`` the
    thresholds alone. ``epoch`` is the epoch written."""

    def __init__(self, path, monitor=None, mode="auto"):
        super().__init__()
        self.file = ThresholdFile(path, monitor, mode)

    @property
    def epoch(self):
        return self.file.best_epoch

    def on_epoch_end(self, epoch, logs=None):
        history = getattr(self.model, "history", None)
        tuned = history.tuned[-1] if history is not None and getattr(history, "tuned", None) else None
        if tuned is None:
            raise ValueError("Expected thresholds tuned this epoch (a 'tuned_f1' or 'tuned_youden' metric and "
                             "validation data), but got none")
        self.file.epoch_end(epoch, tuned, logs or {})


class _Callbacks:
    """Dispatches each hook to every callback (Keras's `CallbackList`)."""

    def __init__(self, callbacks, model, params):
        self.items = list(callbacks)
        for c in self.items:
            for hook in ("on_train_begin", "on_epoch_end"):
                if not callable(getattr(c, hook, None)):
                    raise TypeError(f"Expected callbacks with Keras's hooks (on_train_begin, on_epoch_end, ...), "
                                    f"but got {type(c).__name__}")
            if hasattr(c, "set_model"):
                c.set_model(model)
            if hasattr(c, "set_params"):
                c.set_params(params)
        self.batch_hooks = [c for c in self.items
                            if _overrides(c, "on_train_batch_end") or _overrides(c, "on_batch_end")
                            or _overrides(c, "on_train_batch_begin") or _overrides(c, "on_batch_begin")]

    def call(self, hook, *args):
        for c in self.items:
            f = getattr(c, hook, None)
            if f is not None:
                f(*args)

    def call_batch(self, hook, *args):
        for c in self.batch_hooks:
            # A duck-typed callback may have only Keras 2's names (on_batch_end).
            f = getattr(c, hook, None) or getattr(c, hook.replace("train_", ""), None)
            if f is not None:
                f(*args)


def _overrides(callback, hook):
    """Whether `callback` does something in `hook` (skips the per-batch Python call otherwise)."""
    f = getattr(type(callback), hook, None)
    if f is None:
        return False
    for base in (Callback,) + _keras_callback_base():
        if f is getattr(base, hook, None):
            return False
    return True


def _keras_callback_base():
    keras = sys.modules.get("keras")
    base = getattr(getattr(keras, "callbacks", None), "Callback", None)
    return (base,) if base is not None else ()

"""`tally.net`: the Swift CNN trainer (TallyNet) behind a Keras-like face.

Build a `Sequential` model from a list of layers (or import a Keras `Sequential`
with `from_keras`), `compile` it, and `fit` it on numpy arrays. Each epoch's
metrics are exact: they come from the integer confusion counts of every
prediction made in the epoch (a `tally.Tally`), not from averages of batch
values, and per-label values reach the logs as scalars (``val_f1/3``).

>>> import tally.net as tn
>>> model = tn.Sequential([
...     tn.Conv2D(32, (3, 3), padding="same", activation="relu", kernel_constraint=tn.MaxNorm(3)),
...     tn.MaxPooling2D((2, 2)),
...     tn.Flatten(),
...     tn.Dense(10, activation="sigmoid"),
... ], input_shape=(24, 24, 1))
>>> model.compile(optimizer=tn.SGD(0.01, momentum=0.9), loss="binary_crossentropy")
>>> history = model.fit(x, y, epochs=5, validation_data=(xv, yv), metrics=["f1", "precision_micro"])  # doctest: +SKIP
>>> history.history["val_f1/3"]                                                                      # doctest: +SKIP

``sample_weight``/``class_weight`` weigh the loss and the metrics as Keras 3 does;
``model.save(path)`` and ``tally.net.load_model(path)`` keep the layers, weights,
compile configuration and optimizer state in one ``.npz`` file, so that training
resumes bit for bit (``fit(..., initial_epoch=k)``).

Training runs in Swift with the GIL released; callbacks run in Python between
batches (``on_train_batch_end``) and epochs; Ctrl-C stops after the current batch
and raises KeyboardInterrupt with the model in a consistent state. This module
never imports Keras unless `from_keras` is given a Keras model.
"""

from __future__ import annotations

import math
import sys
import time
from numbers import Integral, Real

import numpy as np

from . import _tally
from ._convert import as_array, as_matrix
from .streaming import Tally

__all__ = [
    "Sequential", "from_keras", "seed_model", "load_model", "class_weight_to_sample_weights",
    "Input", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Activation",
    "MaxNorm", "SGD", "Adam",
    "Callback", "History", "EarlyStopping", "ProgressBar",
]

_ACTIVATIONS = ("linear", "relu", "sigmoid", "softmax")
_PADDINGS = ("valid", "same")
_SCORES = ("precision", "recall", "f1")
_AVERAGES = ("micro", "macro", "weighted", "samples")
_LOSSES = ("binary_crossentropy", "categorical_crossentropy")


# -- argument checks -------------------------------------------------------------------

def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"Invalid `{name}` argument value: expected a positive int. Received: {name}={value!r}")
    return int(value)


def _pair(value, name):
    """An int or a pair of ints, as Keras's `kernel_size`/`strides`/`pool_size`."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        value = (value, value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"Invalid `{name}` argument value: expected an int or a pair of ints. "
                         f"Received: {name}={value!r}") from None
    return _positive_int(a, name), _positive_int(b, name)


def _number(value, name, *, low=0.0, high=math.inf, high_open=False):
    if isinstance(value, bool) or not isinstance(value, Real) or math.isnan(value) or value < low \
            or value > high or (high_open and value == high):
        bound = f"in [{low}, {high})" if high_open else (f">= {low}" if high == math.inf else f"in [{low}, {high}]")
        raise ValueError(f"Invalid `{name}` argument value: expected a number {bound}. Received: {name}={value!r}")
    return float(value)


def _activation(value):
    if value is None:
        return None
    if not isinstance(value, str) or value not in _ACTIVATIONS:
        raise ValueError(f"Invalid `activation` argument value: expected None or one of {_ACTIVATIONS}. "
                         f"Received: activation={value!r}")
    return None if value == "linear" else value


def _padding(value):
    if not isinstance(value, str) or value.lower() not in _PADDINGS:
        raise ValueError(f"Invalid `padding` argument value: expected 'valid' or 'same'. Received: padding={value!r}")
    return value.lower()


def _shape(value, name):
    if isinstance(value, Integral) and not isinstance(value, bool):
        value = (value,)
    try:
        shape = tuple(value)
    except TypeError:
        raise ValueError(f"Invalid `{name}` argument value: expected a tuple of positive ints. "
                         f"Received: {name}={value!r}") from None
    if not shape or any(isinstance(d, bool) or not isinstance(d, Integral) or d < 1 for d in shape):
        raise ValueError(f"Invalid `{name}` argument value: expected a tuple of positive ints. Received: {name}={value!r}")
    return tuple(int(d) for d in shape)


# -- constraints and layers --------------------------------------------------------------

class MaxNorm:
    """Keras's `MaxNorm(max_value, axis)` kernel constraint, applied after every update:
    ``w *= clip(norm, 0, max_value) / (1e-7 + norm)`` with norms taken over `axis`.

    The default ``axis=0`` is Keras's (for a Conv2D kernel that is a norm per kernel
    column position, not per filter). ``axis=None`` takes one norm per output unit or
    filter (all axes but the last), the usual meaning of "max-norm" in papers.
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = _number(max_value, "max_value")
        if axis is None:
            self.axis = None
        else:
            axes = (axis,) if isinstance(axis, Integral) and not isinstance(axis, bool) else tuple(axis)
            if not axes or any(isinstance(a, bool) or not isinstance(a, Integral) for a in axes):
                raise ValueError(f"Invalid `axis` argument value: expected an int, a tuple of ints or None. "
                                 f"Received: axis={axis!r}")
            self.axis = axes[0] if len(axes) == 1 and isinstance(axis, Integral) else axes

    def _axes(self, rank):
        """The axes for a kernel of `rank`, negatives resolved (None: TallyNet's default)."""
        if self.axis is None:
            return None
        axes = (self.axis,) if isinstance(self.axis, Integral) else self.axis
        out = tuple(a + rank if a < 0 else a for a in axes)
        if any(a < 0 or a >= rank for a in out) or len(set(out)) != len(out):
            raise ValueError(f"Expected MaxNorm axes to be distinct axes of a rank-{rank} kernel, but got {self.axis!r}")
        return out

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}

    def __repr__(self):
        return f"MaxNorm(max_value={self.max_value!r}, axis={self.axis!r})"


# Keras 2's function spellings, as in the seed question's `kernel_constraint=maxnorm(3)`.
max_norm = maxnorm = MaxNorm


def _constraint(value):
    if value is None or isinstance(value, MaxNorm):
        return value
    raise TypeError(f"Expected `kernel_constraint` to be None or tally.net.MaxNorm, but got {type(value).__name__}")


class Layer:
    """A layer specification (the weights live in the Swift model)."""

    input_shape = None

    def _spec(self):  # the tuple `_tally.net_new` reads
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def get_config(self):
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


class Input(Layer):
    """Declares the input shape of one sample, e.g. ``Input((204, 204, 3))``."""

    def __init__(self, shape):
        self.shape = _shape(shape, "shape")


class Conv2D(Layer):
    """Keras `Conv2D` (channels last; kernel ``(kh, kw, in, filters)``, Glorot-uniform, zero bias)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", activation=None, use_bias=True,
                 kernel_constraint=None, input_shape=None):
        self.filters = _positive_int(filters, "filters")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.padding = _padding(padding)
        self.activation = _activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_constraint = _constraint(kernel_constraint)
        self.input_shape = None if input_shape is None else _shape(input_shape, "input_shape")

    def _spec(self):
        c = self.kernel_constraint
        return ("conv2d", self.filters, *self.kernel_size, *self.strides, self.padding, self.activation,
                self.use_bias, None if c is None else c.max_value, None if c is None else c._axes(4))


class MaxPooling2D(Layer):
    """Keras `MaxPooling2D`; ``strides=None`` means ``pool_size``."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", input_shape=None):
        self.pool_size = _pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _pair(strides, "strides")
        self.padding = _padding(padding)
        self.input_shape = None if input_shape is None else _shape(input_shape, "input_shape")

    def _spec(self):
        return ("max_pooling2d", *self.pool_size, *self.strides, self.padding)


class Dropout(Layer):
    """Keras `Dropout` (inverted; active only while training; masks from the model's seed)."""

    def __init__(self, rate, input_shape=None):
        self.rate = _number(rate, "rate", high=1.0, high_open=True)
        self.input_shape = None if input_shape is None else _shape(input_shape, "input_shape")

    def _spec(self):
        return ("dropout", self.rate)


class Flatten(Layer):
    """Keras `Flatten` (free: the next layer reads the same memory)."""

    def __init__(self, input_shape=None):
        self.input_shape = None if input_shape is None else _shape(input_shape, "input_shape")

    def _spec(self):
        return ("flatten",)


class Dense(Layer):
    """Keras `Dense` on a flat input (kernel ``(in, units)``, Glorot-uniform, zero bias)."""

    def __init__(self, units, activation=None, use_bias=True, kernel_constraint=None, input_shape=None):
        self.units = _positive_int(units, "units")
        self.activation = _activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_constraint = _constraint(kernel_constraint)
        self.input_shape = None if input_shape is None else _shape(input_shape, "input_shape")

    def _spec(self):
        c = self.kernel_constraint
        return ("dense", self.units, self.activation, self.use_bias,
                None if c is None else c.max_value, None if c is None else c._axes(2))


class Activation(Layer):
    """Keras `Activation` ('linear', 'relu', 'sigmoid' or 'softmax')."""

    def __init__(self, activation, input_shape=None):
        self.activation = _activation(activation) or "linear"
        self.input_shape = None if input_shape is None else _shape(input_shape, "input_shape")

    def _spec(self):
        return ("activation", self.activation)


# -- optimizers ----------------------------------------------------------------------

class SGD:
    """Keras `SGD`: ``v = momentum·v - lr_t·g; w += v`` (Nesterov: ``w += momentum·v - lr_t·g``),
    with Keras 2's time-based ``decay``: ``lr_t = lr / (1 + decay·iterations)``.
    ``lr`` is accepted as Keras 2's name for ``learning_rate``."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, decay=0.0, *, lr=None):
        if lr is not None:
            learning_rate = lr
        self.learning_rate = _number(learning_rate, "learning_rate")
        self.momentum = _number(momentum, "momentum")
        self.nesterov = bool(nesterov)
        self.decay = _number(decay, "decay")

    def _args(self):
        return ("sgd", self.learning_rate, self.momentum, self.nesterov, 0.9, 0.999, 1e-7, self.decay)

    def __repr__(self):
        return (f"SGD(learning_rate={self.learning_rate}, momentum={self.momentum}, "
                f"nesterov={self.nesterov}, decay={self.decay})")


class Adam:
    """Keras 3 `Adam` (epsilon outside the root, bias correction in the step size),
    with the same optional time-based ``decay``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0, *, lr=None):
        if lr is not None:
            learning_rate = lr
        self.learning_rate = _number(learning_rate, "learning_rate")
        self.beta_1 = _number(beta_1, "beta_1", high=1.0, high_open=True)
        self.beta_2 = _number(beta_2, "beta_2", high=1.0, high_open=True)
        self.epsilon = _number(epsilon, "epsilon")
        self.decay = _number(decay, "decay")

    def _args(self):
        return ("adam", self.learning_rate, 0.0, False, self.beta_1, self.beta_2, self.epsilon, self.decay)

    def __repr__(self):
        return (f"Adam(learning_rate={self.learning_rate}, beta_1={self.beta_1}, beta_2={self.beta_2}, "
                f"epsilon={self.epsilon}, decay={self.decay})")


def _optimizer(value):
    if isinstance(value, (SGD, Adam)):
        return value
    if isinstance(value, str) and value.lower() in ("sgd", "adam"):
        return SGD() if value.lower() == "sgd" else Adam()
    raise ValueError(f"Expected `optimizer` to be 'sgd', 'adam', tally.net.SGD(...) or tally.net.Adam(...), "
                     f"but got {value!r}")


def _loss(value):
    """(name, from_logits) from a string or a Keras-like loss object."""
    if isinstance(value, str):
        name = {"bce": "binary_crossentropy", "cce": "categorical_crossentropy"}.get(value, value)
        if name in _LOSSES:
            return name, False
    else:
        kind = {"BinaryCrossentropy": "binary_crossentropy",
                "CategoricalCrossentropy": "categorical_crossentropy"}.get(type(value).__name__)
        config = value.get_config() if kind and hasattr(value, "get_config") else {}
        if kind and not config.get("label_smoothing", 0):
            return kind, bool(config.get("from_logits", False))
    raise ValueError(f"Expected `loss` to be one of {_LOSSES} (or a Keras BinaryCrossentropy/"
                     f"CategoricalCrossentropy without label smoothing), but got {value!r}")


# -- metrics ---------------------------------------------------------------------------

class _Metric:
    """One requested metric: a score and an average (None: the macro value plus
    one scalar per label), or a callable of the epoch's `Tally`."""

    def __init__(self, spec):
        if callable(spec) and not isinstance(spec, str):
            if _positional_arity(spec) >= 2:
                # A Keras-style `fn(y_true, y_pred)` is the batch-averaged metric Tally replaces.
                raise TypeError(f"Expected a metric callable taking the epoch's tally.Tally, but got "
                                f"{getattr(spec, '__name__', spec)!r}, which takes (y_true, y_pred) like a Keras "
                                "batch metric; pass a name such as 'precision' or 'f1_micro' for exact epoch values")
            self.function = spec
            self.name = getattr(spec, "__name__", None) or getattr(spec, "name", None)
            if not isinstance(self.name, str) or not self.name:
                raise ValueError(f"Expected a metric callable to have a `__name__` or `name`, but got {spec!r}")
            return
        if not isinstance(spec, str):
            raise TypeError(f"Expected a metric name (str) or a callable taking a tally.Tally, but got "
                            f"{type(spec).__name__}")
        score, _, average = spec.partition("_")
        if score not in _SCORES or average not in ("",) + _AVERAGES:
            raise ValueError(f"Expected a metric among {_SCORES}, optionally suffixed with one of "
                             f"{tuple('_' + a for a in _AVERAGES)} (e.g. 'f1', 'precision_micro'), or a "
                             f"callable taking a tally.Tally, but got {spec!r}")
        self.function = None
        self.name, self.score, self.average = spec, score, average or None

    def values(self, t: Tally, names, cache):
        """{log key: float} for the epoch's counts."""
        if self.function is not None:
            v = self.function(t)
            if isinstance(v, dict):
                return {f"{self.name}/{k}" if k else self.name: float(x) for k, x in v.items()}
            return {self.name: float(v)}
        index = _SCORES.index(self.score)
        if self.average is None:
            per_label = _prfs(t, None, cache)[index]
            out = {self.name: float(_prfs(t, "macro", cache)[index])}
            out.update({f"{self.name}/{n}": float(v) for n, v in zip(names, per_label)})
            return out
        return {self.name: float(_prfs(t, self.average, cache)[index])}


def _positional_arity(function):
    """How many positional arguments `function` requires (0 when it cannot be told)."""
    import inspect

    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 0
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty for p in parameters)


def _prfs(t: Tally, average, cache):
    # zero_division=0 in logs: an undefined score is logged as 0 without a warning per epoch.
    if average not in cache:
        cache[average] = t.precision_recall_fscore_support(average=average, zero_division=0.0, warn_for=())
    return cache[average]


def _tally_of(counts, threshold, label_names):
    """A `tally.Tally` holding the core's counts for an epoch."""
    n_labels = counts.info()[0]
    t = Tally(n_labels, threshold, label_names=label_names)
    t._counts = counts
    return t


# -- callbacks -------------------------------------------------------------------------

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
    reports (``history.val_tallies[-1].report()``)."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []
        self.tallies = []
        self.val_tallies = []

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
    line per epoch). Per-label scalars are left out of the line (they are in the logs)."""

    def __init__(self, verbose=1, stream=None, interval=0.1):
        super().__init__()
        self.verbose, self.stream, self.interval = verbose, stream, interval

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
        values = "".join(f" - {k}: {v:.4f}" for k, v in (logs or {}).items()
                         if "/" not in k and isinstance(v, float))
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


# -- the model -------------------------------------------------------------------------

def _samples(x, name):
    """`x` as the C-contiguous float32 array the trainer reads in place (Keras converts too)."""
    arr = as_array(x, name)
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    return np.ascontiguousarray(arr)


def _labels(y, name):
    return as_matrix(y, name)


def _sample_weight(w, n, name="sample_weight"):
    """Keras's per-sample weights as float64: 1-D, one per sample, finite, >= 0 (or None)."""
    if w is None:
        return None
    arr = as_array(w, name)
    if arr.ndim != 1:
        raise ValueError(f"Expected `{name}` to be 1-D (one weight per sample), but got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"Expected `{name}` to have {n} values (one per sample), but got {arr.shape[0]}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    bad = ~(np.isfinite(arr) & (arr >= 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"Expected `{name}` to hold finite numbers >= 0, but got {arr[i]} at index {i}")
    return arr


def class_weight_to_sample_weights(y, class_weight):
    """Keras 3's `class_weight` as per-sample weights (float32), exactly as
    ``keras.src.trainers.data_adapters.data_adapter_utils.class_weight_to_sample_weights``:
    the class of a row of a 2-D `y` with more than one column is its ``argmax`` (the
    first positive label of a multi-label row, and class 0 for a row with no positive
    label), of a one-column `y` its rounded value; a class missing from the dict weighs 1.

    For multi-label targets this weights each sample by one label only (Keras's rule);
    pass your own `sample_weight` for anything else.
    """
    if not isinstance(class_weight, dict):
        raise TypeError(f"Expected `class_weight` to be a dict mapping class indices (int) to weights (float), "
                        f"but got {type(class_weight).__name__}")
    for k, v in class_weight.items():
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v) or v < 0:
            raise ValueError(f"Expected `class_weight` values to be finite numbers >= 0, but got {v!r} for class {k!r}")
    y = np.asarray(y)
    if y.ndim > 1:
        y = np.argmax(y, axis=-1) if y.shape[-1] != 1 else np.squeeze(y, axis=-1)
    classes = np.round(y).astype("int32")
    weights = np.ones(classes.shape[0], dtype=np.float32)
    for i in range(classes.shape[0]):
        weights[i] = class_weight.get(int(classes[i]), 1.0)
    return weights


class Sequential:
    """A stack of layers trained by TallyNet, as Keras's `Sequential`.

    Parameters
    ----------
    layers : list of layers (Conv2D, MaxPooling2D, Dropout, Flatten, Dense, Activation)
    input_shape : one sample's shape, e.g. ``(204, 204, 3)`` (or give it to the first
        layer, or start the list with ``Input(shape)``).
    seed : seeds the initial weights, shuffles and dropout masks (runs repeat exactly
        for a given seed and thread count).
    """

    def __init__(self, layers=None, input_shape=None, *, seed=0, name="sequential"):
        self.layers = []
        self.name = name
        self._input_shape = None if input_shape is None else _shape(input_shape, "input_shape")
        if isinstance(seed, bool) or not isinstance(seed, Integral):
            raise TypeError(f"Expected `seed` to be an int, but got {type(seed).__name__}")
        self.seed = int(seed) & (2 ** 63 - 1)
        self._handle = None
        self._compiled = False
        self._fits = 0
        self._from_logits = False
        self.metrics_names = []
        self._metrics = []
        self._threshold = 0.5
        self._label_names = None
        self.loss = None
        self.optimizer = None
        self.stop_training = False
        self.history = None
        for layer in layers or []:
            self.add(layer)

    # -- building -----------------------------------------------------------------------

    def add(self, layer):
        """Appends a layer (before the model is built by compile/fit/get_weights)."""
        if self._handle is not None:
            raise RuntimeError("Expected to add layers before the model is built, but it is built already")
        if not isinstance(layer, Layer):
            hint = "; use tally.net.from_keras(model) for a Keras model" if "keras" in type(layer).__module__ else ""
            raise TypeError(f"Expected a tally.net layer (Conv2D, MaxPooling2D, Dropout, Flatten, Dense, Activation), "
                            f"but got {type(layer).__module__}.{type(layer).__name__}{hint}")
        if isinstance(layer, Input):
            if self.layers:
                raise ValueError("Expected Input(...) to come first, but it follows other layers")
            self._input_shape = layer.shape
            return
        if not self.layers and self._input_shape is None and layer.input_shape is not None:
            self._input_shape = layer.input_shape
        self.layers.append(layer)

    def build(self, input_shape=None):
        """Creates the Swift model (Glorot-uniform kernels, zero biases)."""
        if self._handle is not None:
            return self
        if input_shape is not None:
            shape = _shape(input_shape, "input_shape")
            self._input_shape = shape[1:] if len(shape) > 1 and input_shape[0] is None else shape
        if self._input_shape is None:
            raise ValueError("Expected an input shape, but got none: pass input_shape=(h, w, c) to Sequential or "
                             "to the first layer, or start with tally.net.Input(shape)")
        if not self.layers:
            raise ValueError("Expected at least one layer, but got none")
        self._handle = _tally.net_new(self._input_shape, [layer._spec() for layer in self.layers], self.seed)
        return self

    def _info(self):
        return _tally.net_info(self.build()._handle)

    @property
    def input_shape(self):
        return (None,) + tuple(self._info()[0])

    @property
    def output_shape(self):
        return (None,) + tuple(self._info()[1])

    @property
    def threads(self):
        """Threads for the per-sample work and the dense GEMMs (default: the CPUs)."""
        return self._info()[6]

    @threads.setter
    def threads(self, n):
        _tally.net_set_threads(self.build()._handle, _positive_int(n, "threads"))

    @property
    def allows_winograd(self):
        """Whether qualifying 3x3 convolutions (stride 1, ``same``, channels in multiples of 8,
        relu or linear) run as Winograd F(4x4, 3x3): a quarter of the multiplies, results within
        about 5e-6 of a tensor's largest value of a direct convolution's. Default True; set False
        for direct convolutions everywhere."""
        return _tally.net_allows_winograd(self.build()._handle)

    @allows_winograd.setter
    def allows_winograd(self, flag):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"Expected `allows_winograd` to be a bool, but got {type(flag).__name__}")
        _tally.net_allows_winograd(self.build()._handle, bool(flag))

    @property
    def iterations(self):
        """Optimizer updates since `compile` (Keras's ``optimizer.iterations``)."""
        return self._info()[4]

    @property
    def learning_rate(self):
        """The learning rate of the next update, after decay (None before compile)."""
        return self._info()[5]

    def count_params(self):
        return int(sum(int(np.prod(s)) for s in self._info()[3]))

    def summary(self, print_fn=None):
        text = _tally.net_summary(self.build()._handle)
        (print_fn or print)(text)

    # -- weights --------------------------------------------------------------------------

    @property
    def weight_names(self):
        return list(self._info()[2])

    def get_weights(self):
        """Copies of the weights in Keras's order and layout (float32):
        Conv2D kernel ``(kh, kw, in, filters)``, Dense kernel ``(in, units)``, biases."""
        info = self._info()
        out = []
        for i, shape in enumerate(info[3]):
            w = np.empty(tuple(shape), dtype=np.float32)
            _tally.net_read_weight(self._handle, i, w)
            out.append(w)
        return out

    def set_weights(self, weights):
        """Replaces every weight (Keras's `set_weights`); nothing changes when one is wrong.
        Optimizer state (momentum, Adam moments, iterations) is kept."""
        info = self._info()
        names, shapes = info[2], [tuple(s) for s in info[3]]
        weights = list(weights)
        if len(weights) != len(shapes):
            raise ValueError(f"Expected {len(shapes)} weight arrays ({', '.join(names)}), but got {len(weights)}")
        arrays = []
        for i, (w, shape) in enumerate(zip(weights, shapes)):
            a = np.ascontiguousarray(as_array(w, f"weights[{i}]"), dtype=np.float32)
            if a.shape != shape:
                raise ValueError(f"Expected weights[{i}] ({names[i]}) to have shape {shape}, but got {a.shape}")
            arrays.append(a)
        _tally.net_write_weights(self._handle, arrays)

    # -- training ---------------------------------------------------------------------------

    def compile(self, optimizer="sgd", loss="binary_crossentropy", metrics=None, *, threshold=0.5,
                label_names=None):
        """Chooses the optimizer (fresh state), the loss, and the metrics `fit` and
        `evaluate` log. `metrics`: names among 'f1', 'precision', 'recall' (macro value
        plus one scalar per label, ``f1/<label>``) or suffixed '_micro', '_macro',
        '_weighted', '_samples' (one scalar), or callables taking the epoch's `tally.Tally`.
        `threshold`: a prediction is positive when ``probability >= threshold``."""
        opt = _optimizer(optimizer)
        loss_name, from_logits = _loss(loss)
        self._compile(opt, loss_name, from_logits, [_Metric(m) for m in (metrics or [])], threshold, label_names)

    def _compile(self, opt, loss_name, from_logits, parsed, threshold, label_names):
        self.build()
        _tally.net_compile(self._handle, *opt._args(), loss_name, from_logits)
        self.optimizer, self.loss, self._from_logits, self._compiled = opt, loss_name, from_logits, True
        self._metrics = parsed
        self.metrics_names = ["loss"] + [m.name for m in parsed]
        self._threshold = threshold
        self._label_names = None if label_names is None else [str(n) for n in label_names]

    def _label_keys(self, n_labels, label_names):
        names = label_names if label_names is not None else self._label_names
        if names is None:
            return [str(i) for i in range(n_labels)]
        if len(names) != n_labels:
            raise ValueError(f"Expected `label_names` to have {n_labels} names, but got {len(names)}")
        return [str(n) for n in names]

    def _logs(self, loss, counts, metrics, threshold, names, prefix=""):
        t = _tally_of(counts, threshold, names)
        logs = {prefix + "loss": float(loss)}
        cache = {}
        for m in metrics:
            logs.update({prefix + k: v for k, v in m.values(t, names, cache).items()})
        return logs, t

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, *, metrics=None, threshold=None, label_names=None, seed=None):
        """Trains as Keras's `fit` and returns a `History`.

        Each epoch runs in Swift (GIL released); after every batch the callbacks'
        ``on_train_batch_end(batch, {"loss": running mean})`` run, and after the epoch
        ``on_epoch_end(epoch, logs)`` with the exact epoch values: ``loss``, each metric,
        ``<metric>/<label>`` per label, and the same with ``val_`` for the validation data.
        ``model.stop_training = True`` stops after the current batch (the epoch is then
        validated and logged, as Keras does). Ctrl-C stops after the current batch and
        raises KeyboardInterrupt; ``model.history`` keeps the finished epochs.

        `sample_weight` (1-D, one finite weight >= 0 per sample) and `class_weight` (a dict
        ``{class index: weight}``, see `class_weight_to_sample_weights`; not both) weigh
        each sample's loss as Keras 3 does: a batch's loss is ``sum(w * loss) / batch_size``
        and the logged ``loss`` is ``sum(w * loss) / n``; the epoch's counts (and so every
        metric) are weighted sums, as Keras passes `sample_weight` to its metrics.
        `validation_data` may be ``(x_val, y_val, val_sample_weight)``; `validation_split`
        splits `sample_weight` too (`class_weight` applies to the training data only).

        `metrics` (here or in `compile`), `threshold` and `label_names` override compile's.
        `seed` fixes the shuffles and dropout masks (default: derived from the model's seed
        and the number of earlier `fit` calls, so a script repeats exactly). Epoch ``e``'s
        shuffle and masks depend only on the seed and ``e``: a call with ``initial_epoch > 0``
        continues the previous call's sequence (Keras's way to resume), so
        ``fit(epochs=1); fit(epochs=2, initial_epoch=1)`` trains exactly as ``fit(epochs=2)``,
        also across `save` and `load_model` (same thread count).
        """
        if not self._compiled:
            raise RuntimeError("Expected a compiled model (call model.compile(optimizer=..., loss=...) before fit), "
                               "but got an uncompiled one")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        epochs = int(epochs)
        metrics = self._metrics if metrics is None else [_Metric(m) for m in metrics]
        threshold = self._threshold if threshold is None else threshold
        verbose = 1 if verbose == "auto" else int(verbose)
        if x is None or y is None:
            raise TypeError("Expected `x` and `y` arrays, but got None")
        x = _samples(x, "x")
        y = _labels(y, "y")
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"Expected `x` and `y` to have the same number of samples, but got "
                             f"{x.shape[0]} and {y.shape[0]}")
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")  # Keras's words
            weights = class_weight_to_sample_weights(y, class_weight).astype(np.float64)
        else:
            weights = _sample_weight(sample_weight, x.shape[0])
        if validation_data is None and validation_split:
            split = _number(validation_split, "validation_split", high=1.0, high_open=True)
            # Keras takes the last samples, before shuffling (and their sample weights, not class weights).
            cut = int(x.shape[0] * (1 - split))
            vweights = None if weights is None or class_weight is not None else weights[cut:]
            x, y, validation_data = x[:cut], y[:cut], (x[cut:], y[cut:], vweights)
            weights = None if weights is None else np.ascontiguousarray(weights[:cut])
        vweights = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("Expected `validation_data` to be a tuple (x_val, y_val) or (x_val, y_val, "
                                 f"val_sample_weight), but got {type(validation_data).__name__}"
                                 + (f" of length {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else ""))
            xv, yv = _samples(validation_data[0], "validation x"), _labels(validation_data[1], "validation y")
            self._check_validation(xv, yv)
            if len(validation_data) == 3:
                vweights = _sample_weight(validation_data[2], xv.shape[0], "validation sample_weight")
        names = self._label_keys(int(np.prod(self._info()[1])), label_names)
        steps = -(-x.shape[0] // batch_size)
        history = History()
        extra = [ProgressBar(verbose)] if verbose else []
        cbs = _Callbacks([history] + list(callbacks or []) + extra, self,
                         {"verbose": verbose, "epochs": epochs, "steps": steps})
        self.history = history
        self.stop_training = False
        # A resumed run (initial_epoch > 0) continues the previous call's seed sequence.
        if initial_epoch == 0 or self._fits == 0:
            self._fits += 1
        base_seed = _mix(self.seed if seed is None else int(seed), self._fits if seed is None else 0)
        batch_hooks = bool(cbs.batch_hooks)

        def on_batch_end(batch, size, batch_loss, epoch_loss):
            cbs.call_batch("on_train_batch_end", batch, {"loss": epoch_loss})
            if self.stop_training:
                return True
            if batch + 1 < steps:
                cbs.call_batch("on_train_batch_begin", batch + 1, {})
            return False

        logs = {}
        cbs.call("on_train_begin", {})
        for epoch in range(initial_epoch, epochs):
            cbs.call("on_epoch_begin", epoch, {})
            if batch_hooks:
                cbs.call_batch("on_train_batch_begin", 0, {})
            loss, counts, _, _, _, _ = _tally.net_fit_epoch(
                self._handle, x, y, batch_size, bool(shuffle), _mix(base_seed, epoch), threshold,
                on_batch_end if batch_hooks else None, weights)
            logs, t = self._logs(loss, counts, metrics, threshold, names)
            history.tallies.append(t)
            if validation_data is not None:
                vloss, vcounts = _tally.net_evaluate(self._handle, xv, yv, batch_size, threshold, vweights)
                vlogs, vt = self._logs(vloss, vcounts, metrics, threshold, names, prefix="val_")
                logs.update(vlogs)
                history.val_tallies.append(vt)
            cbs.call("on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        cbs.call("on_train_end", logs)
        return history

    def _check_validation(self, x, y):
        """Validation data is first read after an epoch of training: check it up front."""
        info = self._info()
        expected = (x.shape[0],) + tuple(info[0])
        if x.shape != expected:
            raise ValueError(f"Expected `validation x` to have shape (n, {', '.join(map(str, info[0]))}), "
                             f"but got {x.shape}")
        width = int(np.prod(info[1]))
        if y.shape != (x.shape[0], width):
            raise ValueError(f"Expected `validation y` to have shape ({x.shape[0]}, {width}), but got {y.shape}")
        if not np.isfinite(x).all():
            bad = np.argwhere(~np.isfinite(x))[0]
            raise ValueError(f"Expected `validation x` to hold finite numbers, but got {x[tuple(bad)]} "
                             f"in sample {bad[0]}")
        if not np.isin(y, (0, 1)).all():
            bad = np.argwhere(~np.isin(y, (0, 1)))[0]
            raise ValueError(f"Expected `validation y` to hold only 0 and 1, but got {y[tuple(bad)]} at {tuple(bad)}")

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, return_dict=False, *,
                 metrics=None, threshold=None, label_names=None):
        """The loss and the metrics on (x, y) in inference mode, exactly: a list
        ``[loss, metric, ...]`` (a float without metrics), or with ``return_dict``
        every log value including the per-label ones. With `sample_weight` (1-D, finite,
        >= 0) the loss is Keras's ``sum(w * loss) / n`` and the metrics are weighted."""
        if not self._compiled:
            raise RuntimeError("Expected a compiled model (call model.compile(...) before evaluate), "
                               "but got an uncompiled one")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        metrics = self._metrics if metrics is None else [_Metric(m) for m in metrics]
        threshold = self._threshold if threshold is None else threshold
        names = self._label_keys(int(np.prod(self._info()[1])), label_names)
        x, y = _samples(x, "x"), _labels(y, "y")
        weights = _sample_weight(sample_weight, x.shape[0] if x.ndim else 0)
        loss, counts = _tally.net_evaluate(self._handle, x, y, batch_size, threshold, weights)
        logs, _ = self._logs(loss, counts, metrics, threshold, names)
        if return_dict:
            return logs
        values = [logs["loss"]] + [logs[m.name] for m in metrics]
        return values[0] if len(values) == 1 else values

    def tally(self, x, y, batch_size=None, *, threshold=None, label_names=None):
        """The exact counts of the model's predictions on (x, y) as a `tally.Tally`
        (``.report()``, ``.f1(average=None)``, ...). Needs no compile."""
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        threshold = self._threshold if threshold is None else threshold
        out_shape = self._info()[1]
        names = label_names if label_names is not None else self._label_names
        scores = self.predict(x, batch_size=batch_size).reshape(-1, int(np.prod(out_shape)))
        t = Tally(scores.shape[1], threshold, label_names=names)
        return t.update(_labels(y, "y"), scores)

    def predict(self, x, batch_size=None, verbose=0):
        """The model's outputs (after its final sigmoid/softmax) as float32 ``(n,) + output_shape``."""
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        info = self._info()
        x = _samples(x, "x")
        if x.ndim < 1:
            raise ValueError(f"Expected `x` to have shape (n, {', '.join(map(str, info[0]))}), but got a scalar")
        out = np.empty((x.shape[0],) + tuple(info[1]), dtype=np.float32)
        _tally.net_predict(self._handle, x, batch_size, out)
        return out

    def __call__(self, x):
        return self.predict(x)

    # -- saving -------------------------------------------------------------------------------

    def save(self, filepath, overwrite=True):
        """Writes the whole model to one file (a ``.npz`` zip, whatever the name):
        the layers, the weights in Keras's layout (``weights/<name>``), the compile
        configuration (optimizer, loss, metrics, threshold, label names) and the optimizer's
        state (``iterations`` and ``optimizer/<weight>/<slot>``: SGD's momentum, Adam's
        momentum and velocity). `load_model` rebuilds it; training then continues bit for
        bit (see `fit` on `initial_epoch`). Callable metrics are saved by name: pass them
        back with ``load_model(path, custom_objects={name: function})``."""
        self.build()
        info = self._info()
        config = {
            "format": _FORMAT, "version": _VERSION, "name": self.name, "seed": self.seed,
            "input_shape": list(info[0]), "layers": [_layer_config(layer) for layer in self.layers],
            "weight_names": list(info[2]), "fits": self._fits, "compile": None,
        }
        arrays = {f"weights/{n}": w for n, w in zip(info[2], self.get_weights())}
        if self._compiled:
            iterations, names, slots = self._optimizer_state()
            t = self._threshold
            config["compile"] = {
                "optimizer": {"class_name": type(self.optimizer).__name__, "config": dict(vars(self.optimizer))},
                "loss": self.loss, "from_logits": bool(self._from_logits),
                "metrics": [m.name if m.function is None else {"callable": m.name} for m in self._metrics],
                "threshold": float(t) if np.ndim(t) == 0 else np.asarray(t, np.float64).tolist(),
                "label_names": self._label_names,
                "iterations": iterations, "optimizer_slot_names": names,
            }
            arrays.update({f"optimizer/{n}": a for n, a in zip(names, slots)})
        _write_npz(filepath, config, arrays, overwrite)

    def save_weights(self, filepath, overwrite=True):
        """Writes only the weights (Keras's layout, ``weights/<name>`` in a ``.npz``)."""
        info = self._info()
        config = {"format": _WEIGHTS_FORMAT, "version": _VERSION, "weight_names": list(info[2])}
        _write_npz(filepath, config, {f"weights/{n}": w for n, w in zip(info[2], self.get_weights())}, overwrite)

    def load_weights(self, filepath):
        """Reads the weights written by `save_weights` or `save` (the optimizer state is
        kept, as `set_weights`); the file must hold this model's weights by name and shape."""
        config, data = _read_npz(filepath, (_FORMAT, _WEIGHTS_FORMAT))
        with data:
            names = self.weight_names
            if list(config.get("weight_names", [])) != names:
                raise ValueError(f"Expected the weights {names} in {str(filepath)!r}, but it holds "
                                 f"{config.get('weight_names')}")
            self.set_weights([_member(data, f"weights/{n}", filepath) for n in names])

    def _optimizer_state(self):
        """(iterations, slot names, slot arrays) of the compiled model's optimizer."""
        iterations, names, shapes = _tally.net_optimizer_info(self.build()._handle)
        slots = []
        for i, shape in enumerate(shapes):
            a = np.empty(tuple(shape), dtype=np.float32)
            _tally.net_read_optimizer_slot(self._handle, i, a)
            slots.append(a)
        return int(iterations), list(names), slots

    def _set_optimizer_state(self, iterations, slots):
        """Replaces the optimizer's iteration count and slot arrays (all checked first)."""
        _tally.net_write_optimizer_state(self.build()._handle, int(iterations),
                                         [np.ascontiguousarray(a, dtype=np.float32) for a in slots])

    def __repr__(self):
        shape = self._input_shape
        return f"<tally.net.Sequential {self.name!r}: {len(self.layers)} layers, input_shape={shape}>"


# -- files ---------------------------------------------------------------------------------

_FORMAT = "tally.net.Sequential"
_WEIGHTS_FORMAT = "tally.net.weights"
_VERSION = 1
_CONFIG_KEY = "tally_config"


def _layer_config(layer):
    config = layer.get_config()
    c = config.get("kernel_constraint")
    if isinstance(c, MaxNorm):
        config["kernel_constraint"] = {"class_name": "MaxNorm", "config": c.get_config()}
    return {"class_name": type(layer).__name__, "config": config}


_LAYER_CLASSES = {}  # filled below, once the classes exist


def _layer_from_config(entry):
    cls = _LAYER_CLASSES.get(entry.get("class_name"))
    if cls is None:
        raise ValueError(f"unknown layer {entry.get('class_name')!r}")
    config = dict(entry["config"])
    c = config.get("kernel_constraint")
    if c is not None:
        config["kernel_constraint"] = MaxNorm(**c["config"])
    return cls(**config)


def _write_npz(filepath, config, arrays, overwrite):
    """Writes `arrays` and the JSON `config` to `filepath` through a temporary file in the
    same folder, so that an interrupted save never leaves a half-written file behind."""
    import json
    import os
    import tempfile

    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"Expected to write a new file, but {path!r} exists (pass overwrite=True)")
    members = {_CONFIG_KEY: np.array(json.dumps(config))}
    members.update(arrays)
    fd, tmp = tempfile.mkstemp(prefix=".tally-", suffix=".npz", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **members)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _read_npz(filepath, formats):
    """(config, open NpzFile) of a file `_write_npz` wrote with one of `formats`."""
    import json
    import os
    import zipfile

    path = os.fspath(filepath)
    expected = "a tally.net model file (written by Sequential.save)" if formats == (_FORMAT,) else \
        "a tally.net weights or model file (written by save_weights or save)"
    if not os.path.exists(path):
        raise FileNotFoundError(f"Expected {expected}, but {path!r} does not exist")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"Expected {expected}, but {path!r} is not a readable .npz file ({exc})") from None
    if not isinstance(data, np.lib.npyio.NpzFile) or _CONFIG_KEY not in data.files:
        if isinstance(data, np.lib.npyio.NpzFile):
            data.close()
        raise ValueError(f"Expected {expected}, but {path!r} has no {_CONFIG_KEY!r} entry")
    try:
        config = json.loads(str(data[_CONFIG_KEY]))
        if not isinstance(config, dict):
            raise ValueError("the configuration is not a JSON object")
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        data.close()
        raise ValueError(f"Expected {expected}, but the configuration in {path!r} is corrupt ({exc})") from None
    if config.get("format") not in formats or config.get("version") != _VERSION:
        data.close()
        raise ValueError(f"Expected {expected} (format {' or '.join(formats)}, version {_VERSION}), but {path!r} "
                         f"holds format {config.get('format')!r}, version {config.get('version')!r}")
    return config, data


def _member(data, key, filepath):
    """One array of an open file, with a clear error when it is missing or corrupt."""
    import zipfile

    if key not in data.files:
        raise ValueError(f"Expected {str(filepath)!r} to hold the array {key!r}, but it does not (corrupt file?)")
    try:
        return data[key]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"Expected {str(filepath)!r} to hold a readable array {key!r}, but it is corrupt ({exc})") from None


def load_model(filepath, custom_objects=None, compile=True):
    """The model `Sequential.save` wrote: same layers, weights, compile configuration and
    optimizer state (``compile=False``: uncompiled, weights only). `custom_objects` maps the
    names of callable metrics to the functions."""
    config, data = _read_npz(filepath, (_FORMAT,))
    with data:
        try:
            layers = [_layer_from_config(entry) for entry in config["layers"]]
            model = Sequential(layers, input_shape=tuple(config["input_shape"]), seed=int(config["seed"]),
                               name=config["name"])
            names = list(config["weight_names"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"Expected a tally.net model file, but the architecture in {str(filepath)!r} "
                             f"is corrupt ({type(exc).__name__}: {exc})") from None
        if model.weight_names != names:
            raise ValueError(f"Expected the weights {model.weight_names} for the saved layers, but "
                             f"{str(filepath)!r} lists {names}")
        model.set_weights([_member(data, f"weights/{n}", filepath) for n in names])
        model._fits = int(config.get("fits", 0))
        saved = config.get("compile")
        if compile and saved is not None:
            _restore_compile(model, saved, data, filepath, custom_objects or {})
    return model


def _restore_compile(model, saved, data, filepath, custom_objects):
    optimizers = {"SGD": SGD, "Adam": Adam}
    try:
        kind = saved["optimizer"]["class_name"]
        if kind not in optimizers:
            raise ValueError(f"unknown optimizer {kind!r}")
        opt = optimizers[kind](**saved["optimizer"]["config"])
        metrics = []
        for m in saved["metrics"]:
            if isinstance(m, dict):
                name = m["callable"]
                if name not in custom_objects:
                    raise LookupError(name)
                metrics.append(custom_objects[name])
            else:
                metrics.append(m)
        threshold = saved["threshold"]
        threshold = np.asarray(threshold, np.float64) if isinstance(threshold, list) else float(threshold)
        loss, from_logits = saved["loss"], bool(saved["from_logits"])
        iterations, slot_names = int(saved["iterations"]), list(saved["optimizer_slot_names"])
    except LookupError as exc:
        if isinstance(exc, KeyError):
            raise ValueError(f"Expected a tally.net model file, but the compile configuration in "
                             f"{str(filepath)!r} lacks {exc}") from None
        raise ValueError(f"Expected the callable metric {exc.args[0]!r} saved in {str(filepath)!r} in "
                         f"`custom_objects`, but got {sorted(custom_objects)}; pass load_model(path, "
                         f"custom_objects={{{exc.args[0]!r}: function}}) or compile=False") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Expected a tally.net model file, but the compile configuration in {str(filepath)!r} "
                         f"is corrupt ({exc})") from None
    model._compile(opt, loss, from_logits, [_Metric(m) for m in metrics], threshold, saved.get("label_names"))
    expected = _tally.net_optimizer_info(model._handle)[1]
    if list(expected) != slot_names:
        raise ValueError(f"Expected the optimizer slots {list(expected)} for {opt!r}, but {str(filepath)!r} "
                         f"lists {slot_names}")
    model._set_optimizer_state(iterations, [_member(data, f"optimizer/{n}", filepath) for n in slot_names])


def _mix(a, b):
    """SplitMix64 of two ints, as a 63-bit seed (distinct per epoch and per fit call)."""
    z = (int(a) * 0x9E3779B97F4A7C15 + int(b) + 0x632BE59BD9B4E019) & (2 ** 64 - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2 ** 64 - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2 ** 64 - 1)
    return (z ^ (z >> 31)) & (2 ** 63 - 1)


# -- Keras import ------------------------------------------------------------------------

_LAYER_CLASSES.update({cls.__name__: cls for cls in (Conv2D, MaxPooling2D, Dropout, Flatten, Dense, Activation)})

_KERAS_LAYERS = ("InputLayer", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Activation")


def _keras_activation(value, where):
    name = value if isinstance(value, str) or value is None else getattr(value, "__name__", repr(value))
    if isinstance(name, dict):
        name = name.get("config", name).get("name", repr(name))
    if name not in (None,) + _ACTIVATIONS:
        raise ValueError(f"{where}: activation {name!r} is not supported by tally.net (expected one of "
                         f"{_ACTIVATIONS})")
    return None if name in (None, "linear") else name


def _keras_constraint(config, where):
    if config is None:
        return None
    cls = config.get("class_name") if isinstance(config, dict) else type(config).__name__
    inner = config.get("config", {}) if isinstance(config, dict) else config.get_config()
    if cls != "MaxNorm":
        raise ValueError(f"{where}: kernel constraint {cls!r} is not supported by tally.net (expected MaxNorm)")
    return MaxNorm(inner.get("max_value", 2), inner.get("axis", 0))


def _keras_layer(layer, index):
    kind = type(layer).__name__
    where = f"Keras layer {index} {layer.name!r} ({kind})"
    if kind not in _KERAS_LAYERS:
        raise ValueError(f"{where} is not supported by tally.net; supported layers: {', '.join(_KERAS_LAYERS)}")
    config = layer.get_config()
    for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer", "bias_constraint",
                "noise_shape"):
        if config.get(key) is not None:
            raise ValueError(f"{where}: `{key}` is not supported by tally.net (got {config[key]!r})")
    if config.get("data_format", "channels_last") not in (None, "channels_last"):
        raise ValueError(f"{where}: data_format {config['data_format']!r} is not supported (expected channels_last)")
    if kind == "InputLayer":
        return None
    if kind == "Conv2D":
        if tuple(config.get("dilation_rate", (1, 1))) != (1, 1) or config.get("groups", 1) != 1:
            raise ValueError(f"{where}: dilation_rate {config.get('dilation_rate')} / groups {config.get('groups')} "
                             "are not supported (expected (1, 1) and 1)")
        return Conv2D(config["filters"], tuple(config["kernel_size"]), tuple(config["strides"]), config["padding"],
                      _keras_activation(config["activation"], where), config["use_bias"],
                      _keras_constraint(config.get("kernel_constraint"), where))
    if kind == "MaxPooling2D":
        return MaxPooling2D(tuple(config["pool_size"]), tuple(config["strides"] or config["pool_size"]),
                            config["padding"])
    if kind == "Dropout":
        return Dropout(config["rate"])
    if kind == "Flatten":
        return Flatten()
    if kind == "Dense":
        return Dense(config["units"], _keras_activation(config["activation"], where), config["use_bias"],
                     _keras_constraint(config.get("kernel_constraint"), where))
    return Activation(_keras_activation(config["activation"], where) or "linear")


def _keras_optimizer(opt):
    """A tally.net optimizer equal to a compiled Keras model's, or a ValueError."""
    kind = type(opt).__name__
    config = opt.get_config()
    for key in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
        if config.get(key):
            raise ValueError(f"Keras optimizer {kind}: `{key}` is not supported by tally.net")
    if config.get("use_ema") or config.get("amsgrad"):
        raise ValueError(f"Keras optimizer {kind}: EMA/AMSGrad are not supported by tally.net")
    lr = config["learning_rate"]
    decay = 0.0
    if isinstance(lr, dict):
        # Keras 3 has no `decay`; Keras 2's legacy decay is InverseTimeDecay(lr, 1, decay).
        inner = lr.get("config", {})
        if lr.get("class_name") != "InverseTimeDecay" or inner.get("staircase"):
            raise ValueError(f"Keras optimizer {kind}: learning-rate schedule {lr.get('class_name')!r} is not "
                             "supported (expected a float or InverseTimeDecay without staircase)")
        decay = float(inner["decay_rate"]) / float(inner["decay_steps"])
        lr = inner["initial_learning_rate"]
    if kind == "SGD":
        return SGD(float(lr), float(config["momentum"]), bool(config["nesterov"]), decay)
    if kind == "Adam":
        return Adam(float(lr), float(config["beta_1"]), float(config["beta_2"]), float(config["epsilon"]), decay)
    raise ValueError(f"Keras optimizer {kind!r} is not supported by tally.net (expected SGD or Adam); "
                     "pass compile=False and call compile() yourself")


def seed_model(n_labels, input_shape, *, seed=0):
    """The seed question's architecture: Conv2D 32 (3x3, same, relu, max-norm 3) ->
    Dropout 0.2 -> Conv2D 32 -> MaxPooling2D 2 -> Flatten -> Dense 512 (relu, max-norm 3)
    -> Dropout 0.5 -> Dense n_labels (sigmoid). Not compiled."""
    return Sequential([
        Conv2D(32, (3, 3), padding="same", activation="relu", kernel_constraint=MaxNorm(3)),
        Dropout(0.2),
        Conv2D(32, (3, 3), padding="same", activation="relu", kernel_constraint=MaxNorm(3)),
        MaxPooling2D((2, 2)),
        Flatten(),
        Dense(512, activation="relu", kernel_constraint=MaxNorm(3)),
        Dropout(0.5),
        Dense(n_labels, activation="sigmoid"),
    ], input_shape=input_shape, seed=seed)


def from_keras(model, *, compile=True, seed=0):
    """A tally.net `Sequential` with a Keras `Sequential` model's layers and weights.

    Keras's MaxNorm axes are kept as they are (Keras's default ``axis=0``). With
    `compile` and a compiled Keras model, its SGD/Adam optimizer (a float learning rate
    or an ``InverseTimeDecay`` schedule, Keras 2's ``decay``) and binary/categorical
    cross-entropy loss are carried over; anything else raises ValueError naming it.
    """
    kind = type(model).__name__
    if kind != "Sequential" or not hasattr(model, "layers"):
        raise TypeError(f"Expected a Keras Sequential model, but got {type(model).__module__}.{kind}")
    try:
        shape = tuple(model.input_shape)
    except (AttributeError, ValueError):
        raise ValueError("Expected a built Keras model (give it keras.Input(shape) or input_shape=...), "
                         "but got one without an input shape") from None
    if len(shape) < 2 or any(d is None for d in shape[1:]):
        raise ValueError(f"Expected a Keras model with a fixed input shape, but got {shape}")
    layers = [layer for layer in (_keras_layer(l, i) for i, l in enumerate(model.layers)) if layer is not None]
    net = Sequential(layers, input_shape=shape[1:], seed=seed, name=getattr(model, "name", "sequential"))
    net.set_weights([np.asarray(w) for w in model.get_weights()])
    if compile and getattr(model, "optimizer", None) is not None and getattr(model, "loss", None) is not None:
        net.compile(_keras_optimizer(model.optimizer), model.loss)
    return net

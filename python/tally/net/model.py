"""`Sequential`: a stack of layers trained by TallyNet, as Keras's `Sequential`
(building, weights, compile, fit, evaluate, predict), and `seed_model`, the seed
question's architecture."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .. import _tallynet
from .._convert import as_array, as_label_names
from ..streaming import Tally
from . import _calibration, _files
from ._checks import _number, _positive_int, _shape
from .._convert import known_weights
from ._inputs import _labels, _samples, _weights, class_weight_to_sample_weights
from ._metrics import _Metric, _tally_of
from .callbacks import History, ProgressBar, _Callbacks
from .layers import Conv2D, Dense, Dropout, Flatten, Input, Layer, MaxNorm, MaxPooling2D
from .losses import _loss
from .optimizers import _optimizer

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
        self._label_smoothing = 0.0
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
        self._handle = _tallynet.net_new(self._input_shape, [layer._spec() for layer in self.layers], self.seed)
        return self

    def _info(self):
        return _tallynet.net_info(self.build()._handle)

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
        _tallynet.net_set_threads(self.build()._handle, _positive_int(n, "threads"))

    @property
    def allows_winograd(self):
        """Whether qualifying 3x3 convolutions (stride 1, ``same``, channels in multiples of 8,
        relu or linear) run as Winograd F(4x4, 3x3): a quarter of the multiplies, results within
        about 5e-6 of a tensor's largest value of a direct convolution's. Default True; set False
        for direct convolutions everywhere."""
        return _tallynet.net_allows_winograd(self.build()._handle)

    @allows_winograd.setter
    def allows_winograd(self, flag):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"Expected `allows_winograd` to be a bool, but got {type(flag).__name__}")
        _tallynet.net_allows_winograd(self.build()._handle, bool(flag))

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
        text = _tallynet.net_summary(self.build()._handle)
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
            _tallynet.net_read_weight(self._handle, i, w)
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
        _tallynet.net_write_weights(self._handle, arrays)

    # -- training ---------------------------------------------------------------------------

    def compile(self, optimizer="sgd", loss="binary_crossentropy", metrics=None, *, threshold=0.5,
                label_names=None):
        """Chooses the optimizer (fresh state), the loss, and the metrics `fit` and
        `evaluate` log. `metrics`: names among 'f1', 'precision', 'recall' (macro value
        plus one scalar per label, ``f1/<label>``) or suffixed '_micro', '_macro',
        '_weighted', '_samples' (one scalar), or callables taking the epoch's `tally.Tally`;
        and the ranked ones, scored on every score of the validation data (of `evaluate`'s
        data) after each epoch, exactly: 'roc_auc' and 'ap' (``val_roc_auc/<label>`` and
        ``val_roc_auc``, the mean over labels where it is defined), 'tuned_f1' and
        'tuned_youden' (thresholds tuned per label: ``val_tuned_f1/<label>``,
        ``val_tuned_threshold/<label>``; the result in ``history.tuned``, written by
        `SaveThresholds`). Training batches' scores are not kept: these have no train value.
        `threshold`: a prediction is positive when ``probability >= threshold``."""
        opt = _optimizer(optimizer)
        loss_name, from_logits, label_smoothing = _loss(loss)
        self._compile(opt, loss_name, from_logits, [_Metric(m) for m in (metrics or [])], threshold, label_names,
                      label_smoothing)

    def _compile(self, opt, loss_name, from_logits, parsed, threshold, label_names, label_smoothing=0.0):
        self.build()
        _tallynet.net_compile(self._handle, *opt._args(), loss_name, from_logits, float(label_smoothing))
        self.optimizer, self.loss, self._from_logits, self._compiled = opt, loss_name, from_logits, True
        self._label_smoothing = float(label_smoothing)
        self._metrics = parsed
        self.metrics_names = ["loss"] + [m.name for m in parsed]
        self._threshold = _plain_threshold(threshold)
        self._label_names = None if label_names is None else [str(n) for n in label_names]

    def _label_keys(self, n_labels, label_names):
        names = label_names if label_names is not None else self._label_names
        return [str(i) for i in range(n_labels)] if names is None else as_label_names(names, n_labels)

    def _logs(self, loss, counts, metrics, threshold, names, prefix="", scores=None):
        """The logs of one pass, and its `Tally`; `scores`, a (x, y, sample_weight) whose
        predictions the ranked metrics score (else they log nothing)."""
        t = _tally_of(counts, threshold, names)
        logs = {prefix + "loss": float(loss)}
        cache = {}
        for m in metrics:
            logs.update({prefix + k: v for k, v in m.values(t, names, cache).items()})
        # One inference pass serves the ranked and the calibration metrics.
        predictions = None
        if scores is not None and any(m.ranked or m.calibration for m in metrics):
            predictions = self.predict(scores[0], batch_size=32).reshape(scores[0].shape[0], -1)
        store = self._score_store(metrics, scores, predictions)
        for m in metrics:
            if m.ranked and store is not None:
                logs.update({prefix + k: v for k, v in m.ranked_values(store, names, cache).items()})
        logs.update(_calibration.logs(metrics, names, scores, predictions, prefix))
        self._last_tuned = cache.get("tuned")
        return logs, t

    def _score_store(self, metrics, scores, predictions):
        """Every score of the model on `scores` = (x, y, w) (its `predictions`), in a
        `ScoreTally`, when a ranked metric is asked for."""
        if predictions is None or not any(m.ranked for m in metrics):
            return None
        from ..scores import ScoreTally

        _, y, w = scores
        return ScoreTally(predictions.shape[1]).update(y, predictions, w)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, *, metrics=None, threshold=None, label_names=None, seed=None, ignore_value=None):
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
        A 2-D `sample_weight` (binary cross-entropy) weighs each entry: ``sum(w * bce) / (batch * labels)``;
        `ignore_value` (e.g. -1, or nan) marks unknown entries of `y` and `y_val`: weight 0 (README "Missing labels").

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
        threshold = self._threshold if threshold is None else _plain_threshold(threshold)
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
            weights = known_weights(y, class_weight_to_sample_weights(y, class_weight).astype(np.float64), ignore_value)
        else:
            weights = _weights(sample_weight, y, ignore_value)
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
            if yv.shape[0] == xv.shape[0]:
                vweights = _weights(validation_data[2] if len(validation_data) == 3 else None, yv, ignore_value,
                                    "validation sample_weight")
            self._check_validation(xv, yv, vweights)
            if any(m.calibration for m in metrics):
                _calibration.check_binary(yv, "validation y", vweights)
        names = self._label_keys(int(np.prod(self._info()[1])), label_names)
        steps = -(-x.shape[0] // batch_size)
        history = History()
        # A ProgressBar among the callbacks (e.g. with table_every) replaces the default one.
        given = any(isinstance(c, ProgressBar) for c in callbacks or [])
        extra = [ProgressBar(verbose)] if verbose and not given else []
        cbs = _Callbacks([history] + list(callbacks or []) + extra, self,
                         {"verbose": verbose, "epochs": epochs, "steps": steps})
        self.history = history
        self.stop_training = False
        # A resumed run (initial_epoch > 0) continues the previous call's run. TallyNet derives
        # every seed from (seed, run): epoch e's shuffle and masks depend only on them and e.
        if initial_epoch == 0 or self._fits == 0:
            self._fits += 1
        run_seed, run = (self.seed, self._fits) if seed is None else (int(seed) & (2 ** 63 - 1), 0)
        batch_hooks = bool(cbs.batch_hooks)
        logs = {}

        # TallyNet runs the epoch loop and calls these (the GIL taken back for each).
        def on_epoch_begin(epoch):
            cbs.call("on_epoch_begin", epoch, {})
            if batch_hooks:
                cbs.call_batch("on_train_batch_begin", 0, {})

        def on_batch_end(batch, size, batch_loss, epoch_loss):
            cbs.call_batch("on_train_batch_end", batch, {"loss": epoch_loss})
            if self.stop_training:
                return True
            if batch + 1 < steps:
                cbs.call_batch("on_train_batch_begin", batch + 1, {})
            return False

        def on_epoch_end(epoch, loss, counts, vloss, vcounts):
            nonlocal logs
            logs, t = self._logs(loss, counts, metrics, threshold, names)
            history.tallies.append(t)
            if vcounts is not None:
                vlogs, vt = self._logs(vloss, vcounts, metrics, threshold, names, prefix="val_",
                                       scores=(xv, yv, vweights))
                logs.update(vlogs)
                history.val_tallies.append(vt)
                history.tuned.append(self._last_tuned)
            cbs.call("on_epoch_end", epoch, logs)
            return self.stop_training

        cbs.call("on_train_begin", {})
        validation = (xv, yv, vweights) if validation_data is not None else ()
        _tallynet.net_fit(self._handle, x, y, batch_size, epochs, int(initial_epoch), bool(shuffle), run_seed, run,
                          threshold, on_batch_end if batch_hooks else None, on_epoch_begin, on_epoch_end, weights,
                          *validation)
        cbs.call("on_train_end", logs)
        return history

    def _check_validation(self, x, y, weights=None):
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
        inside = (y >= 0) & (y <= 1)  # False for NaN too
        if weights is not None and weights.ndim == 2:
            inside |= weights == 0  # a missing label is not read
        if not inside.all():
            bad = tuple(int(i) for i in np.argwhere(~inside)[0])
            raise ValueError(f"Expected `validation y` to hold 0/1 labels or soft targets in [0, 1], but got "
                             f"{y[bad]} at {bad}")

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, return_dict=False, *,
                 metrics=None, threshold=None, label_names=None, ignore_value=None):
        """The loss and the metrics on (x, y) in inference mode, exactly: a list
        ``[loss, metric, ...]`` (a float without metrics), or with ``return_dict``
        every log value including the per-label ones. With `sample_weight` (1-D, finite,
        >= 0) the loss is Keras's ``sum(w * loss) / n`` and the metrics are weighted; 2-D
        weights and `ignore_value` as in `fit`."""
        if not self._compiled:
            raise RuntimeError("Expected a compiled model (call model.compile(...) before evaluate), "
                               "but got an uncompiled one")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        metrics = self._metrics if metrics is None else [_Metric(m) for m in metrics]
        threshold = self._threshold if threshold is None else _plain_threshold(threshold)
        names = self._label_keys(int(np.prod(self._info()[1])), label_names)
        x, y = _samples(x, "x"), _labels(y, "y")
        weights = _weights(sample_weight, y, ignore_value)
        if any(m.calibration for m in metrics):
            _calibration.check_binary(y, "y", weights)
        loss, counts = _tallynet.net_evaluate(self._handle, x, y, batch_size, threshold, weights)
        logs, _ = self._logs(loss, counts, metrics, threshold, names, scores=(x, y, weights))
        if return_dict:
            return logs
        values = [logs["loss"]] + [logs[m.name] for m in metrics]
        return values[0] if len(values) == 1 else values

    def tally(self, x, y, batch_size=None, *, threshold=None, label_names=None):
        """The exact counts of the model's predictions on (x, y) as a `tally.Tally`
        (``.report()``, ``.f1(average=None)``, ...). Needs no compile."""
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        threshold = self._threshold if threshold is None else _plain_threshold(threshold)
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
        _tallynet.net_predict(self._handle, x, batch_size, out)
        return out

    def __call__(self, x):
        return self.predict(x)

    # -- saving (the file format lives in `_files`) --------------------------------------------

    def save(self, filepath, overwrite=True):
        """Writes the whole model to one file (a ``.npz`` zip, whatever the name):
        the layers, the weights in Keras's layout (``weights/<name>``), the compile
        configuration (optimizer, loss, metrics, threshold, label names) and the optimizer's
        state (``iterations`` and ``optimizer/<weight>/<slot>``: SGD's momentum, Adam's
        momentum and velocity). `load_model` rebuilds it; training then continues bit for
        bit (see `fit` on `initial_epoch`). Callable metrics are saved by name: pass them
        back with ``load_model(path, custom_objects={name: function})``."""
        _files.save_model(self, filepath, overwrite)

    def save_weights(self, filepath, overwrite=True):
        """Writes only the weights (Keras's layout, ``weights/<name>`` in a ``.npz``)."""
        _files.save_weights(self, filepath, overwrite)

    def load_weights(self, filepath):
        """Reads the weights written by `save_weights` or `save` (the optimizer state is
        kept, as `set_weights`); the file must hold this model's weights by name and shape."""
        _files.load_weights(self, filepath)

    def _optimizer_state(self):
        """(iterations, slot names, slot arrays) of the compiled model's optimizer."""
        iterations, names, shapes = _tallynet.net_optimizer_info(self.build()._handle)
        slots = []
        for i, shape in enumerate(shapes):
            a = np.empty(tuple(shape), dtype=np.float32)
            _tallynet.net_read_optimizer_slot(self._handle, i, a)
            slots.append(a)
        return int(iterations), list(names), slots

    def _set_optimizer_state(self, iterations, slots):
        """Replaces the optimizer's iteration count and slot arrays (all checked first)."""
        _tallynet.net_write_optimizer_state(self.build()._handle, int(iterations),
                                         [np.ascontiguousarray(a, dtype=np.float32) for a in slots])

    def __repr__(self):
        shape = self._input_shape
        return f"<tally.net.Sequential {self.name!r}: {len(self.layers)} layers, input_shape={shape}>"


def _plain_threshold(threshold):
    """A threshold as the trainer takes it: a number, or an array for anything that is
    one (a `TunedThresholds` result, a list); the trainer checks the values."""
    if isinstance(threshold, (list, tuple)) or (hasattr(threshold, "__array__") and not isinstance(threshold, np.ndarray)):
        return np.asarray(threshold, dtype=np.float64)
    return threshold


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

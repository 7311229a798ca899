"""`from_keras`: a tally.net `Sequential` with a Keras `Sequential` model's layers,
weights and (when compiled) optimizer and loss. Imports nothing of Keras: it reads
the model's configuration."""

from __future__ import annotations

import numpy as np

from ._checks import _ACTIVATIONS
from .layers import Activation, Conv2D, Dense, Dropout, Flatten, MaxNorm, MaxPooling2D
from .model import Sequential
from .optimizers import SGD, Adam

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

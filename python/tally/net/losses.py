"""The losses `compile` accepts (the loss itself is computed in Swift).

Targets may be soft (any value in [0, 1]), and both cross-entropies take Keras's
``label_smoothing``: binary trains on ``y * (1 - s) + 0.5 * s``, categorical on
``y * (1 - s) + s / classes``. The exact epoch metrics count a soft target as the
label it stands for, ``y >= 0.5``; label smoothing acts inside the loss only.
"""

from __future__ import annotations

import math
from numbers import Real

_LOSSES = ("binary_crossentropy", "categorical_crossentropy")
_KERAS_CLASSES = {"BinaryCrossentropy": "binary_crossentropy",
                  "CategoricalCrossentropy": "categorical_crossentropy"}


def _smoothing(value):
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or not 0 <= value <= 1:
        raise ValueError(f"Invalid `label_smoothing` argument value: expected a number in [0, 1]. "
                         f"Received: label_smoothing={value!r}")
    return float(value)


class _CrossEntropy:
    _name = ""

    def __init__(self, from_logits=False, label_smoothing=0.0):
        self.from_logits = bool(from_logits)
        self.label_smoothing = _smoothing(label_smoothing)

    def get_config(self):
        return {"name": self._name, "from_logits": self.from_logits, "label_smoothing": self.label_smoothing}

    def __repr__(self):
        return (f"{type(self).__name__}(from_logits={self.from_logits}, "
                f"label_smoothing={self.label_smoothing})")


class BinaryCrossentropy(_CrossEntropy):
    """Keras's `BinaryCrossentropy(from_logits=False, label_smoothing=0.0)`: the mean over
    labels of each sample's cross-entropy, against (optionally smoothed) targets."""
    _name = "binary_crossentropy"


class CategoricalCrossentropy(_CrossEntropy):
    """Keras's `CategoricalCrossentropy(from_logits=False, label_smoothing=0.0)`."""
    _name = "categorical_crossentropy"


def _loss(value):
    """(name, from_logits, label_smoothing) from a string, a `tally.net` loss object or a
    Keras `BinaryCrossentropy`/`CategoricalCrossentropy` (read through `get_config`)."""
    if isinstance(value, str):
        name = {"bce": "binary_crossentropy", "cce": "categorical_crossentropy"}.get(value, value)
        if name in _LOSSES:
            return name, False, 0.0
    elif isinstance(value, _CrossEntropy):
        return value._name, value.from_logits, value.label_smoothing
    else:
        kind = _KERAS_CLASSES.get(type(value).__name__)
        config = value.get_config() if kind and hasattr(value, "get_config") else {}
        if kind:
            # Keras's defaults; anything else would train differently here.
            if config.get("reduction", "sum_over_batch_size") != "sum_over_batch_size":
                raise ValueError(f"Expected a loss with Keras's default reduction 'sum_over_batch_size', "
                                 f"but got reduction={config['reduction']!r} in {value!r}")
            if config.get("axis", -1) != -1:
                raise ValueError(f"Expected a loss over the last axis (axis=-1), but got axis={config['axis']!r}")
            return kind, bool(config.get("from_logits", False)), _smoothing(config.get("label_smoothing", 0.0))
    raise ValueError(f"Expected `loss` to be one of {_LOSSES}, a tally.net or Keras BinaryCrossentropy/"
                     f"CategoricalCrossentropy, but got {value!r}")

"""Argument checks shared by the layers, the optimizers and the model: each returns
the value normalised or raises ValueError in Keras's words ("Invalid `x` argument
value ... Received: x=...")."""

from __future__ import annotations

import math
from numbers import Integral, Real

_ACTIVATIONS = ("linear", "relu", "sigmoid", "softmax")
_PADDINGS = ("valid", "same")


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

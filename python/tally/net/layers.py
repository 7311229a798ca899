"""Layer specifications (the weights live in the Swift model), the MaxNorm kernel
constraint, and the layers' configuration as saved in a model file."""

from __future__ import annotations

from numbers import Integral

from ._checks import _activation, _number, _pair, _padding, _positive_int, _shape

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

    def _spec(self):  # the tuple `_tallynet.net_new` reads
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def get_config(self):
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def _weighted(self, activation, use_bias, kernel_constraint, input_shape):
        """The arguments Conv2D and Dense share, checked."""
        self.activation = _activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_constraint = _constraint(kernel_constraint)
        self.input_shape = None if input_shape is None else _shape(input_shape, "input_shape")

    def _constraint_spec(self, ndim):
        """(max norm, axes) of the kernel constraint for the spec tuple, or (None, None)."""
        c = self.kernel_constraint
        return (None, None) if c is None else (c.max_value, c._axes(ndim))


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
        self._weighted(activation, use_bias, kernel_constraint, input_shape)

    def _spec(self):
        return ("conv2d", self.filters, *self.kernel_size, *self.strides, self.padding, self.activation,
                self.use_bias, *self._constraint_spec(4))


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
        self._weighted(activation, use_bias, kernel_constraint, input_shape)

    def _spec(self):
        return ("dense", self.units, self.activation, self.use_bias, *self._constraint_spec(2))


class Activation(Layer):
    """Keras `Activation` ('linear', 'relu', 'sigmoid' or 'softmax')."""

    def __init__(self, activation, input_shape=None):
        self.activation = _activation(activation) or "linear"
        self.input_shape = None if input_shape is None else _shape(input_shape, "input_shape")

    def _spec(self):
        return ("activation", self.activation)


def _layer_config(layer):
    config = layer.get_config()
    c = config.get("kernel_constraint")
    if isinstance(c, MaxNorm):
        config["kernel_constraint"] = {"class_name": "MaxNorm", "config": c.get_config()}
    return {"class_name": type(layer).__name__, "config": config}


def _layer_from_config(entry):
    cls = _LAYER_CLASSES.get(entry.get("class_name"))
    if cls is None:
        raise ValueError(f"unknown layer {entry.get('class_name')!r}")
    config = dict(entry["config"])
    c = config.get("kernel_constraint")
    if c is not None:
        config["kernel_constraint"] = MaxNorm(**c["config"])
    return cls(**config)


_LAYER_CLASSES = {cls.__name__: cls for cls in (Conv2D, MaxPooling2D, Dropout, Flatten, Dense, Activation)}

"""The arrays `fit`, `evaluate` and `predict` take: samples as float32, labels as a
matrix, per-sample weights, and Keras's `class_weight` as per-sample weights."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from .._convert import as_array, as_matrix, known_weights

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


def _weights(w, y, ignore_value, name="sample_weight"):
    """Per-sample weights (1-D), or per sample and label (2-D, binary cross-entropy only):
    as given, times 0 at the entries of `y` that `ignore_value` marks unknown (README
    "Missing labels"); TallyNet checks the 2-D values."""
    if w is not None:
        arr = as_array(w, name)
        if arr.ndim == 2:
            if arr.shape != y.shape:
                raise ValueError(f"Expected a 2-D `{name}` to have shape {y.shape} like `y`, but got {arr.shape}")
            w = np.ascontiguousarray(arr, dtype=np.float64)
        else:
            w = _sample_weight(arr, y.shape[0], name)
    return known_weights(y, w, ignore_value)


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

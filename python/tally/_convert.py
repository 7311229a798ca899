"""Input conversion at the edge: whatever scikit-learn accepts becomes arrays
that `_tally` reads in place (C-contiguous, native byte order, a supported dtype).
Conversion happens once; the Swift core does the checking of values."""

from __future__ import annotations

import numpy as np

# The dtypes the Swift core reads in place.
_NATIVE = {np.dtype(t) for t in (
    np.bool_, np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32,
    np.uint64, np.int64, np.float32, np.float64)}


def _type_name(obj) -> str:
    return type(obj).__name__


def as_array(obj, name: str, *, class_labels=False) -> np.ndarray:
    """`obj` as an ndarray (lists, pandas objects, memoryviews, array subclasses).
    With `class_labels`, a 1-D array of strings (multi-class targets) is accepted too."""
    if obj is None:
        raise TypeError(f"Expected `{name}` to be array-like, but got None")
    if isinstance(obj, (str, bytes, dict, set)):
        raise TypeError(f"Expected `{name}` to be array-like, but got {_type_name(obj)}")
    if hasattr(obj, "to_numpy") and not isinstance(obj, np.ndarray):
        obj = obj.to_numpy()
    elif hasattr(obj, "toarray") and not isinstance(obj, np.ndarray):  # scipy.sparse
        obj = obj.toarray()
    try:
        arr = np.asarray(obj)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Expected `{name}` to be array-like, but it could not be read as an array: {exc}") from None
    if class_labels and arr.ndim == 1 and arr.dtype.kind in "USO":
        return arr
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError):
            raise TypeError(f"Expected `{name}` to hold numbers, but got objects of type "
                            f"{_type_name(arr.flat[0]) if arr.size else 'object'}") from None
    if arr.dtype.kind == "c":
        raise TypeError(f"Expected `{name}` to hold real numbers, but got dtype {arr.dtype}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Expected `{name}` to hold numbers, but got dtype {arr.dtype}")
    return arr


def native(arr: np.ndarray) -> np.ndarray:
    """A C-contiguous array of a dtype the core reads, copying only when needed."""
    if arr.dtype not in _NATIVE or not arr.dtype.isnative:
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float64)
        elif arr.dtype.kind == "b":
            arr = arr.astype(np.bool_)
        else:
            arr = arr.astype(arr.dtype.newbyteorder("="))
    return np.ascontiguousarray(arr)


def as_matrix(obj, name: str) -> np.ndarray:
    """A 2-D native array (a 1-D input becomes one column)."""
    arr = as_array(obj, name)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"Expected `{name}` to be 2-D (n_samples, n_labels), but got {arr.ndim}-D with shape {arr.shape}")
    return native(arr)


def as_sample_weight(obj, n_samples: int, *, allow_all_zero=True, element_shape=None) -> np.ndarray | None:
    """Float64 weights, one per row. The one-shot functions reject all-zero
    weights as scikit-learn does; a streamed batch may weigh nothing. With
    `element_shape` (n_samples, n_labels), a 2-D weight per element is accepted too."""
    if obj is None:
        return None
    w = as_array(obj, "sample_weight")
    if w.ndim == 0:
        w = np.full(n_samples, float(w))
    if w.ndim == 2 and element_shape is not None:
        if w.shape != tuple(element_shape):
            raise ValueError(f"Expected a 2-D `sample_weight` to have shape {tuple(element_shape)} like `y_true`, "
                             f"but got {w.shape}")
        return np.ascontiguousarray(w, dtype=np.float64)
    if w.ndim != 1:
        want = "1-D (one weight per row) or 2-D (one per label)" if element_shape is not None else "1-D (one weight per row)"
        raise ValueError(f"Expected `sample_weight` to be {want}, but got {w.ndim}-D with shape {w.shape}")
    if w.shape[0] != n_samples:
        raise ValueError(f"Expected `sample_weight` to have {n_samples} values (one per row), but got {w.shape[0]}")
    w = np.ascontiguousarray(w, dtype=np.float64)
    if not allow_all_zero and n_samples > 0 and not w.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return w


def as_label_names(names, n_labels: int):
    """`names` as a list of `n_labels` strings (None stays None)."""
    if names is None:
        return None
    names = [str(n) for n in names]
    if len(names) != n_labels:
        raise ValueError(f"Expected `label_names` to have {n_labels} names, but got {len(names)}")
    return names


def as_thresholds(threshold, n_labels: int | None):
    """A float, or a float64 array with one threshold per label."""
    if isinstance(threshold, (int, float, np.integer, np.floating)) and not isinstance(threshold, bool):
        t = float(threshold)
        if np.isnan(t):
            raise ValueError("Expected `threshold` to be a number, but got nan")
        return t
    t = np.ascontiguousarray(as_array(threshold, "threshold"), dtype=np.float64)
    if t.ndim == 0:
        return float(t)
    if t.ndim != 1:
        raise ValueError(f"Expected `threshold` to be a number or 1-D (one per label), but got shape {t.shape}")
    if n_labels is not None and t.shape[0] != n_labels:
        raise ValueError(f"Expected `threshold` to have {n_labels} values (one per label), but got {t.shape[0]}")
    return t


def logit(p):
    """log(p / (1 - p)) in float64: a threshold on probabilities as one on logits
    (`from_logits=True`); 0 and 1 give -inf and inf."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


def as_columns(labels):
    """`labels` as int64 column indices, or None. Floats (and bools) are refused, not
    truncated; the core checks the range when it scores."""
    if labels is None:
        return None
    columns = np.asarray(labels)
    if (columns.ndim != 1 or columns.size == 0 or columns.dtype.kind not in "iu"
            or (columns.dtype.kind == "u" and int(columns.max()) > np.iinfo(np.int64).max)):
        raise ValueError(f"Expected `labels` to be a non-empty list of column indices (ints), but got {labels!r}")
    return np.ascontiguousarray(columns, dtype=np.int64)


def known_weights(y_true: np.ndarray, weight, ignore_value, *, one_shot=False):
    """The weights that score `y_true` on its known entries (README "Missing labels"):
    with `ignore_value`, the Swift core's element weights, 0 where `y_true` is nan or
    `ignore_value` and the given weight (1-D per row, 2-D per element, or 1) elsewhere;
    `weight` itself when nothing is unknown, so a fully known batch takes the unmasked
    path. A one-shot function refuses a batch where nothing is known."""
    if ignore_value is None:
        return weight
    if isinstance(ignore_value, bool) or not isinstance(ignore_value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Expected `ignore_value` to be a number such as -1 or nan, but got {_type_name(ignore_value)}")
    from . import _tally

    raw = _tally.missing_weights(y_true, float(ignore_value), weight)
    if raw is None:
        return weight
    w = np.frombuffer(raw, dtype=np.float64).reshape(y_true.shape)
    if one_shot and y_true.size and not w.any():
        raise ValueError(f"Expected at least one known entry in `y_true`, but every entry is unknown "
                         f"(ignore_value={ignore_value!r}) or weighs 0")
    return w


def check_missing_target(multilabel: bool, ignore_value):
    """`ignore_value` marks entries of a multi-label indicator matrix only."""
    if ignore_value is not None and not multilabel:
        raise ValueError("Expected a multilabel-indicator `y_true` (2-D, several labels) with `ignore_value`, "
                         "but got a 1-D target: drop its unknown rows instead")

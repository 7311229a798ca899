"""The losses `compile` accepts (the loss itself is computed in Swift)."""

from __future__ import annotations

_LOSSES = ("binary_crossentropy", "categorical_crossentropy")


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

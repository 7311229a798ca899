"""`load_model`: the model `Sequential.save` wrote, rebuilt with its layers, weights,
compile configuration and optimizer state (the file format is in `_files`)."""

from __future__ import annotations

import numpy as np

from .. import _tallynet
from ._files import _FORMAT, _member, _read_npz
from ._metrics import _Metric
from .layers import _layer_from_config
from .model import Sequential
from .optimizers import SGD, Adam

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
        label_smoothing = float(saved.get("label_smoothing", 0.0))  # files before soft targets lack it
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
    model._compile(opt, loss, from_logits, [_Metric(m) for m in metrics], threshold, saved.get("label_names"),
                   label_smoothing)
    expected = _tallynet.net_optimizer_info(model._handle)[1]
    if list(expected) != slot_names:
        raise ValueError(f"Expected the optimizer slots {list(expected)} for {opt!r}, but {str(filepath)!r} "
                         f"lists {slot_names}")
    model._set_optimizer_state(iterations, [_member(data, f"optimizer/{n}", filepath) for n in slot_names])

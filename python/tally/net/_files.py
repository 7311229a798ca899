"""The model file: a `.npz` zip holding a JSON configuration and the arrays
(weights in Keras's layout, optimizer slots), written through a temporary file.
`Sequential.save`, `save_weights` and `load_weights` call these; `saving.load_model`
reads a model back."""

from __future__ import annotations

import numpy as np

from .layers import _layer_config

_FORMAT = "tally.net.Sequential"
_WEIGHTS_FORMAT = "tally.net.weights"
_VERSION = 1
_CONFIG_KEY = "tally_config"


def save_model(model, filepath, overwrite):
    """What `Sequential.save` writes (see there)."""
    model.build()
    info = model._info()
    config = {
        "format": _FORMAT, "version": _VERSION, "name": model.name, "seed": model.seed,
        "input_shape": list(info[0]), "layers": [_layer_config(layer) for layer in model.layers],
        "weight_names": list(info[2]), "fits": model._fits, "compile": None,
    }
    arrays = {f"weights/{n}": w for n, w in zip(info[2], model.get_weights())}
    if model._compiled:
        iterations, names, slots = model._optimizer_state()
        t = model._threshold
        config["compile"] = {
            "optimizer": {"class_name": type(model.optimizer).__name__, "config": dict(vars(model.optimizer))},
            "loss": model.loss, "from_logits": bool(model._from_logits),
            "label_smoothing": model._label_smoothing,
            "metrics": [m.name if m.function is None else {"callable": m.name} for m in model._metrics],
            "threshold": float(t) if np.ndim(t) == 0 else np.asarray(t, np.float64).tolist(),
            "label_names": model._label_names,
            "iterations": iterations, "optimizer_slot_names": names,
        }
        arrays.update({f"optimizer/{n}": a for n, a in zip(names, slots)})
    _write_npz(filepath, config, arrays, overwrite)


def save_weights(model, filepath, overwrite):
    """Writes only the weights (Keras's layout, ``weights/<name>`` in a ``.npz``)."""
    info = model._info()
    config = {"format": _WEIGHTS_FORMAT, "version": _VERSION, "weight_names": list(info[2])}
    _write_npz(filepath, config, {f"weights/{n}": w for n, w in zip(info[2], model.get_weights())}, overwrite)


def load_weights(model, filepath):
    """Reads the weights written by `save_weights` or `save` (the optimizer state is
    kept, as `set_weights`); the file must hold this model's weights by name and shape."""
    config, data = _read_npz(filepath, (_FORMAT, _WEIGHTS_FORMAT))
    with data:
        names = model.weight_names
        if list(config.get("weight_names", [])) != names:
            raise ValueError(f"Expected the weights {names} in {str(filepath)!r}, but it holds "
                             f"{config.get('weight_names')}")
        model.set_weights([_member(data, f"weights/{n}", filepath) for n in names])


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

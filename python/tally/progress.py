"""What a progress line shows of an epoch's logs, and the per-label table printed
every few epochs instead: shared by `tally.keras.ProgressLine` and `tally.net`'s
progress bar. The logs themselves keep every per-label scalar (`f1/cat`,
`val_roc_auc/cat`) for History, CSVLogger and EarlyStopping; only the printing
leaves them out of the line."""

from __future__ import annotations

import math


def compact(logs, keys=None):
    """The entries a progress line prints: `keys` in that order where present, or by
    default the loss and the averages, i.e. every key without a per-label part
    (`f1/cat` is per label; `macro_f1`, `val_loss` are not)."""
    logs = logs or {}
    if keys is not None:
        return {k: logs[k] for k in keys if k in logs}
    return {k: v for k, v in logs.items() if "/" not in k}


def check_keys(keys):
    """None, or a list of log keys (a str alone is refused: it would be read letter by letter)."""
    if keys is None:
        return None
    if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"Invalid `keys` argument value. Expected a list of log keys. Received: keys={keys!r}")
    return tuple(keys)


def per_label_table(logs, digits=2):
    """The per-label entries of `logs` (`<metric>/<label>`) as the core's table: one row
    per label, one column per metric, in the order the keys first appear; "" when the
    logs hold none. A value a label lacks prints as nan."""
    from . import _tally

    columns, labels, cells = [], [], {}
    for key, value in (logs or {}).items():
        metric, slash, label = key.partition("/")
        if not slash:
            continue
        if metric not in columns:
            columns.append(metric)
        if label not in labels:
            labels.append(label)
        try:
            cells[metric, label] = float(value)
        except (TypeError, ValueError):
            cells[metric, label] = math.nan
    if not columns:
        return ""
    import numpy as np

    values = np.array([cells.get((m, lab), math.nan) for lab in labels for m in columns], dtype=np.float64)
    return _tally.label_table(columns, labels, values, int(digits))


def check_every(value, name="table_every"):
    """An epoch interval: an int >= 0 (0: never)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"Invalid `{name}` argument value. Expected an int >= 0. Received: {name}={value!r}")
    return value

"""The state of a Tally Keras metric: its Swift-side spec and the layout of the
state vector (Sources/TallyPython/Keras.swift documents it). Each float64 value
of the state is kept in Keras variables as two float32 words, hi + lo."""

from __future__ import annotations

import numpy as np

from .. import _tally

_SAMPLES_BLOCK = {"precision": 0, "recall": 1, "fbeta": 2, "jaccard": 3}


class _Spec:
    """The Swift-side description of a metric (label count, thresholds, beta).
    Holds a `_tally` handle, rebuilt after copying or pickling."""

    def __init__(self, n_labels, thresholds, beta):
        self.n_labels = int(n_labels)
        self.thresholds = np.ascontiguousarray(thresholds, dtype=np.float64)
        self.beta = float(beta)
        self.handle = _tally.keras_spec(self.n_labels, self.thresholds, self.beta)
        self.size = _tally.keras_state_size(self.handle)
        # Offsets into the state vector (Sources/TallyPython/Keras.swift documents the layout).
        n = self.n_labels
        self.rows, self.weight, self.samples, self.exact = 3 * n, 3 * n + 1, 3 * n + 2, 3 * n + 18
        assert self.size == 3 * n + 19, "state layout of keras_accumulate changed"

    def __getstate__(self):
        return (self.n_labels, self.thresholds, self.beta)

    def __setstate__(self, state):
        self.__init__(*state)

    def __deepcopy__(self, memo):
        return _Spec(self.n_labels, self.thresholds, self.beta)

    def accumulate(self, y_true, y_pred, sample_weight, hi, lo):
        """The new (hi, lo) state: runs on the host, once per batch."""
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=np.float64).reshape(-1)
        out = np.frombuffer(
            _tally.keras_accumulate(self.handle, np.ascontiguousarray(y_true), np.ascontiguousarray(y_pred),
                                    sample_weight, np.ascontiguousarray(hi, dtype=np.float32),
                                    np.ascontiguousarray(lo, dtype=np.float32)),
            dtype=np.float32)
        return out[: self.size], out[self.size:]

"""The state of a Tally Keras metric: its Swift-side spec and the layout of the
state vector, read from the core (`SummedCounts.Layout`, via `_tally.summed_layout`).
Each float64 value of the state is kept in Keras variables as two float32 words, hi + lo."""

from __future__ import annotations

import numpy as np

from .. import _tally

class _Spec:
    """The Swift-side description of a metric (label count, thresholds, beta).
    Holds a `_tally` handle, rebuilt after copying or pickling."""

    def __init__(self, n_labels, thresholds, beta):
        self.n_labels = int(n_labels)
        self.thresholds = np.ascontiguousarray(thresholds, dtype=np.float64)
        self.beta = float(beta)
        self.handle = _tally.keras_spec(self.n_labels, self.thresholds, self.beta)
        # Offsets into the state vector by name ("rows", "precision", "exact_match_weight", ...).
        self.offsets = _tally.summed_layout(self.n_labels)
        self.size = self.offsets["size"]
        # The device path stacks per-label blocks of n values and scalar entries of 1
        # or 4 values in offset order; a layout it could not fill contiguously is refused.
        sizes = {"true_positives": self.n_labels, "false_positives": self.n_labels,
                 "false_negatives": self.n_labels, "rows": 1, "weight_sum": 1, "precision": 4, "recall": 4,
                 "fbeta": 4, "jaccard": 4, "exact_match_weight": 1, "label_weight": self.n_labels}
        end = 0
        for name in sorted(sizes, key=self.offsets.get):
            if self.offsets[name] != end:
                raise RuntimeError(f"tally.keras cannot fill the core's state layout {self.offsets}")
            end += sizes[name]
        # The device path also writes the known-row weights per label last.
        if end != self.size or self.offsets["label_weight"] + self.n_labels != self.size:
            raise RuntimeError(f"tally.keras cannot fill the core's state layout {self.offsets}")

    def __getstate__(self):
        return (self.n_labels, self.thresholds, self.beta)

    def __setstate__(self, state):
        self.__init__(*state)

    def __deepcopy__(self, memo):
        return _Spec(self.n_labels, self.thresholds, self.beta)

    def accumulate(self, y_true, y_pred, sample_weight, hi, lo):
        """The new (hi, lo) state: runs on the host, once per batch."""
        if sample_weight is not None:
            # One weight per row, or (2-D) one per element: 0 marks an unknown label.
            sample_weight = np.ascontiguousarray(sample_weight, dtype=np.float64)
            if sample_weight.ndim != 2 or sample_weight.shape[1] != self.n_labels or self.n_labels == 1:
                sample_weight = sample_weight.reshape(-1)
        out = np.frombuffer(
            _tally.keras_accumulate(self.handle, np.ascontiguousarray(y_true), np.ascontiguousarray(y_pred),
                                    sample_weight, np.ascontiguousarray(hi, dtype=np.float32),
                                    np.ascontiguousarray(lo, dtype=np.float32)),
            dtype=np.float32)
        return out[: self.size], out[self.size:]

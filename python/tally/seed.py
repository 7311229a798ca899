"""The seed question's Keras metrics, reproduced in numpy, to show what they report.

The question (2018) defined `precision`/`recall` as Keras function metrics computed on
each batch. Keras then (1) averaged each batch's per-label vector into one number and
(2) averaged those numbers over the batches of the epoch. Neither step gives the
epoch's precision or recall — the point of Tally. These functions compute exactly that
batch-averaged number from the same predictions, so the demo can print it next to
the exact values.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-7  # keras.backend.epsilon()


def _k_round(x):
    # K.round is tf.round: half to even, like np.round.
    return np.round(x)


def seed_recall(y_true, y_pred):
    """The question's `recall(y_true, y_pred)`: a per-label vector for one batch."""
    true_positives = np.sum(_k_round(np.clip(y_true * y_pred, 0, 1)), axis=0)
    possible_positives = np.sum(_k_round(np.clip(y_true, 0, 1)), axis=0)
    return true_positives / (possible_positives + EPSILON)


def seed_precision(y_true, y_pred):
    """The question's `precision(y_true, y_pred)`, per label for one batch.

    The question sums predicted positives over axis=1 (per row), which cannot be
    divided into a per-label vector unless the batch has as many rows as labels;
    this is the evident intent, axis=0.
    """
    true_positives = np.sum(_k_round(np.clip(y_true * y_pred, 0, 1)), axis=0)
    predicted_positives = np.sum(_k_round(np.clip(y_pred, 0, 1)), axis=0)
    return true_positives / (predicted_positives + EPSILON)


def batch_averaged(metric, y_true, y_score, batch_size=32):
    """What Keras showed for a function metric over an epoch: the per-label vector of
    each batch averaged to a scalar, then the batch scalars averaged weighted by batch size."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_score = np.asarray(y_score, dtype=np.float64)
    total, seen = 0.0, 0
    for start in range(0, len(y_true), batch_size):
        t, p = y_true[start:start + batch_size], y_score[start:start + batch_size]
        total += float(np.mean(metric(t, p))) * len(t)
        seen += len(t)
    return total / seen if seen else float("nan")

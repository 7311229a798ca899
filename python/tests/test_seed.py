"""The seed question's mistake, reproduced: batch-averaged function metrics are not the
epoch's metrics, while Tally's streamed counts are."""

import numpy as np
import pytest
import sklearn.metrics as sk

import tally
from tally.seed import batch_averaged, seed_precision, seed_recall


def test_seed_recall_is_the_question_formula_on_one_batch():
    y_true = np.array([[1, 0, 1], [1, 1, 0]], dtype=float)
    y_pred = np.array([[0.7, 0.2, 0.4], [0.5, 0.9, 0.1]])
    # K.round sends 0.5 to 0 (half to even): tp = [1, 1, 0], possible = [2, 1, 1]
    np.testing.assert_allclose(seed_recall(y_true, y_pred), [1 / (2 + 1e-7), 1 / (1 + 1e-7), 0])


def test_batch_averaging_differs_from_the_epoch_value_and_tally_does_not():
    rng = np.random.default_rng(0)
    y_true = rng.random((545, 39)) < np.linspace(0.02, 0.5, 39)   # rare labels, as in the seed
    y_score = np.clip(y_true * 0.6 + rng.random((545, 39)) * 0.5, 0, 1)
    exact = sk.recall_score(y_true, y_score >= 0.5, average="macro", zero_division=0)
    keras_like = batch_averaged(seed_recall, y_true, y_score, batch_size=32)
    assert abs(keras_like - exact) > 0.02          # the seed's number is off
    acc = tally.Tally(39)
    for start in range(0, 545, 32):
        acc.update(y_true[start:start + 32], y_score[start:start + 32])
    assert acc.recall("macro", zero_division=0) == pytest.approx(exact, abs=1e-15)

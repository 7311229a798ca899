"""`tally.net`: the Swift CNN trainer (TallyNet) behind a Keras-like face.

Build a `Sequential` model from a list of layers (or import a Keras `Sequential`
with `from_keras`), `compile` it, and `fit` it on numpy arrays. Each epoch's
metrics are exact: they come from the integer confusion counts of every
prediction made in the epoch (a `tally.Tally`), not from averages of batch
values, and per-label values reach the logs as scalars (``val_f1/3``).

>>> import tally.net as tn
>>> model = tn.Sequential([
...     tn.Conv2D(32, (3, 3), padding="same", activation="relu", kernel_constraint=tn.MaxNorm(3)),
...     tn.MaxPooling2D((2, 2)),
...     tn.Flatten(),
...     tn.Dense(10, activation="sigmoid"),
... ], input_shape=(24, 24, 1))
>>> model.compile(optimizer=tn.SGD(0.01, momentum=0.9), loss="binary_crossentropy")
>>> history = model.fit(x, y, epochs=5, validation_data=(xv, yv), metrics=["f1", "precision_micro"])  # doctest: +SKIP
>>> history.history["val_f1/3"]                                                                      # doctest: +SKIP

``sample_weight``/``class_weight`` weigh the loss and the metrics as Keras 3 does;
``model.save(path)`` and ``tally.net.load_model(path)`` keep the layers, weights,
compile configuration and optimizer state in one ``.npz`` file, so that training
resumes bit for bit (``fit(..., initial_epoch=k)``).

Training runs in Swift with the GIL released; callbacks run in Python between
batches (``on_train_batch_end``) and epochs; Ctrl-C stops after the current batch
and raises KeyboardInterrupt with the model in a consistent state. This module
never imports Keras unless `from_keras` is given a Keras model.

The package, by job: `layers`, `optimizers`, `losses`, `callbacks`, `model`
(`Sequential`: compile, fit, evaluate, predict), `saving` (`load_model`; the file
format in `_files`) and `keras_import` (`from_keras`).
"""

from ._inputs import class_weight_to_sample_weights
from .callbacks import Callback, EarlyStopping, History, ProgressBar, SaveThresholds
from .keras_import import from_keras
from .backend import backend, backend_report
from .layers import Activation, Conv2D, Dense, Dropout, Flatten, Input, Layer, MaxNorm, MaxPooling2D, max_norm, maxnorm
from .losses import BinaryCrossentropy, CategoricalCrossentropy
from .model import Sequential, seed_model
from .optimizers import SGD, Adam
from .saving import load_model

__all__ = [
    "Sequential", "from_keras", "seed_model", "load_model", "class_weight_to_sample_weights",
    "Input", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Activation",
    "MaxNorm", "SGD", "Adam", "BinaryCrossentropy", "CategoricalCrossentropy", "backend", "backend_report",
    "Callback", "History", "EarlyStopping", "ProgressBar", "SaveThresholds",
]

"""Keras metrics and callbacks whose logged values are exact.

`model.compile(metrics=[tally.keras.F1Score(average="macro")])` logs, at the end of
each epoch, the F1 of the whole epoch (scikit-learn's `f1_score` on the epoch's
predictions), not a mean over batches, and puts each label's value into the logs
as its own scalar (`f1/cat`, `val_f1/cat`, or `f1/3` without names), so History,
CSVLogger, TensorBoard, EarlyStopping and ModelCheckpoint can use them.

How it works. Each metric keeps its state in Keras variables, so Keras resets it
at each epoch and before evaluation, sums it across replicas and saves it. Keras
variables are float32, so each state value is kept as two float32 words (hi + lo,
about 48 significant bits) and counts stay exact far beyond 2^24. Each batch is
counted one of two ways (`counting=`):

- "host": Tally's Swift core counts the batch and adds it to the state in float64,
  reached from a traced step through `jax.pure_callback` / `tf.numpy_function`.
  Used when eager (a plain call) and on backends other than JAX and TensorFlow.
- "device": the step counts the batch in backend ops: 0/1 indicators from
  `y_pred >= threshold`, per-label and per-row sums in float32 (integers, so exact
  for batches under 2^24 rows), added into hi + lo exactly (TwoSum). No host round
  trip: the only way in an XLA-compiled TensorFlow step (`jit_compile=True`, Keras's
  "auto" on a GPU), ~30x cheaper than the callback on JAX, and no device-to-host
  copy per step on a GPU. A batch the core would refuse (y_true not 0/1, nan scores)
  still raises its message from the host, reached only when that happens; an
  XLA-compiled TensorFlow step cannot call out, so there the value becomes nan.

"auto" (default) counts compiled steps on the device and eager ones on the host.
`result()` turns the counts into scores in backend ops, without an epsilon, with
scikit-learn's rules for `zero_division` and averaging.

`PerLabelReport` is an epoch-end callback that scores a whole validation set
through one `tally.Tally`, adds the scores to `logs` (`val_f1/cat`, ...), prints
a per-label table every few epochs and keeps a per-epoch history.
`ProgressLine` replaces Keras's progress bar, which prints every key in `logs`,
with the loss and the averages on the line and a per-label table every few epochs.
`BinnedROCAUC` and `BinnedAveragePrecision` bin the scores on the device, with a
stated bound on the distance to the exact values.

Importing this package imports Keras; `import tally` does not.

The package, by job: `_state` (the state layout, hi + lo words), `_host` (counting
on the host by the Swift core), `_device` (counting in backend ops), `_scores`
(scores from the state in backend ops), `metrics` (the Keras metric classes),
`binned` (the binned ranking metrics), `callbacks` (`PerLabelReport`) and
`progress` (`ProgressLine`).
"""

from .binned import BinnedAveragePrecision, BinnedROCAUC
from .callbacks import PerLabelReport
from .metrics import (F1Score, FBetaScore, HammingLoss, JaccardScore, LabelAccuracy, Precision, Recall,
                      SubsetAccuracy)
from .progress import ProgressLine

__all__ = [
    "Precision",
    "Recall",
    "FBetaScore",
    "F1Score",
    "JaccardScore",
    "LabelAccuracy",
    "SubsetAccuracy",
    "HammingLoss",
    "BinnedROCAUC",
    "BinnedAveragePrecision",
    "PerLabelReport",
    "ProgressLine",
]

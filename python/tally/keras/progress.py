"""`ProgressLine`: Keras's progress bar with a line a person can read."""

from __future__ import annotations

import keras

from ..progress import check_every, check_keys, compact, per_label_table


class ProgressLine(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, printing the loss and the averages only, and every
    `table_every` epochs the per-label values as one table.

    Keras's own bar prints every key in `logs`: with per-label scalars (`f1/cat`,
    `val_roc_auc/cat`, ...) that is thousands of characters per epoch. Pass this
    callback and Keras uses it instead of its own (it is a `ProgbarLogger`); `fit`'s
    `verbose` still chooses the bar (1) or one line per epoch (2). The logs are not
    changed: History, CSVLogger and EarlyStopping still get every per-label key.
    Place it after the callbacks that add to the logs (`PerLabelReport`), so that
    their averages are on the line and their per-label values in the table.

    Args:
        table_every: print the per-label table every this many epochs (0: never).
        digits: decimals in the table.
        keys: the log keys to print on the line, in this order, where present (default:
            every key without a per-label part, as the logs order them).

    Example:
        model.fit(x, y, validation_data=(xv, yv), verbose=2,
                  callbacks=[tally.keras.PerLabelReport((xv, yv), ranking=True, print_every=0),
                             tally.keras.ProgressLine(table_every=5)])
    """

    def __init__(self, table_every=0, digits=2, keys=None):
        super().__init__()
        self.table_every = check_every(table_every)
        self.keys = check_keys(keys)
        if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 15:
            raise ValueError(f"Invalid `digits` argument value. Expected an int in [0, 15]. Received: digits={digits!r}")
        self.digits = digits

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, compact(logs, self.keys))

    def on_test_batch_end(self, batch, logs=None):
        super().on_test_batch_end(batch, compact(logs, self.keys))

    def on_test_end(self, logs=None):
        super().on_test_end(compact(logs, self.keys))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, compact(logs, self.keys))
        if self.verbose and self.table_every and (epoch + 1) % self.table_every == 0:
            table = per_label_table(logs, self.digits)
            if table:
                print(f"Epoch {epoch + 1}: per-label values\n{table}", flush=True)

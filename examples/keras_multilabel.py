"""The seed question's Keras script, minimally edited to report exact per-label metrics.

Changes from the question's code (marked `# Tally:` below):
  1. the metric functions `precision`/`recall` are replaced by `tally.keras` metrics,
     whose logged values are the epoch's exact scores and whose per-label values
     reach the logs as scalars (`val_f1/digit 3`);
  2. a `tally.keras.PerLabelReport` callback scores the whole validation set per label
     each epoch (F1 and the rest, and exact ROC AUC / average precision) into the logs,
     and drives EarlyStopping on `val_macro_f1`;
  5. `tally.keras.ProgressLine` replaces Keras's progress bar, which prints every key
     in the logs (about 3,000 characters per epoch with these 10 labels): its line
     holds the loss and the averages, and every 2 epochs it prints the per-label values
     as one table. History and EarlyStopping still see every per-label key.
  3. data: the question's 204x204 images are not public, so this uses Tally's
     offline digit mosaics (labels = the digits present) at a small size;
  4. `SGD(lr=...)` is `learning_rate=` in Keras 3, and `maxnorm` is `MaxNorm`;

Run with either backend:
    KERAS_BACKEND=jax python examples/keras_multilabel.py
    KERAS_BACKEND=tensorflow python examples/keras_multilabel.py --epochs 5
"""

import argparse

import keras
from keras.constraints import MaxNorm
from keras.layers import Activation, Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D
from keras.models import Sequential
from keras.optimizers import SGD

import tally.keras  # Tally: exact metrics and the per-label callback
from tally.datasets import digit_mosaics

ap = argparse.ArgumentParser()
ap.add_argument("--epochs", type=int, default=5)
ap.add_argument("--train", type=int, default=1269)
ap.add_argument("--val", type=int, default=545)
args = ap.parse_args()

data = digit_mosaics(n_train=args.train, n_val=args.val, n_test=10, grid=2, blank=0.45)
X_train, Y_train, X_valid, Y_valid = data.x_train, data.y_train, data.x_val, data.y_val
names = data.label_names

# Model: CNN (the question's, layer for layer)
model = Sequential()
model.add(Input(shape=X_train.shape[1:]))
model.add(Conv2D(32, (3, 3), padding="same", activation="relu", kernel_constraint=MaxNorm(3)))
model.add(Dropout(0.2))
model.add(Conv2D(32, (3, 3), activation="relu", padding="same", kernel_constraint=MaxNorm(3)))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Flatten())
model.add(Dense(512, activation="relu", kernel_constraint=MaxNorm(3)))
model.add(Dropout(0.5))
model.add(Dense(Y_train.shape[1]))
model.add(Activation("sigmoid"))
# Compile model
epochs = args.epochs
lrate = 0.1  # the question's 0.001 learns nothing in a few epochs on this data
decay = lrate / epochs
sgd = SGD(learning_rate=lrate, momentum=0.9, decay=decay, nesterov=False)
model.compile(loss="binary_crossentropy", optimizer=sgd,
              metrics=[tally.keras.Precision(average="macro", label_names=names),   # Tally: exact,
                       tally.keras.Recall(average="macro", label_names=names)])     # per label in logs

report = tally.keras.PerLabelReport((X_valid, Y_valid), label_names=names, print_every=0, ranking=True)  # Tally
stop = keras.callbacks.EarlyStopping(monitor="val_macro_f1", mode="max", patience=3)
progress = tally.keras.ProgressLine(table_every=2)  # Tally: a line a person can read

# fitting the model
history = model.fit(X_train, Y_train, epochs=epochs, batch_size=32, validation_data=(X_valid, Y_valid),
                    callbacks=[report, stop, progress], verbose=2)
print(f"\nLast epoch, per-label scores on {report.tally.n_samples} validation rows\n" + report.tally.report(zero_division=0))
print("logged keys:", ", ".join(sorted(k for k in history.history if k.startswith("val_") and "/" not in k)))
print("val_f1 per label, last epoch:",
      {n: round(history.history[f"val_f1/{n}"][-1], 3) for n in names})

"""One of the two processes of a Keras job (JAX backend) across processes, run by
test_keras_processes.py: `python keras_two_processes.py PROCESS_ID PORT OUT.json`.

`keras.distribution.initialize` starts `jax.distributed` with its coordinator on
127.0.0.1:PORT; `DataParallel` over the two processes' CPU devices trains one model,
each process feeding only its own shard of the training and validation data. Each
process writes what Keras logged and, on process 0, the union's predictions scored
by a one-process copy of the trained model, for the test to compare with scikit-learn.
"""

import json
import os
import sys

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jax  # noqa: E402
import numpy as np  # noqa: E402

N_LABELS = 5
AVERAGES = ("micro", "macro", "weighted", "samples")
COUNTINGS = ("device", "host")


def shard(process_id, n, seed):
    """A process's own rows: features that carry skewed labels, some rows with none."""
    rng = np.random.default_rng(seed + 100 * process_id)
    y = (rng.random((n, N_LABELS)) < np.linspace(0.08, 0.5, N_LABELS)).astype("float32")
    x = np.concatenate([y + rng.normal(scale=1.2, size=y.shape), rng.normal(size=(n, 3))], axis=1)
    return x.astype("float32"), y


def metrics(tk):
    """The same metrics counted both ways: in backend ops ("device") and by the Swift core
    through `jax.pure_callback` ("host"). Per-label values for the macro F1 and precision."""
    out = []
    for counting in COUNTINGS:
        out += [tk.F1Score(average=a, name=f"{counting}_{a}_f1", per_label=a == "macro", counting=counting)
                for a in AVERAGES]
        out += [tk.Precision(average="macro", name=f"{counting}_macro_precision", counting=counting),
                tk.Recall(average="micro", name=f"{counting}_micro_recall", per_label=False, counting=counting),
                tk.SubsetAccuracy(name=f"{counting}_subset_accuracy", counting=counting),
                tk.JaccardScore(average="weighted", name=f"{counting}_weighted_jaccard", per_label=False,
                                counting=counting)]
    return out


def model_for(keras):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((N_LABELS + 3,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(N_LABELS, activation="sigmoid")])


def main():
    process_id, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    import keras

    keras.distribution.initialize(job_addresses=f"127.0.0.1:{port}", num_processes=2, process_id=process_id)
    import tally.keras as tk

    devices = keras.distribution.list_devices()
    assert jax.process_count() == 2 and len(devices) == 2, (jax.process_count(), devices)
    distribution = keras.distribution.DataParallel(devices=devices)
    distribution.auto_shard_dataset = False  # each process reads only its own shard already
    keras.distribution.set_distribution(distribution)
    x, y = shard(process_id, 192, seed=1)
    x_val, y_val = shard(process_id, 96, seed=2)  # equal sizes: the processes step in lockstep
    model = model_for(keras)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=metrics(tk))
    # batch_size is per process: each step trains on 16 rows of each shard.
    history = model.fit(x, y, epochs=4, batch_size=16, validation_data=(x_val, y_val), verbose=0)
    evaluated = model.evaluate(x_val, y_val, batch_size=16, verbose=0, return_dict=True)
    weights = [np.asarray(w) for w in model.get_weights()]  # replicated on both processes
    result = {"process_id": process_id, "devices": [str(d) for d in devices],
              "val_logs": {k[4:]: float(v[-1]) for k, v in history.history.items() if k.startswith("val_")},
              "evaluate": {k: float(v) for k, v in evaluated.items()}}
    if process_id == 0:
        # The union of both validation shards, predicted by a one-process copy of the model.
        keras.distribution.set_distribution(None)
        local = model_for(keras)
        local.set_weights(weights)
        union = [shard(p, 96, seed=2) for p in (0, 1)]
        x_all = np.concatenate([u[0] for u in union])
        result["y_true"] = np.concatenate([u[1] for u in union]).astype(int).tolist()
        result["y_score"] = local.predict(x_all, batch_size=64, verbose=0).astype(float).tolist()
    with open(out, "w") as f:
        json.dump(result, f)
    jax.distributed.shutdown()
    print("ok")


if __name__ == "__main__":
    main()

"""Keras's own distribution across two processes on one machine: the JAX backend,
`keras.distribution.initialize` (jax.distributed, coordinator on 127.0.0.1) and
`DataParallel` over the two processes' CPU devices (gloo collectives), each process
feeding its own shard. The Tally metrics both processes log at the end of `fit` and
from `evaluate` equal scikit-learn on the union of the validation shards, counted in
backend ops ("device") and by the Swift core through `jax.pure_callback` ("host").
The processes run python/tests/keras_two_processes.py."""

import importlib.util
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import sklearn.metrics as sk

HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-6  # Keras logs float32
pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras") is None or importlib.util.find_spec("jax") is None,
                                reason="needs Keras and JAX")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_job(tmp_path):
    """Both processes' JSON results; fails with their output if either fails."""
    port = _free_port()
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("XLA_FLAGS", None)  # one CPU device per process
    outs = [os.path.join(tmp_path, f"process{p}.json") for p in (0, 1)]
    procs = [subprocess.Popen([sys.executable, os.path.join(HERE, "keras_two_processes.py"), str(p), str(port),
                               outs[p]], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for p in (0, 1)]
    logs = []
    try:
        for proc in procs:
            logs.append(proc.communicate(timeout=400)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for p, (proc, log) in enumerate(zip(procs, logs)):
        assert proc.returncode == 0 and log.rstrip().endswith("ok"), f"process {p}:\n{log[-4000:]}"
    return [json.load(open(out)) for out in outs]


def test_two_processes_log_sklearn_on_the_union_of_their_shards(tmp_path):
    first, second = _run_job(tmp_path)
    assert len(first["devices"]) == 2 and first["devices"] == second["devices"]
    y_true, y_score = np.array(first["y_true"]), np.array(first["y_score"])
    assert y_true.shape == (192, 5)  # both shards of 96 rows
    # Predictions from the one-process copy equal the job's to float32 rounding: no score
    # may sit so close to the threshold that rounding could move it across.
    assert np.min(np.abs(y_score - 0.5)) > 1e-5
    y_pred = y_score >= 0.5
    expected = {f"{a}_f1": sk.f1_score(y_true, y_pred, average=a, zero_division=0)
                for a in ("micro", "macro", "weighted", "samples")}
    expected["macro_precision"] = sk.precision_score(y_true, y_pred, average="macro", zero_division=0)
    expected["micro_recall"] = sk.recall_score(y_true, y_pred, average="micro", zero_division=0)
    expected["subset_accuracy"] = sk.accuracy_score(y_true, y_pred)
    expected["weighted_jaccard"] = sk.jaccard_score(y_true, y_pred, average="weighted", zero_division=0)
    for j, value in enumerate(sk.f1_score(y_true, y_pred, average=None, zero_division=0)):
        expected[f"macro_f1/{j}"] = value
    for j, value in enumerate(sk.precision_score(y_true, y_pred, average=None, zero_division=0)):
        expected[f"macro_precision/{j}"] = value
    assert 0 < expected["macro_f1"] < expected["micro_f1"] < 1  # the model learned some labels, not all
    for result in (first, second):
        for logged in (result["val_logs"], result["evaluate"]):
            for counting in ("device", "host"):
                for name, value in expected.items():
                    got = logged[f"{counting}_{name}"]
                    assert abs(got - value) < TOL, (result["process_id"], counting, name, got, value)
    assert first["evaluate"] == second["evaluate"]

"""Tally's Keras metrics and callback against scikit-learn, on real Keras training.

Keras fixes its backend at import, so every case runs in a subprocess with
KERAS_BACKEND set (the cases are in keras_cases.py). The argument checks that
need no training run in this process.
"""

import os
import subprocess
import sys

import pytest

pytest.importorskip("keras")

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
BACKENDS = []
for _name, _module in (("jax", "jax"), ("tensorflow", "tensorflow")):
    try:
        __import__("importlib.util").util.find_spec(_module) and BACKENDS.append(_name)
    except (ImportError, ValueError):
        pass


def run_case(backend, *args, env=None, timeout=240):
    """Runs `keras_cases.py args...` under `backend`; returns its stdout, failing the
    test with the case's output when it does not finish with "ok"."""
    environ = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
                   PYTHONPATH=PACKAGE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    environ.update(env or {})
    proc = subprocess.run([sys.executable, os.path.join(HERE, "keras_cases.py"), *args], env=environ,
                          capture_output=True, text=True, timeout=timeout, cwd=HERE)
    out = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not out or out[-1] != "ok":
        pytest.fail(f"case {args} on {backend} failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-6000:]}")
    return proc.stdout


def needs(backend):
    return pytest.mark.skipif(backend not in BACKENDS, reason=f"{backend} is not installed")


@pytest.mark.parametrize("backend", [pytest.param(b, marks=needs(b)) for b in ("jax", "tensorflow")])
@pytest.mark.parametrize("mode", ["compiled", "eager"])
def test_logged_values_equal_sklearn_every_epoch(backend, mode):
    out = run_case(backend, "exact", mode)
    assert "checked" in out


@pytest.mark.parametrize("backend", [pytest.param(b, marks=needs(b)) for b in ("jax", "tensorflow")])
def test_sample_weights_per_label_thresholds_and_logits(backend):
    run_case(backend, "weighted", "compiled")


@needs("jax")
def test_seed_batch_averaged_metric_differs_tally_matches():
    out = run_case("jax", "seed_mistake")
    assert "seed's batch-averaged recall" in out


@needs("jax")
def test_data_parallel_on_two_devices_equals_one_device():
    run_case("jax", "distributed", env={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"})


@pytest.mark.parametrize("backend", [pytest.param(b, marks=needs(b)) for b in ("jax", "tensorflow")])
def test_save_and_load_compiled_model(backend):
    run_case(backend, "save_load")


@pytest.mark.parametrize("backend,kinds", [
    pytest.param("jax", ["arrays", "pydataset", "generator"], marks=needs("jax")),
    pytest.param("tensorflow", ["tfdata", "factory"], marks=needs("tensorflow")),
])
def test_per_label_report_drives_early_stopping(backend, kinds):
    out = run_case(backend, "callback", *kinds)
    assert all(f"{k}: stopped after 2 epochs" in out for k in kinds), out


@pytest.mark.parametrize("backend", [pytest.param(b, marks=needs(b)) for b in ("jax", "tensorflow")])
def test_bad_input_raises_clear_errors(backend):
    run_case(backend, "bad_input")


def test_import_tally_does_not_import_keras():
    code = "import sys, tally, tally.metrics; assert 'keras' not in sys.modules, 'keras imported'; print('ok')"
    environ = dict(os.environ, PYTHONPATH=PACKAGE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "ok", proc.stderr

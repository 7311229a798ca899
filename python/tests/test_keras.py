"""Tally's Keras metrics and callback against scikit-learn, on real Keras training.

Keras fixes its backend at import, so the cases (keras_cases.py) run in
subprocesses with KERAS_BACKEND set. Importing and warming Keras costs seconds
per interpreter, so each backend's cases run in one interpreter per session
(`GROUPS`), on the first test that needs them; each test then checks its own
case's result. The argument checks that need no training run in this process.
"""

import os
import re
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

# group -> (backend, extra environment, cases). Two simulated CPU devices let the
# JAX group run the DataParallel case too; without a distribution Keras uses one.
GROUPS = {
    "jax": ("jax", {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}, [
        "counting", "exact compiled", "exact eager", "seed_mistake", "distributed", "save_load",
        "callback arrays pydataset generator", "bad_input", "ranking", "progress", "binned", "best_thresholds",
        "calibration", "missing", "missing eager"]),
    "tensorflow": ("tensorflow", {}, [
        "counting", "exact compiled", "exact xla", "exact eager", "save_load", "callback tfdata factory",
        "bad_input", "xla_bad_input", "ranking", "progress", "binned", "binned xla",
        "best_thresholds", "calibration", "missing"]),
}
_results = {}


def run_cases(backend, cases, env=None, timeout=900):
    """Runs `keras_cases.py` over `cases` under `backend`; returns {case: (ok, output)}."""
    environ = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
                   PYTHONPATH=PACKAGE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    environ.update(env or {})
    argv = []
    for case in cases:
        argv += (["+"] if argv else []) + case.split()
    proc = subprocess.run([sys.executable, os.path.join(HERE, "keras_cases.py"), *argv], env=environ,
                          capture_output=True, text=True, timeout=timeout, cwd=HERE)
    out = {}
    for case in cases:
        # A case's own output runs from the previous case's status line to its own.
        m = re.search(rf"^== {re.escape(case)}: (ok|FAILED)", proc.stdout, re.M)
        if m is None:
            out[case] = (False, f"(no result: the interpreter stopped, rc {proc.returncode})\n"
                                f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
            continue
        before = proc.stdout[:m.start()]
        start = max(before.rfind("\n== "), 0)
        end = proc.stdout.find(f"== end {case}", m.end())
        text = proc.stdout[start:(m.end() if end < 0 else end)]
        out[case] = (m.group(1) == "ok", text + ("" if m.group(1) == "ok" else f"\n{proc.stderr[-3000:]}"))
    return out


def case(group, name):
    """The output of one case of `group`; fails the test with it when the case failed."""
    if group not in _results:
        backend, env, cases = GROUPS[group]
        _results[group] = run_cases(backend, cases, env)
    ok, text = _results[group][name]
    if not ok:
        pytest.fail(f"case {name!r} on {group} failed:\n{text}")
    return text


def needs(backend):
    return pytest.mark.skipif(backend not in BACKENDS, reason=f"{backend} is not installed")


ON_BOTH = [pytest.param(b, marks=needs(b)) for b in ("jax", "tensorflow")]


@pytest.mark.parametrize("backend", ON_BOTH)
def test_device_counting_equals_the_swift_core(backend):
    assert "device counting equals the core's" in case(backend, "counting")


@pytest.mark.parametrize("backend", ON_BOTH)
@pytest.mark.parametrize("mode", ["compiled", "eager"])
def test_logged_values_equal_sklearn_every_epoch(backend, mode):
    # Also sample weights (zero ones too), per-label thresholds and logits.
    assert "checked" in case(backend, f"exact {mode}")


@needs("tensorflow")
def test_tensorflow_xla_logged_values_equal_sklearn():
    assert "checked" in case("tensorflow", "exact xla")


@needs("tensorflow")
def test_tensorflow_xla_bad_input_and_host_counting():
    case("tensorflow", "xla_bad_input")


@needs("jax")
def test_seed_batch_averaged_metric_differs_tally_matches():
    assert "seed's batch-averaged recall" in case("jax", "seed_mistake")


@needs("jax")
def test_data_parallel_on_two_devices_equals_one_device():
    case("jax", "distributed")


@pytest.mark.parametrize("backend", ON_BOTH)
def test_save_and_load_compiled_model(backend):
    case(backend, "save_load")


@pytest.mark.parametrize("backend,kinds", [
    pytest.param("jax", "arrays pydataset generator", marks=needs("jax")),
    pytest.param("tensorflow", "tfdata factory", marks=needs("tensorflow")),
])
def test_per_label_report_drives_early_stopping(backend, kinds):
    out = case(backend, f"callback {kinds}")
    assert all(f"{k}: stopped after 2 epochs" in out for k in kinds.split()), out


@pytest.mark.parametrize("backend", ON_BOTH)
def test_per_label_report_logs_exact_auc_ap_and_tuned_thresholds(backend):
    assert "ranking and tuned thresholds checked" in case(backend, "ranking")


@pytest.mark.parametrize("backend,mode", [
    pytest.param("jax", "", marks=needs("jax")),
    pytest.param("jax", " eager", marks=needs("jax")),
    pytest.param("tensorflow", "", marks=needs("tensorflow")),
])
def test_missing_labels_scored_on_known_entries(backend, mode):
    # Host and device counting, and PerLabelReport, against scikit-learn on the known entries.
    assert "missing labels checked" in case(backend, f"missing{mode}")


@pytest.mark.parametrize("backend", ON_BOTH)
def test_progress_line_is_short_and_history_keeps_every_per_label_key(backend):
    assert "progress line checked" in case(backend, "progress")


@pytest.mark.parametrize("backend", ON_BOTH)
def test_binned_auc_ap_metrics_equal_the_core_and_bound_sklearn(backend):
    assert "binned (compiled) checked" in case(backend, "binned")


@pytest.mark.parametrize("backend", ON_BOTH)
def test_per_label_report_writes_the_best_epochs_thresholds(backend):
    assert "best thresholds checked" in case(backend, "best_thresholds")


@needs("tensorflow")
def test_binned_auc_ap_metrics_under_xla():
    assert "binned (xla) checked" in case("tensorflow", "binned xla")


@pytest.mark.parametrize("backend", ON_BOTH)
def test_per_label_report_logs_calibration_equal_to_sklearn(backend):
    assert "calibration checked" in case(backend, "calibration")


@pytest.mark.parametrize("backend", ON_BOTH)
def test_bad_input_raises_clear_errors(backend):
    case(backend, "bad_input")


def test_import_tally_does_not_import_keras():
    code = "import sys, tally, tally.metrics; assert 'keras' not in sys.modules, 'keras imported'; print('ok')"
    environ = dict(os.environ, PYTHONPATH=PACKAGE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "ok", proc.stderr

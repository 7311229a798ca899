"""tally.net's backend report and kernel choice, and soft targets / label smoothing
against Keras."""

import ctypes
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import f1_score

import tally.net as tn

from test_net import keras_model, small_data


def run_python(code, **env):
    full = {k: v for k, v in os.environ.items() if k not in ("BLIS_ARCH_TYPE", "TALLY_BLIS_ARCH")}
    full.update(env)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


# -- backend ---------------------------------------------------------------------------

def test_backend_reports_the_cpu_and_the_kernels():
    b = tn.backend()
    assert set(b) == {"cpu", "gemm", "elementwise_kernels", "own_kernels", "threads"}
    assert b["gemm"]["library"].startswith("BLIS ")
    assert b["gemm"]["kernels"] and b["gemm"]["chosen_by"]
    assert b["threads"] == os.cpu_count()
    if b["cpu"]["architecture"] == "x86_64":
        cpu_info = open("/proc/cpuinfo").read()
        assert f"cpu family\t: {b['cpu']['family']}\n" in cpu_info
        assert f"model\t\t: {b['cpu']['model']}\n" in cpu_info
        assert f"vendor_id\t: {b['cpu']['vendor']}\n" in cpu_info
        flags = set(next(l for l in cpu_info.splitlines() if l.startswith("flags")).split(":")[1].split())
        for feature in ("avx2", "fma", "avx512f", "avx512bw"):
            assert (feature in b["cpu"]["features"]) == (feature in flags), feature
    report = tn.backend_report()
    assert f"kernels {b['gemm']['kernels']}" in report
    m = tn.Sequential([tn.Conv2D(8, (3, 3), padding="same", activation="relu"),
                       tn.Conv2D(8, (3, 3), padding="same", activation="relu"),
                       tn.Flatten(), tn.Dense(2, activation="sigmoid")], input_shape=(8, 8, 3))
    lines = []
    m.summary(print_fn=lines.append)
    assert report in lines[0]
    assert "winograd F(4x4,3x3)" in lines[0] and "direct, stacked rows" in lines[0]
    m.allows_winograd = False
    lines.clear()
    m.summary(print_fn=lines.append)
    assert "winograd" not in lines[0]


def test_no_reference_gemm_on_a_cpu_with_avx2():
    b = tn.backend()
    if not {"avx2", "fma"} <= set(b["cpu"]["features"]):
        pytest.skip(f"no AVX2+FMA here: {b}")
    assert b["gemm"]["optimized"], b
    assert b["gemm"]["kernels"] != "generic", b
    assert b["elementwise_kernels"] != "baseline", b
    assert b["gemm"]["chosen_by"].startswith("instruction set"), b


def test_own_gemm_loops_chosen_by_features():
    # TallyNet's own GEMM loops wherever the CPU has AVX-512F and FMA, BLIS elsewhere or
    # when TALLY_GEMM=blis asks for it (read once, in a fresh process here).
    b = tn.backend()
    own = {"avx512f", "fma"} <= set(b["cpu"]["features"])
    assert (b["own_kernels"] == "TallyNet AVX-512 (Dense products, Winograd block products, stacked-row convolutions)") == (own and os.environ.get("TALLY_GEMM") != "blis"), b
    assert f"own GEMM loops: {b['own_kernels']}" in tn.backend_report()
    if own:
        out = run_python("import tally.net as tn; print(tn.backend()['own_kernels'])", TALLY_GEMM="blis")
        assert out.strip() == "none, BLIS runs every GEMM (TALLY_GEMM=blis)", out


TRAIN_SMALL_SEED_MODEL = """
import numpy as np, tally.net as tn
rng = np.random.default_rng(3)
x = rng.random((40, 12, 12, 3), dtype=np.float32)
y = (rng.random((40, 5)) < 0.3).astype(np.float32)
m = tn.seed_model(5, (12, 12, 3), seed=2)
m.compile(tn.SGD(0.05, momentum=0.9), "binary_crossentropy")
m.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
np.save({path!r}, np.concatenate([w.ravel() for w in m.get_weights()]))
"""


def test_own_gemm_loops_train_as_blis(tmp_path):
    # The seed's layers (Winograd conv2, Dense with max-norm and momentum) trained on TallyNet's
    # own GEMM loops and, in a process with TALLY_GEMM=blis, on BLIS: the same weights up to
    # the order of float32 sums (each path's Keras parity is tested in test_net.py).
    if not {"avx512f", "fma"} <= set(tn.backend()["cpu"]["features"]):
        pytest.skip("no AVX-512F+FMA here: BLIS runs every GEMM")
    runs = {}
    for name, env in (("own", {}), ("blis", {"TALLY_GEMM": "blis"})):
        path = str(tmp_path / f"{name}.npy")
        run_python(TRAIN_SMALL_SEED_MODEL.format(path=path), **env)
        runs[name] = np.load(path)
    scale = np.abs(runs["blis"]).max()
    assert scale > 0.01
    np.testing.assert_allclose(runs["own"], runs["blis"], rtol=0, atol=2e-5 * scale)
    assert not np.array_equal(runs["own"], runs["blis"]), "both runs took the same path"


def test_the_choice_leaves_the_environment_as_it_was():
    # BLIS reads BLIS_ARCH_TYPE once; TallyNet removes the value it set, so child
    # processes (which may load another BLIS) do not inherit it.
    tn.backend()
    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_char_p
    if "BLIS_ARCH_TYPE" not in os.environ:
        assert libc.getenv(b"BLIS_ARCH_TYPE") is None


def test_the_users_blis_arch_type_is_kept():
    out = run_python("import tally.net as tn; b = tn.backend(); print(b['gemm']['kernels'], '|', b['gemm']['chosen_by'])",
                     BLIS_ARCH_TYPE="3")
    kernels, chosen_by = (s.strip() for s in out.split("|"))
    assert kernels == "haswell"
    assert chosen_by == "BLIS_ARCH_TYPE=3 in the environment (the user's choice)"
    out = run_python("import tally.net as tn; print(tn.backend()['gemm']['chosen_by'])", TALLY_BLIS_ARCH="table")
    assert out.strip() == "BLIS's own CPU-model table (TALLY_BLIS_ARCH=table)"


# -- soft targets and label smoothing ----------------------------------------------------

@pytest.fixture(scope="module")
def keras():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(3)
    return keras


def soft_targets(y, seed=0):
    """Soft targets on the label's side of 0.5: 1 -> [0.5, 1], 0 -> [0, 0.5)."""
    u = np.random.default_rng(seed).random(y.shape)
    return np.where(y == 1, 0.5 + 0.5 * u, 0.49 * u).astype(np.float32)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_soft_targets_and_label_smoothing_train_as_keras(keras, smoothing):
    km = keras_model(keras, dropout=False)
    km.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
               loss=keras.losses.BinaryCrossentropy(label_smoothing=smoothing))
    net = tn.from_keras(km)
    x, y = small_data(30, seed=4)
    soft = soft_targets(y)
    # The loss on the same weights.
    theirs = km.evaluate(x, soft, batch_size=30, verbose=0)
    ours = net.evaluate(x, soft, batch_size=30, verbose=0)
    assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-6)
    # Three SGD steps on soft targets.
    for i in range(3):
        km.train_on_batch(x[10 * i:10 * i + 10], soft[10 * i:10 * i + 10])
    net.fit(x, soft, batch_size=10, epochs=1, shuffle=False, verbose=0)
    for a, b, name in zip(km.get_weights(), net.get_weights(), net.weight_names):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5, err_msg=name)


def test_categorical_label_smoothing_as_keras(keras):
    L = keras.layers
    km = keras.Sequential([keras.Input((6,)), L.Dense(4, activation="softmax")])
    km.compile(optimizer=keras.optimizers.SGD(0.5),
               loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.3))
    net = tn.from_keras(km)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 6)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 20)]
    assert net.evaluate(x, y, batch_size=20, verbose=0) == pytest.approx(
        km.evaluate(x, y, batch_size=20, verbose=0), rel=1e-5)
    km.train_on_batch(x, y)
    net.fit(x, y, batch_size=20, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(km.get_weights(), net.get_weights()):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)


def test_soft_targets_count_the_labels_they_stand_for():
    x, y = small_data(48, seed=2)
    soft = soft_targets(y, seed=1)
    m = tn.Sequential([tn.Flatten(), tn.Dense(5, activation="sigmoid")], input_shape=(16, 16, 3), seed=2)
    m.compile(tn.SGD(0.05), tn.BinaryCrossentropy(label_smoothing=0.1), metrics=["f1"])
    h = m.fit(x[:32], soft[:32], validation_data=(x[32:], soft[32:]), epochs=2, batch_size=8, verbose=0)
    # The validation F1 is scikit-learn's against the labels (soft >= 0.5), on the model's predictions.
    predicted = (m.predict(x[32:]) >= 0.5).astype(int)
    expected = f1_score(y[32:], predicted, average=None, zero_division=0)
    np.testing.assert_allclose([h.history[f"val_f1/{j}"][-1] for j in range(5)], expected, rtol=0, atol=1e-12)
    # Label smoothing and soft targets survive saving.
    assert m._label_smoothing == pytest.approx(0.1)


def test_label_smoothing_is_saved(tmp_path):
    m = tn.Sequential([tn.Dense(2, activation="sigmoid")], input_shape=(3,))
    m.compile(tn.SGD(0.1), tn.BinaryCrossentropy(label_smoothing=0.25))
    m.save(tmp_path / "m.npz")
    loaded = tn.load_model(tmp_path / "m.npz")
    x = np.ones((4, 3), np.float32)
    y = np.array([[1, 0]] * 4, np.float32)
    assert loaded._label_smoothing == 0.25
    assert loaded.evaluate(x, y, verbose=0) == m.evaluate(x, y, verbose=0)


def test_bad_targets_and_smoothing_are_refused():
    x, y = small_data(8)
    m = tn.Sequential([tn.Flatten(), tn.Dense(5, activation="sigmoid")], input_shape=(16, 16, 3))
    m.compile(tn.SGD(0.1), "binary_crossentropy")
    bad = y.astype(np.float32)
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"Expected `y` to hold 0/1 labels or soft targets in \[0, 1\], but got nan at \(2, 3\)"):
        m.fit(x, bad, verbose=0)
    bad[2, 3] = 1.25
    with pytest.raises(ValueError, match=r"Expected `validation y` to hold 0/1 labels or soft targets in \[0, 1\], "
                                         r"but got 1\.25 at \(2, 3\)"):
        m.fit(x, y, validation_data=(x, bad), verbose=0)
    with pytest.raises(ValueError, match=r"Invalid `label_smoothing` argument value: expected a number in \[0, 1\]\. "
                                         r"Received: label_smoothing=1\.5"):
        tn.BinaryCrossentropy(label_smoothing=1.5)

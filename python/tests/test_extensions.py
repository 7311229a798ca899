"""The two extension modules: `_tally` (the metrics) loads no BLAS, so neither does
`import tally`; `_tallynet` (the trainer, on BLIS) is loaded by `tally.net` only.
Each check runs in a fresh interpreter, whose memory map is read from /proc."""
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads /proc/self/maps (Linux)")

PRELUDE = """
import sys

def state():
    with open("/proc/self/maps") as maps:
        blis = any("libblis" in line for line in maps)
    return f"blis={blis} tallynet={'tally._tallynet' in sys.modules}"
"""


def _states(code):
    """Runs `code` in a new interpreter; returns the lines it printed."""
    r = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_metrics_load_no_blas_and_the_trainer_does():
    states = _states("""
        import numpy as np
        import tally, tally.metrics
        y_true = np.array([[1, 0, 1], [0, 1, 1]], dtype=bool)
        y_score = np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.7]], dtype=np.float32)
        # predictions [[1, 0, 0], [0, 1, 1]]: tp 3, fp 0, fn 1, so micro F1 = 6/7
        assert tally.metrics.f1_score(y_true, y_score >= 0.5, average="micro") == 6 / 7
        acc = tally.Tally(3)
        acc.update(y_true, y_score)
        assert acc.f1(average="micro") == 6 / 7
        print(state())
        import tally.net
        model = tally.net.Sequential([tally.net.Dense(3, activation="sigmoid")], input_shape=(4,))
        model.build()
        print(state())
    """)
    assert states == ["blis=False tallynet=False", "blis=True tallynet=True"]


def test_epoch_counts_cross_from_the_trainer_as_a_tally():
    # The counts come back from `_tallynet` as bytes and are restored in `_tally`:
    # the Tally that fit and evaluate return equals one counted in Python.
    states = _states("""
        import numpy as np
        import tally, tally.net
        rng = np.random.default_rng(0)
        x = rng.normal(size=(40, 4)).astype(np.float32)
        y = (rng.random((40, 3)) < 0.5).astype(np.uint8)
        model = tally.net.Sequential([tally.net.Dense(3, activation="sigmoid")], input_shape=(4,), seed=1)
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        history = model.fit(x, y, batch_size=16, epochs=1, verbose=0, validation_data=(x, y))
        got = history.val_tallies[-1]   # net_evaluate's counts, after the epoch
        want = tally.Tally(3)
        want.update(y, model.predict(x, verbose=0))
        assert isinstance(got, tally.Tally)
        assert got.to_bytes() == want.to_bytes(), (got.confusion(), want.confusion())
        print("ok")
    """)
    assert states == ["ok"]

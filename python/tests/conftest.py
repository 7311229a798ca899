import sys
import threading
import time
import warnings

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile("ci")


def run_recording(fn, *args, **kwargs):
    """(result, [(category name, message)]) of a call, recording every warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, [(w.category.__name__, str(w.message)) for w in caught]


def assert_same(ours, theirs, tol=1e-12):
    """Equal results (tuples, arrays, floats, None), nan equal to nan, dtypes of support equal."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b, tol)
        return
    if theirs is None:
        assert ours is None
        return
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=tol, atol=tol, equal_nan=True)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


class OtherThreadSteps:
    """Counts the steps of a second Python thread, with the interpreter's forced thread
    switches turned off (a 100 s switch interval): while the main thread holds the GIL the
    counter cannot move, so steps taken during a call prove the call released it.

        with OtherThreadSteps() as steps:
            before = steps.count
            long_swift_call()
            assert steps.count > before
    """

    def __init__(self):
        self.count = 0
        self._stop, self._started = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self._started.set()
        while not self._stop.is_set():
            self.count += 1
            time.sleep(0.0002)  # releases the GIL, so the main thread can take it back

    def __enter__(self):
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(100.0)
        self._thread.start()
        self._started.wait()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        sys.setswitchinterval(self._interval)

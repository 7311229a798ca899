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

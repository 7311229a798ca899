"""examples/sharded_evaluation.py runs (worker processes, merged states equal
scikit-learn), and bench/score_memory.py measures what the README states."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(*args, timeout=300):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_sharded_evaluation_example_runs_and_matches_sklearn():
    r = _run("examples/sharded_evaluation.py", "--rows", "3000", "--labels", "7", "--workers", "3")
    assert r.returncode == 0, r.stderr
    assert "scored in 3 worker processes" in r.stdout
    assert "every merged value equals scikit-learn on the concatenated arrays" in r.stdout


def test_score_store_memory_is_what_the_readme_says():
    r = _run("bench/score_memory.py", "--rows", "200000", "--labels", "39", "--batch", "10000", "--json")
    assert r.returncode == 0, r.stderr
    plain, weighted, wide = (json.loads(line) for line in r.stdout.splitlines())
    # 4-byte order key + 1 truth bit per cell; 8 bytes more per row once weighted; 8-byte keys
    # for float64 scores that float32 cannot hold.
    assert plain["memory_bytes_per_cell"] == pytest.approx(4.125, abs=1e-3)
    assert weighted["memory_bytes_per_cell"] == pytest.approx(4.125 + 8 / 39, abs=1e-3)
    assert wide["memory_bytes_per_cell"] == pytest.approx(8.125, abs=1e-3)
    # Resident memory: the store plus at most its last doubling, and some allocator slack.
    for case in (plain, weighted, wide):
        assert case["memory_bytes_per_cell"] * 0.9 <= case["rss_growth_per_cell"] <= 2.2 * case["memory_bytes_per_cell"]


def test_readme_multihost_snippet_runs_on_one_host():
    """The README's JAX gather-and-merge snippet, on a single host (one state gathered)."""
    pytest.importorskip("jax")
    code = '''
import numpy as np, tally
from jax.experimental import multihost_utils
acc = tally.Tally(3).update([[1, 0, 1], [0, 1, 1]], [[0.9, 0.2, 0.4], [0.1, 0.8, 0.7]])
state = np.frombuffer(acc.to_bytes(), dtype=np.uint8)
sizes = np.asarray(multihost_utils.process_allgather(np.array([state.size]))).reshape(-1)
padded = np.zeros(int(sizes.max()), np.uint8)
padded[: state.size] = state
gathered = np.asarray(multihost_utils.process_allgather(padded)).reshape(len(sizes), -1)
total = tally.Tally(acc.n_labels)
for host_state, n in zip(gathered, sizes):
    total.merge(tally.Tally(acc.n_labels).load_bytes(host_state[:n].tobytes()))
assert total.to_bytes() == acc.to_bytes()
print("ok")
'''
    env_extra = {"JAX_PLATFORMS": "cpu"}
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), **env_extra)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr

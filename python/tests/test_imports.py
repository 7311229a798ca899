"""The package's layout: every module imports alone, no two modules import each other
(directly or round a longer loop), no file is over 500 lines, and `import tally`
stays light (no Keras, JAX, TensorFlow or matplotlib).

Each module is imported in its own fresh interpreter: inside one process the
modules imported earlier would hide an import that only works in a certain order.
The cycle check reads the imports from the source (`ast`), at module level and
inside functions alike: a cycle broken by a function-level import is still two
modules that need each other.
"""

import ast
import importlib.util
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import tally

PACKAGE_DIR = os.path.dirname(os.path.abspath(tally.__file__))
ROOT = os.path.dirname(PACKAGE_DIR)  # the folder that holds `tally/`
MAX_LINES = 500
# Files allowed over MAX_LINES, each with its reason. Keep it empty: split a file by job instead.
LONG_FILES = {}
# Import cycles known and being removed, each with its reason; a cycle not listed fails.
KNOWN_CYCLES = {
    frozenset({"tally.metrics", "tally.report"}):
        "metrics.py re-exports classification_report and report.py calls back into metrics "
        "(issue 12: helper \"core\" gives report formatting its one home; delete this entry then)",
}
HEAVY = ("keras", "jax", "tensorflow", "matplotlib", "dask", "distributed", "pyarrow")
HAS_KERAS = importlib.util.find_spec("keras") is not None
HAS_DASK = importlib.util.find_spec("dask") is not None and importlib.util.find_spec("pandas") is not None


def _module_files():
    """{dotted module name: path} for every module and extension module of the package."""
    out = {}
    for folder, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        parts = os.path.relpath(folder, ROOT).split(os.sep)
        for name in sorted(files):
            if name.endswith(".py"):
                stem = name[:-3]
            elif name.endswith((".so", ".pyd")):
                stem = name.split(".")[0]
            else:
                continue
            dotted = ".".join(parts if stem == "__init__" else parts + [stem])
            out[dotted] = os.path.join(folder, name)
    return out


MODULES = _module_files()


def _needs_keras(module):
    return module == "tally.keras" or module.startswith("tally.keras.")


def _importable(module):
    """Whether the optional library a module is built on is installed (Keras, Dask)."""
    return (HAS_KERAS or not _needs_keras(module)) and (HAS_DASK or module != "tally.dask")


def _env():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="3")
    if importlib.util.find_spec("jax") is not None:
        env.setdefault("KERAS_BACKEND", "jax")  # the lighter backend to import
    return env


def _import_alone(module):
    """(module, returncode, stderr, tally's location) of `import module` in a fresh interpreter."""
    code = f"import {module}, tally; print(tally.__file__)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=600)
    return module, p.returncode, p.stderr, p.stdout.strip()


def test_the_package_has_its_modules():
    # Guards the loops below against an empty or wrong module list.
    for expected in ("tally", "tally.metrics", "tally.streaming", "tally.keras", "tally.keras.metrics",
                     "tally.net", "tally.net.model", "tally._tally", "tally.dask", "tally._version"):
        assert expected in MODULES, sorted(MODULES)


def test_every_module_imports_alone_in_a_fresh_interpreter():
    modules = [m for m in MODULES if _importable(m)]
    assert len(modules) > 20, modules
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 1))) as pool:
        results = list(pool.map(_import_alone, modules))
    failed = [f"{m} (rc {rc}):\n{err[-2000:]}" for m, rc, err, _ in results if rc != 0]
    assert not failed, "\n\n".join(failed)
    for module, _, _, where in results:
        assert where == tally.__file__, (module, where, tally.__file__)


@pytest.mark.skipif(not HAS_KERAS, reason="tally.keras needs Keras")
def test_keras_modules_were_imported():
    # The test above imports tally.keras.* only where Keras is installed: say that it did here.
    assert [m for m in MODULES if _needs_keras(m)]


def _imports(module, path):
    """The package's modules that `module` (at `path`) imports, anywhere in its source."""
    is_package = os.path.basename(path) == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module
            # `from x import y` imports the module x.y when there is one, else x.
            names = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in MODULES else stem for a in node.names]
        else:
            continue
        for name in names:
            # Importing a.b.c runs a, a.b and a.b.c.
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in MODULES)
    found.discard(module)
    # A module imports its parent packages anyway (a package importing its own
    # submodules is how packages work, not a cycle), so leave those edges out.
    return {m for m in found if not module.startswith(m + ".")}


def _cycles(graph):
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_cycle():
    # The check below passes when it finds nothing: show it can find something.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    graph = {m: _imports(m, p) for m, p in MODULES.items() if p.endswith(".py")}
    assert sum(len(v) for v in graph.values()) > 20, graph  # the parser found the imports
    assert "tally.keras._device" in graph["tally.keras.metrics"], graph["tally.keras.metrics"]
    unknown = [sorted(c) for c in _cycles(graph) if c not in KNOWN_CYCLES]
    assert not unknown, f"import cycles: {unknown}"


def test_no_file_over_500_lines():
    counts = {os.path.relpath(p, ROOT): sum(1 for _ in open(p, encoding="utf-8"))
              for p in MODULES.values() if p.endswith(".py")}
    assert counts and set(LONG_FILES) <= set(counts), (sorted(LONG_FILES), sorted(counts))
    long = {path: n for path, n in counts.items() if n > MAX_LINES and path not in LONG_FILES}
    assert not long, f"files over {MAX_LINES} lines (split them by job): {long}"


@pytest.mark.parametrize("statement, heavy", [
    ("import tally", HEAVY + ("tally.keras", "tally.net", "tally.dask")),
    ("import tally.metrics, tally.streaming, tally.scores", HEAVY + ("tally.keras", "tally.net", "tally.dask")),
    ("import tally.net", HEAVY),
])
def test_import_tally_stays_light(statement, heavy):
    code = f"import sys; {statement}; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=600)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [], f"`{statement}` imported {p.stdout.split()}"


def test_score_accumulators_at_top_level():
    from tally import scores

    assert (tally.ScoreTally, tally.BinnedScoreTally, tally.RankingTally) == \
        (scores.ScoreTally, scores.BinnedScoreTally, scores.RankingTally)
    assert {"ScoreTally", "BinnedScoreTally", "RankingTally"} <= set(tally.__all__)


def test_pyproject_ships_every_subpackage():
    # `packages` in pyproject.toml is an explicit list: a new subpackage left out of it
    # would work here and be missing from `pip install .`.
    import tomllib

    path = os.path.join(os.path.dirname(ROOT), "pyproject.toml")
    if not os.path.exists(path):
        pytest.skip("tally is not imported from a source checkout")
    with open(path, "rb") as fh:
        listed = set(tomllib.load(fh)["tool"]["setuptools"]["packages"])
    packages = {m for m, p in MODULES.items() if os.path.basename(p) == "__init__.py"}
    assert {"tally", "tally.keras", "tally.net"} <= packages, packages
    assert packages == listed, f"pyproject.toml lists {sorted(listed)}, the source has {sorted(packages)}"

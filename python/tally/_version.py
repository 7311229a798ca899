"""The package's version, in one place: `pyproject.toml` reads it (setuptools'
dynamic version, parsed without importing the package) and `tally.__version__`
re-exports it."""

__version__ = "0.1.0"

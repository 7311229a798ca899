"""Tally: exact, streaming, per-label metrics for multi-label classifiers.

The counting and scoring run in Swift (`tally._tally`); this package is the
Python face: scikit-learn-signature functions (`tally.metrics`), a streaming
accumulator (`tally.Tally`), Keras metrics and callbacks (`tally.keras`).
"""

from . import metrics
from .exceptions import UndefinedMetricWarning
from .streaming import Tally

__all__ = ["Tally", "metrics", "UndefinedMetricWarning"]
__version__ = "0.1.0"

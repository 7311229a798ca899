"""Tally: exact, streaming, per-label metrics for multi-label classifiers.

The counting and scoring run in Swift (`tally._tally`); this package is the
Python face: scikit-learn-signature functions (`tally.metrics`), a streaming
accumulator of confusion counts (`tally.Tally`), accumulators of the scores
themselves for ROC-AUC, average precision and the ranking metrics (`ScoreTally`,
`BinnedScoreTally`, `RankingTally`), calibration per label (`CalibrationTally`:
Brier score, log loss, ECE/MCE and reliability diagrams), Keras metrics and callbacks (`tally.keras`)
and the Swift CNN trainer (`tally.net`, over its own extension module
`tally._tallynet`, which links BLIS). `import tally` imports neither `tally.keras`
(nor Keras) nor `tally.net` (nor a BLAS).
"""

from . import metrics
from ._version import __version__
from .calibration import CalibrationTally
from .exceptions import UndefinedMetricWarning
from .scores import BinnedScoreTally, RankingTally, ScoreTally
from .streaming import Tally

__all__ = ["Tally", "ScoreTally", "BinnedScoreTally", "RankingTally", "CalibrationTally", "metrics", "UndefinedMetricWarning"]

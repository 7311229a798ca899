"""Where the Swift core's warnings become Python warnings.

The core has no Python, so a call that finds something to warn about returns it
as a list of pairs; this module is the one place that turns those lists into
`warnings.warn` calls. Two kinds of list come back:

- counting metrics (precision, recall, F, Jaccard, specificity, ...):
  ``(metric, message)``, always scikit-learn's `UndefinedMetricWarning`, raised
  only for the metrics the caller names (scikit-learn's ``warn_for``);
- score-based metrics (ROC-AUC, average precision, curves):
  ``(category name, message)``.

`stacklevel` is what the caller would pass to `warnings.warn` from this module's
function (1 is the line here, 2 its caller, ...).
"""

from __future__ import annotations

import warnings

from .exceptions import UndefinedMetricWarning

# The warning categories the core names, by name.
_CATEGORIES = {"UndefinedMetricWarning": UndefinedMetricWarning, "UserWarning": UserWarning}


def emit_warnings(found, warn_for, stacklevel=3):
    """Warns `UndefinedMetricWarning` for each ``(metric, message)`` whose metric is in `warn_for`."""
    for metric, message in found:
        if metric in warn_for:
            warnings.warn(message, UndefinedMetricWarning, stacklevel=stacklevel)


def emit_categorized(found, stacklevel):
    """Warns each ``(category name, message)`` with its category."""
    for category, message in found:
        warnings.warn(message, _CATEGORIES[category], stacklevel=stacklevel)

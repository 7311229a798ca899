"""Where the Swift core's warnings become Python warnings.

The core has no Python, so a call that finds something to warn about returns it
as a list of ``(category name, metric, message)`` triples (one warning type in the
core, `MetricWarning`, and one converter in the bridge); this module is the one
place that turns them into `warnings.warn` calls. ``metric`` names the score an
undefined-score warning is about (precision, recall, f-score, jaccard, ...), for
scikit-learn's ``warn_for``; it is None for the score-based metrics.

`stacklevel` is what the caller would pass to `warnings.warn` from this module's
function (1 is the line here, 2 its caller, ...).
"""

from __future__ import annotations

import warnings

from .exceptions import UndefinedMetricWarning

# The warning categories the core names, by name.
_CATEGORIES = {"UndefinedMetricWarning": UndefinedMetricWarning, "UserWarning": UserWarning}


def emit_warnings(found, warn_for=None, stacklevel=3):
    """Warns each ``(category name, metric, message)`` the core found, with its
    category; with `warn_for`, only those about the named metrics (scikit-learn's
    ``warn_for``: precision, recall, f-score, jaccard, ...)."""
    for category, metric, message in found:
        if warn_for is None or metric in warn_for:
            warnings.warn(message, _CATEGORIES[category], stacklevel=stacklevel)

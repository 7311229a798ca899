"""Report layouts: scikit-learn's text (byte for byte), markdown and HTML tables
come from the Swift core's `ClassificationReport` (the same code as the Swift
command line and `Tally.report()`); the `output_dict` dictionary is built here.
Imports nothing of `tally.metrics`, which builds `classification_report` on it."""

from __future__ import annotations

import numpy as np

from . import _tally

__all__ = ["format_report"]

HEADERS = ["precision", "recall", "f1-score", "support"]


def format_report(names, per_label, averages, *, digits=2, output="text", weighted=False, caption=None):
    """Lay out a report.

    Parameters
    ----------
    names : list of str
        One name per row of ``per_label``.
    per_label : tuple (precision, recall, f1, support) of arrays.
    averages : list of (heading, (precision, recall, f1, support)); heading
        "accuracy" is printed as scikit-learn prints it (f1 column only).
    output : "dict", or a layout of the core: "text", "json", "markdown" or "html".
    weighted : supports are sums of sample weights (printed as floats).
    caption : an HTML caption.
    """
    rows = list(zip(names, *per_label))
    if output == "dict":
        report = {name: dict(zip(HEADERS, [float(x) for x in values])) for name, *values in rows}
        for heading, values in averages:
            report[heading] = float(values[0]) if heading == "accuracy" else dict(zip(HEADERS, [float(x) for x in values]))
        return report
    if output not in ("text", "json", "markdown", "html"):
        raise ValueError(f"Expected `output` to be 'text', 'dict', 'markdown' or 'html', but got {output!r}")

    def table(values):
        return np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1, 4))

    return _tally.format_report(output, int(digits), [str(n) for n in names], table([r[1:] for r in rows]),
                                [str(h) for h, _ in averages], table([v for _, v in averages]), bool(weighted),
                                caption)

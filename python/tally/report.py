"""`classification_report`: scikit-learn's text (byte for byte) and dict, plus
markdown and HTML tables, from one set of per-label and averaged scores. The
streaming `Tally.report()` formats its counts with the same code."""

from __future__ import annotations

import html
import warnings

import numpy as np

from ._convert import as_array
from ._warnings import emit_warnings

__all__ = ["classification_report", "format_report"]

HEADERS = ["precision", "recall", "f1-score", "support"]


def format_report(names, per_label, averages, *, digits=2, output="text"):
    """Lay out a report.

    Parameters
    ----------
    names : list of str
        One name per row of ``per_label``.
    per_label : tuple (precision, recall, f1, support) of arrays.
    averages : list of (heading, (precision, recall, f1, support)); heading
        "accuracy" is printed as scikit-learn prints it (f1 column only).
    output : "text", "dict", "markdown" or "html".
    """
    rows = list(zip(names, *per_label))
    if output == "dict":
        report = {name: dict(zip(HEADERS, [float(x) for x in values])) for name, *values in rows}
        for heading, values in averages:
            report[heading] = float(values[0]) if heading == "accuracy" else dict(zip(HEADERS, [float(x) for x in values]))
        return report
    if output == "text":
        width = max(max(len(n) for n in names), len("weighted avg"), digits)
        report = ("{:>{width}s} " + " {:>9}" * len(HEADERS)).format("", *HEADERS, width=width) + "\n\n"
        row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
        for row in rows:
            report += row_fmt.format(*row, width=width, digits=digits)
        report += "\n"
        for heading, values in averages:
            if heading == "accuracy":
                fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
                report += fmt.format(heading, "", "", *values[2:], width=width, digits=digits)
            else:
                report += row_fmt.format(heading, *values, width=width, digits=digits)
        return report
    if output not in ("markdown", "html"):
        raise ValueError(f"Expected `output` to be 'text', 'dict', 'markdown' or 'html', but got {output!r}")

    def cells(values, heading=None):
        numbers = [f"{float(v):.{digits}f}" for v in values[:3]] + [_support(values[3])]
        if heading == "accuracy":
            numbers[0] = numbers[1] = ""
        return numbers

    table = [(str(n), cells(v)) for n, *v in rows] + [(h, cells(v, h)) for h, v in averages]
    if output == "markdown":
        lines = ["| | " + " | ".join(HEADERS) + " |", "|---|" + "---:|" * len(HEADERS)]
        lines += ["| " + name.replace("|", "\\|") + " | " + " | ".join(c) + " |" for name, c in table]
        return "\n".join(lines) + "\n"
    head = "<thead><tr><th></th>" + "".join(f"<th>{h}</th>" for h in HEADERS) + "</tr></thead>"
    body = "".join(
        ("<tr class=\"average\">" if i >= len(rows) else "<tr>") + f"<th>{html.escape(name)}</th>"
        + "".join(f"<td>{c}</td>" for c in cs) + "</tr>"
        for i, (name, cs) in enumerate(table))
    return f"<table class=\"tally-report\">{head}<tbody>{body}</tbody></table>"


def _support(s):
    s = float(s)
    return str(int(s)) if s == int(s) else repr(s)


def classification_report(y_true, y_pred, *, labels=None, target_names=None, sample_weight=None, digits=2,
                          output_dict=False, zero_division="warn", output=None):
    """Per-label precision, recall, F1 and support with the averages, as
    `sklearn.metrics.classification_report` (text identical byte for byte, or a dict
    with ``output_dict=True``). ``output="markdown"`` or ``"html"`` gives a table."""
    from .metrics import Targets, precision_recall_fscore_support

    targets = Targets(y_true, y_pred, average=None, labels=labels, sample_weight=sample_weight)
    multilabel = targets.type == "multilabel-indicator"
    label_values = list(targets.label_values)
    labels_given = labels is not None
    micro_is_accuracy = not multilabel and (
        not labels_given or set(np.asarray(labels).tolist()) >= set(_present(y_true, y_pred)))
    if target_names is not None and len(label_values) != len(target_names):
        if labels_given:
            warnings.warn(f"labels size, {len(label_values)}, does not match size of target_names, "
                          f"{len(target_names)}", UserWarning, stacklevel=2)
        else:
            raise ValueError(f"Number of classes, {len(label_values)}, does not match size of target_names, "
                             f"{len(target_names)}. Try specifying the labels parameter")
    names = [str(n) for n in target_names] if target_names is not None else ["%s" % l for l in label_values]
    output = output or ("dict" if output_dict else "text")
    if multilabel and labels is None and output in ("text", "markdown"):
        # The Swift core's report (the one `Tally.report()` and `tally report` print).
        from .metrics import parse_zero_division

        text, found = targets.counts().report(output, int(digits), parse_zero_division(zero_division),
                                              tuple(names) if target_names is not None else None, None)
        emit_warnings(found, ("precision", "recall", "f-score"))
        return text
    kw = dict(labels=labels, sample_weight=sample_weight, zero_division=zero_division)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, **kw)
    averages = []
    for average in ("micro", "macro", "weighted", "samples") if multilabel else ("micro", "macro", "weighted"):
        heading = "accuracy" if average == "micro" and micro_is_accuracy else f"{average} avg"
        ap, ar, af, _ = precision_recall_fscore_support(y_true, y_pred, average=average, **kw)
        averages.append((heading, (ap, ar, af, np.sum(s))))
    return format_report(names[:len(p)], (p, r, f, s), averages, digits=digits, output=output)


def _present(y_true, y_pred):
    yt = as_array(y_true, "y_true", class_labels=True).reshape(-1)
    yp = as_array(y_pred, "y_pred", class_labels=True).reshape(-1)
    return np.union1d(yt, yp).tolist()

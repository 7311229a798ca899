"""Matplotlib pictures of per-label scores (matplotlib is imported on first use)."""

from __future__ import annotations

import numpy as np

__all__ = ["f1_heatmap", "precision_recall_curves", "reliability"]


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            import IPython  # noqa: F401  (inside a notebook keep its backend)
        except ImportError:
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def f1_heatmap(scores, label_names=None, *, title="F1 per label over epochs", ax=None, metric="F1"):
    """A heatmap of one score per (epoch, label).

    Parameters
    ----------
    scores : array of shape (n_epochs, n_labels)
    label_names : names of the labels (rows of the picture)
    """
    plt = _pyplot()
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2:
        raise ValueError(f"Expected `scores` to be 2-D (n_epochs, n_labels), but got shape {scores.shape}")
    n_epochs, n_labels = scores.shape
    names = list(label_names) if label_names is not None else [str(i) for i in range(n_labels)]
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.2 + 0.55 * n_epochs, 0.8 + 0.32 * n_labels))
    else:
        fig = ax.figure
    image = ax.imshow(scores.T, aspect="auto", cmap="viridis", vmin=0, vmax=1, origin="upper")
    ax.set_xticks(range(n_epochs), [str(e + 1) for e in range(n_epochs)])
    ax.set_yticks(range(n_labels), names)
    ax.set_xlabel("epoch")
    ax.set_title(title)
    for e in range(n_epochs):
        for j in range(n_labels):
            v = scores[e, j]
            if np.isfinite(v):
                ax.text(e, j, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if v > 0.6 else "white")
    fig.colorbar(image, ax=ax, label=metric)
    fig.tight_layout()
    return fig


def precision_recall_curves(y_true, y_score, label_names=None, *, title="Precision-recall per label", ax=None,
                            thresholds=None, default_threshold=0.5):
    """One precision-recall curve per label, with its average precision in the legend.

    thresholds : per-label thresholds (a `tally.thresholds.TunedThresholds` or an array), optional
        Marks each label's point at its threshold (filled circle) and at ``default_threshold``
        (open circle), as `tally.Tally` counts them (``score >= threshold``). Each marker's
        gid is ``"tuned/<label>"`` or ``"default/<label>"``.
    """
    from . import metrics
    from .streaming import Tally

    plt = _pyplot()
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score)
    n_labels = y_true.shape[1]
    names = list(label_names) if label_names is not None else [str(i) for i in range(n_labels)]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 5))
    else:
        fig = ax.figure
    cmap = plt.get_cmap("tab10" if n_labels <= 10 else "tab20")
    for j in range(n_labels):
        if not y_true[:, j].any():
            continue  # no positives: the curve is undefined
        precision, recall, _ = metrics.precision_recall_curve(y_true[:, j], y_score[:, j])
        ap = metrics.average_precision_score(y_true[:, j], y_score[:, j])
        ax.step(recall, precision, where="post", color=cmap(j % cmap.N), label=f"{names[j]} (AP {ap:.2f})")
    if thresholds is not None:
        for kind, t, face in (("default", default_threshold, "none"), ("tuned", thresholds, None)):
            acc = Tally(n_labels, threshold=t).update(y_true, y_score)
            p, r = acc.precision(zero_division=np.nan), acc.recall(zero_division=np.nan)
            for j in range(n_labels):
                if np.isfinite(p[j]) and np.isfinite(r[j]) and y_true[:, j].any():
                    color = cmap(j % cmap.N)
                    ax.plot([r[j]], [p[j]], "o", markersize=6, color=color, markeredgecolor=color,
                            markerfacecolor=face or color, gid=f"{kind}/{j}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    if thresholds is not None:
        title += f"\n(filled: tuned threshold, open: {default_threshold})"
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower left", ncol=2)
    fig.tight_layout()
    return fig


def reliability(y_true=None, y_prob=None, labels=None, *, calibration=None, scores=None, label_names=None,
                n_bins=10, strategy="uniform", sample_weight=None, ignore_value=None, ncols=4,
                title="Reliability per label"):
    """Reliability diagrams, one panel per chosen label: the fraction of positives
    against the mean score of each non-empty bin (the diagonal is perfect
    calibration), the bins' row counts as bars, and the label's ECE in its title.

    The bins come from ``(y_true, y_prob)`` (``strategy`` "uniform" or "quantile"),
    from a streamed `tally.CalibrationTally` (``calibration=``, its equal-width bins)
    or from a `tally.ScoreTally` (``scores=``, equal-mass bins). Each panel's curve has
    gid ``"reliability/<label>"``.

    labels : column indices to draw (default: all, at most 16)
    ignore_value : marks unknown entries of ``y_true`` (README "Missing labels"): each
        label's bins hold its known rows
    """
    from .calibration import _n_bins, _one_shot, _one_shot_store, reliability_from_scores

    given = sum(x is not None for x in (y_prob, calibration, scores))
    if given != 1:
        raise ValueError("Expected exactly one of (`y_true`, `y_prob`), `calibration=` or `scores=`, "
                         f"but got {given}")
    if y_prob is not None:  # the one-shot functions' rules (checks, weights, marks)
        if strategy == "uniform":
            calibration = _one_shot(y_true, y_prob, sample_weight, _n_bins(n_bins), ignore_value)
        elif strategy == "quantile":
            scores = _one_shot_store(y_true, y_prob, sample_weight, ignore_value)
        else:
            raise ValueError(f"Expected `strategy` to be one of 'uniform', 'quantile', but got {strategy!r}")
    if calibration is not None:
        n_labels = calibration.n_labels
        diagram, ece = calibration.reliability, calibration.expected_calibration_error()
    else:
        from .calibration import calibration_error_from_scores

        n_labels = scores.n_labels
        diagram = lambda j: reliability_from_scores(scores, j, n_bins=n_bins)  # noqa: E731
        ece = calibration_error_from_scores(scores, "ece", n_bins=n_bins)
    chosen = list(range(min(n_labels, 16))) if labels is None else [int(j) for j in np.atleast_1d(labels)]
    if not chosen or any(not 0 <= j < n_labels for j in chosen):
        raise ValueError(f"Expected `labels` to be column indices in [0, {n_labels}), but got {labels!r}")
    names = list(label_names) if label_names is not None else [str(j) for j in range(n_labels)]
    plt = _pyplot()
    cols = min(ncols, len(chosen))
    rows = -(-len(chosen) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.ravel()[len(chosen):]:
        ax.set_visible(False)
    for ax, j in zip(axes.ravel(), chosen):
        r = diagram(j)
        full = r.count > 0
        share = r.count / max(r.count.sum(), 1)
        ax.bar((r.edges[:-1] + r.edges[1:]) / 2, share, width=np.diff(r.edges) * 0.9, color="0.85",
               label="rows (share)")
        ax.plot([0, 1], [0, 1], ":", color="0.5", linewidth=1)
        ax.plot(r.mean_score[full], r.fraction_positive[full], "o-", color="C0", markersize=4,
                gid=f"reliability/{j}", label="fraction positive")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{names[j]}  (ECE {ece[j]:.3f})", fontsize=9)
        ax.set_xlabel("mean score", fontsize=8)
        ax.set_ylabel("fraction positive", fontsize=8)
        ax.tick_params(labelsize=7)
    axes.ravel()[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    return fig

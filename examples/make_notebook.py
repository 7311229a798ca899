"""Writes examples/tally_in_a_notebook.ipynb from the cells below (run to regenerate)."""
import os

import nbformat as nbf

cells = [
    ("md", "# Tally in a notebook\n\nExact per-label, whole-epoch metrics for a multi-label classifier. "
           "This notebook streams batches into a `tally.Tally`, shows its table, checks it against "
           "scikit-learn, and draws per-label pictures."),
    ("code", "import numpy as np\nimport tally\nfrom tally import metrics\nfrom tally.datasets import digit_mosaics\n\n"
             "data = digit_mosaics(n_train=400, n_val=200, n_test=10)\n"
             "y_val = data.y_val\nlabel_names = [f'digit {d}' for d in range(10)]\ny_val.shape, y_val.mean(axis=0).round(2)"),
    ("md", "A stand-in scorer (a real notebook would call `model.predict`): noisy scores that are "
           "better for frequent digits."),
    ("code", "rng = np.random.default_rng(0)\n"
             "y_score = np.clip(y_val * rng.uniform(0.3, 1.0, y_val.shape) + rng.normal(0, 0.25, y_val.shape), 0, 1)"
             ".astype(np.float32)\ny_score[:3].round(2)"),
    ("md", "## Streaming, batch by batch\n\nCounts are integers per label, so any batching gives the same result."),
    ("code", "acc = tally.Tally(10, threshold=0.5, label_names=label_names)\n"
             "for start in range(0, len(y_val), 32):\n"
             "    acc.update(y_val[start:start + 32], y_score[start:start + 32])\nacc"),
    ("code", "print(acc.report(digits=3))"),
    ("md", "## The same numbers as scikit-learn on the whole arrays"),
    ("code", "from sklearn.metrics import f1_score\n"
             "sk = f1_score(y_val, y_score >= 0.5, average=None, zero_division=0)\n"
             "ours = acc.f1(average=None, zero_division=0)\n"
             "assert np.array_equal(ours, sk)\n"
             "metrics.f1_score(y_val, y_score >= 0.5, average='samples'), acc.f1('samples')"),
    ("md", "## Pictures"),
    ("code", "%matplotlib inline\nfrom tally import plot\n"
             "history = [tally.Tally(10).update(y_val, np.clip(y_score + shift, 0, 1)).f1(zero_division=0) "
             "for shift in (-0.2, -0.1, 0.0, 0.05)]\n"
             "plot.f1_heatmap(np.array(history), label_names, title='F1 per label (four score shifts)');"),
    ("code", "plot.precision_recall_curves(y_val, y_score, label_names);"),
]

nb = nbf.v4.new_notebook()
nb.cells = [nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src) for kind, src in cells]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tally_in_a_notebook.ipynb"))

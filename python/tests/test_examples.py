"""The demo (reduced), the notebook and the example scripts run, and what they print is right."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import sklearn.metrics as sk

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_demo_prints_exact_tables_and_writes_valid_pictures(tmp_path):
    out = tmp_path / "demo"
    p = subprocess.run([sys.executable, "-m", "tally.demo", "--epochs", "2", "--train", "300", "--val", "160",
                        "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    text = p.stdout
    assert "Epoch 2/2" in text and "the seed's Keras metrics would log" in text
    # The last epoch's printed table equals scikit-learn's report on the recorded arrays.
    y_val = np.load(out / "y_val.npy")
    y_score = np.load(out / "y_score.npy")
    names = [str(d) for d in range(10)]
    expected = sk.classification_report(y_val, y_score >= 0.5, target_names=names, zero_division=0)
    last = text[text.index("Epoch 2/2"):]
    printed = "\n".join(line[4:] for line in last.splitlines()[1:expected.count("\n") + 1])
    assert printed + "\n" == expected
    # The seed's numbers are the batch-averaged ones; the exact ones are scikit-learn's.
    from tally.seed import batch_averaged, seed_precision, seed_recall

    m = re.search(r"val_precision (\S+)  val_recall (\S+)", last)
    assert float(m.group(1)) == pytest.approx(batch_averaged(seed_precision, y_val, y_score), abs=6e-5)
    assert float(m.group(2)) == pytest.approx(batch_averaged(seed_recall, y_val, y_score), abs=6e-5)
    m = re.search(r"macro precision (\S+)  macro recall (\S+)", last)
    assert float(m.group(1)) == pytest.approx(
        sk.precision_score(y_val, y_score >= 0.5, average="macro", zero_division=0), abs=6e-5)
    assert float(m.group(2)) == pytest.approx(
        sk.recall_score(y_val, y_score >= 0.5, average="macro", zero_division=0), abs=6e-5)
    # F1 at 0.5 and out of fold at tuned thresholds: scikit-learn, and a brute-force search per fold.
    from test_thresholds import brute_force

    from tally.scores import tune_thresholds

    folds = tune_thresholds(y_val, y_score, folds=2, seed=0).out_of_fold.fold_of_row
    assert sorted(np.bincount(folds).tolist()) == [80, 80]
    predicted = np.zeros_like(y_val, dtype=bool)
    for f in (0, 1):
        t, _ = brute_force(y_val[folds != f].astype(np.uint8), y_score[folds != f], None, "f1", {})
        predicted[folds == f] = y_score[folds == f] >= t
    tuned_f1 = sk.f1_score(y_val, predicted, average=None, zero_division=np.nan)
    rows = re.findall(r"^ +(\d)  +(\S+)  +(\S+)  +(\S+)$", text[text.index("F1 per label at 0.5"):], re.M)
    assert [r[0] for r in rows] == names
    at_half = sk.f1_score(y_val, y_score >= 0.5, average=None, zero_division=0)
    for j, (_, half, tuned, _) in enumerate(rows):
        assert float(half) == pytest.approx(at_half[j], abs=6e-5)
        assert (tuned == "nan") if np.isnan(tuned_f1[j]) else float(tuned) == pytest.approx(tuned_f1[j], abs=6e-5)
    for picture in ("f1_per_label.png", "precision_recall.png", "reliability.png"):
        data = (out / picture).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        from matplotlib import image
        assert image.imread(out / picture).ndim == 3


def test_notebook_runs_top_to_bottom():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(os.path.join(ROOT, "examples", "tally_in_a_notebook.ipynb"), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": ROOT}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("text/html" in o.get("data", {}) for o in outputs)  # the accumulator's HTML table
    assert any("image/png" in o.get("data", {}) for o in outputs)


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_keras_example_runs_on_both_backends(backend):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "keras_multilabel.py"), "--epochs", "2",
                        "--train", "200", "--val", "96"], capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "Last epoch, per-label scores on 96 validation rows" in p.stdout
    assert "val_macro_f1" in p.stdout and "val_f1 per label, last epoch:" in p.stdout
    # ProgressLine: the per-label table at epoch 2, and no progress line of thousands of characters
    # (Keras's own bar prints every per-label key: about 3,000 characters per epoch here).
    assert "Epoch 2: per-label values" in p.stdout and "val_roc_auc" in p.stdout
    bar = [line for line in p.stdout.replace("\r", "\n").splitlines() if " - loss: " in line]
    assert len(bar) == 2 and max(map(len, bar)) < 800 and "digit" not in "".join(bar), bar

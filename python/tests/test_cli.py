"""`tally report` from Swift and from Python: identical output, equal to scikit-learn's."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import sklearn.metrics as sk

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def swift_cli():
    """The Swift executable, built if this checkout has not built it yet."""
    if not os.path.exists(os.path.join(ROOT, "Package.swift")):
        pytest.skip("builds the Swift command line from a source checkout (these tests run from a copy)")
    for config in ("debug", "release"):
        path = os.path.join(ROOT, ".build", config, "tally")
        if os.path.exists(path):
            return path
    swift = shutil.which("swift") or "/opt/swift/usr/bin/swift"
    subprocess.run([swift, "build", "--product", "tally"], cwd=ROOT, check=True, capture_output=True)
    return os.path.join(ROOT, ".build", "debug", "tally")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    d = tmp_path_factory.mktemp("recorded")
    rng = np.random.default_rng(3)
    y_true = rng.random((300, 6)) < np.linspace(0.05, 0.6, 6)
    y_true[:, 5] = False  # a label with no positives
    y_score = rng.random((300, 6)).astype(np.float32)
    np.save(d / "y_true.npy", y_true)
    np.save(d / "y_score.npy", y_score)
    np.save(d / "t.npy", np.array([0.5, 0.4, 0.6, 0.5, 0.3, 0.5]))
    np.save(d / "w.npy", rng.random(300) * 2)
    (d / "names.txt").write_text("cat\ndog\nbird\nfish\nfrog\nnewt\n")
    known = rng.random((300, 6)) < 0.7
    known[:4] = False  # rows with no known label
    np.save(d / "y_marked.npy", np.where(known, y_true, -1).astype(np.int8))
    np.save(d / "known.npy", known)
    return d, y_true, y_score


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("extra", [
    [],
    ["--threshold", "0.3"],
    ["--thresholds", "{d}/t.npy"],
    ["--labels", "{d}/names.txt", "--digits", "4"],
    ["--format", "json"],
    ["--format", "markdown", "--labels", "{d}/names.txt"],
    ["--weights", "{d}/w.npy"],
    ["--zero-division", "1"],
])
def test_swift_and_python_print_the_same_bytes(swift_cli, recorded, extra):
    d, _, _ = recorded
    args = ["report", "--true", f"{d}/y_true.npy", "--score", f"{d}/y_score.npy"] + [a.format(d=d) for a in extra]
    rc1, out1, err1 = run([swift_cli] + args)
    rc2, out2, err2 = run([sys.executable, "-m", "tally.cli"] + args)
    assert rc1 == rc2 == 0, (err1, err2)
    assert out1 == out2
    assert err1 == err2  # the same warnings, in the same words


def test_text_equals_sklearn(swift_cli, recorded):
    d, y_true, y_score = recorded
    names = ["cat", "dog", "bird", "fish", "frog", "newt"]
    _, out, _ = run([swift_cli, "report", "--true", f"{d}/y_true.npy", "--score", f"{d}/y_score.npy",
                     "--labels", f"{d}/names.txt", "--zero-division", "0"])
    assert out == sk.classification_report(y_true, y_score >= 0.5, target_names=names, zero_division=0)
    w = np.load(d / "w.npy")
    _, out, _ = run([sys.executable, "-m", "tally.cli", "report", "--true", f"{d}/y_true.npy", "--score",
                     f"{d}/y_score.npy", "--weights", f"{d}/w.npy", "--digits", "3", "--zero-division", "0"])
    assert out == sk.classification_report(y_true, y_score >= 0.5, sample_weight=w, digits=3, zero_division=0)


def test_json_equals_sklearn_output_dict(swift_cli, recorded):
    import json

    d, y_true, y_score = recorded
    _, out, _ = run([swift_cli, "report", "--true", f"{d}/y_true.npy", "--score", f"{d}/y_score.npy",
                     "--format", "json", "--zero-division", "0"])
    ours = json.loads(out)
    theirs = sk.classification_report(y_true, y_score >= 0.5, output_dict=True, zero_division=0)
    assert list(ours) == list(theirs)
    for key in theirs:
        for field, value in theirs[key].items():
            assert ours[key][field] == pytest.approx(value, rel=1e-15), (key, field)


@pytest.mark.parametrize("args, message", [
    (["report", "--true", "/nonexistent.npy", "--score", "/nonexistent.npy"], "Expected a readable file"),
    (["report", "--true", "{d}/y_true.npy", "--score", "{d}/t.npy"], "Expected `y_pred` to have shape"),
    (["report", "--true", "{d}/y_true.npy", "--score", "{d}/y_score.npy", "--thresholds", "{d}/w.npy"],
     "Expected `threshold` to have 6 values"),
    (["report", "--true", "{d}/y_marked.npy", "--score", "{d}/y_score.npy"], "Expected `y_true` to hold only 0 and 1"),
    (["calibration", "--true", "{d}/y_marked.npy", "--score", "{d}/y_score.npy", "--ignore-value", "1"],
     "Expected `ignore_value` to differ from the labels 0 and 1, but got 1.0"),
])
def test_errors_are_clear_in_both(swift_cli, recorded, args, message):
    d, _, _ = recorded
    args = [a.format(d=d) for a in args]
    for cmd in ([swift_cli] + args, [sys.executable, "-m", "tally.cli"] + args):
        rc, out, err = run(cmd)
        assert rc == 2 and out == ""
        assert err.startswith("tally: error: ") and message in err, err


@pytest.mark.parametrize("args, message", [
    (["report", "--digits", "99"], "--digits expects 0 to 15, but got '99'"),
    (["report", "--threshold", "nan"], "--threshold expects a number, but got 'nan'"),
    (["report", "--threshold", "x"], "--threshold expects a number, but got 'x'"),
    (["report", "--level", "x"], "--level expects a number, but got 'x'"),
    (["report", "--bootstrap", "1.5"], "--bootstrap expects a number of replicates, but got '1.5'"),
    (["report", "--seed", "-3"], "--seed expects an int >= 0, but got '-3'"),
    (["report", "--true"], "--true needs a value"),
    (["thresholds", "--beta", "x"], "--beta expects a number, but got 'x'"),
    (["thresholds", "--digits", "16"], "--digits expects 0 to 15, but got '16'"),
    (["calibration", "--bins", "0"], "--bins expects 1 to 1048576, but got '0'"),
    (["calibration", "--digits", "-1"], "--digits expects 0 to 15, but got '-1'"),
    (["report", "--ignore-value", "x"], "--ignore-value expects a number, but got 'x'"),
    (["thresholds", "--ignore-value", ""], "--ignore-value expects a number, but got ''"),
])
def test_swift_flag_errors_name_the_flag_what_it_expects_and_what_came(swift_cli, args, message):
    rc, out, err = run([swift_cli] + args)
    assert (rc, out, err) == (2, "", f"tally: error: {message}\n")


@pytest.mark.parametrize("command, extra", [
    ("report", ["--format", "json"]),
    ("report", ["--weights", "{d}/w.npy", "--labels", "{d}/names.txt"]),
    ("report", ["--ci", "bootstrap", "--bootstrap", "20"]),
    ("thresholds", ["--objective", "youden"]),
    ("calibration", ["--weights", "{d}/w.npy"]),
])
def test_ignore_value_prints_the_same_bytes_in_both_and_scores_known_rows(swift_cli, recorded, command, extra):
    d, y_true, y_score = recorded
    args = [command, "--true", f"{d}/y_marked.npy", "--score", f"{d}/y_score.npy", "--ignore-value", "-1"]
    args += [a.format(d=d) for a in extra]
    rc1, out1, err1 = run([swift_cli] + args)
    rc2, out2, err2 = run([sys.executable, "-m", "tally.cli"] + args)
    assert rc1 == rc2 == 0, (err1, err2)
    assert (out1, err1) == (out2, err2)
    if extra == ["--format", "json"]:
        import json

        known = np.load(d / "known.npy")
        ours = json.loads(out1)
        for j in range(5):  # label 5 has no positives
            k = known[:, j]
            assert ours[str(j)]["f1-score"] == pytest.approx(sk.f1_score(y_true[k, j], y_score[k, j] >= 0.5), rel=1e-15)
            assert ours[str(j)]["support"] == y_true[k, j].sum()


# -- tally thresholds ---------------------------------------------------------------------

@pytest.mark.parametrize("extra", [
    [],
    ["--objective", "fbeta", "--beta", "2", "--digits", "4"],
    ["--objective", "recall_at_precision", "--min-precision", "0.4", "--labels", "{d}/names.txt"],
    ["--objective", "precision_at_recall", "--min-recall", "0.5"],
    ["--objective", "youden", "--weights", "{d}/w.npy"],
    ["--objective", "rate", "--rate", "0.1"],
    ["--folds", "3", "--seed", "7", "--labels", "{d}/names.txt"],
    ["--objective", "youden", "--folds", "4", "--weights", "{d}/w.npy", "--digits", "5"],
])
def test_thresholds_swift_and_python_print_and_write_the_same_bytes(swift_cli, recorded, extra, tmp_path):
    d, _, _ = recorded
    args = ["thresholds", "--true", f"{d}/y_true.npy", "--score", f"{d}/y_score.npy"] + [a.format(d=d) for a in extra]
    outputs = []
    for name, cmd in (("swift", [swift_cli]), ("python", [sys.executable, "-m", "tally.cli"])):
        json_path, npy_path = tmp_path / f"{name}.json", tmp_path / f"{name}.npy"
        rc, out, err = run(cmd + args + ["--out", str(json_path)])
        rc2, out2, _ = run(cmd + args + ["--out", str(npy_path)])
        assert rc == rc2 == 0, err
        assert out == out2
        outputs.append((out, err, json_path.read_bytes(), npy_path.read_bytes()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0].startswith("objective: ") and "among equal optima the highest threshold" in outputs[0][0]


def test_thresholds_equal_a_brute_force_search_and_report_scores_with_them(swift_cli, recorded, tmp_path):
    import json

    from test_thresholds import brute_force

    d, y_true, y_score = recorded
    out_path = tmp_path / "t.json"
    rc, table, _ = run([swift_cli, "thresholds", "--true", f"{d}/y_true.npy", "--score", f"{d}/y_score.npy",
                        "--objective", "f1", "--out", str(out_path)])
    assert rc == 0
    written = json.loads(out_path.read_text())
    t, v = brute_force(y_true.astype(np.uint8), y_score, None, "f1", {})
    np.testing.assert_array_equal(np.array(written["thresholds"]), t)
    np.testing.assert_allclose(np.array(written["values"]), v, rtol=0, atol=1e-12, equal_nan=True)
    assert written["undefined"] == [5]  # the label with no positives
    assert table.splitlines()[-1] == f"mean value over 5 of 6 labels (defined): {np.nanmean(v):.2f}"
    # `tally report --thresholds t.json` scores with them, as scikit-learn on score >= t.
    for cmd in ([swift_cli], [sys.executable, "-m", "tally.cli"]):
        rc, out, err = run(cmd + ["report", "--true", f"{d}/y_true.npy", "--score", f"{d}/y_score.npy",
                                  "--thresholds", str(out_path), "--zero-division", "0"])
        assert rc == 0, err
        assert out == sk.classification_report(y_true, y_score >= t, zero_division=0)


@pytest.mark.parametrize("args, message", [
    (["--objective", "f2"], "Expected `objective` to be one of 'f1', 'fbeta'"),
    (["--objective", "fbeta"], "Expected `beta` with objective='fbeta', but got none"),
    (["--objective", "rate", "--rate", "2"], "Expected `rate` in [0, 1], but got 2.0"),
    (["--out", "{d}/t.txt"], "Expected --out to end in .json or .npy, but got '{d}/t.txt'"),
    (["--labels", "{d}/two_names.txt"], "Expected 6 label names (one per label), but got 2"),
    (["--folds", "1"], "Expected `folds` between 2 and the number of rows"),
    (["--folds", "x"], "--folds expects an integer, but got 'x'"),
    (["--folds", "2", "--seed", "-1"], "--seed expects an integer >= 0, but got '-1'"),
])
def test_thresholds_errors_are_the_same_in_both(swift_cli, recorded, args, message):
    d, _, _ = recorded
    (d / "two_names.txt").write_text("cat\ndog\n")
    args = ["thresholds", "--true", f"{d}/y_true.npy", "--score", f"{d}/y_score.npy"] + [a.format(d=d) for a in args]
    errors = []
    for cmd in ([swift_cli] + args, [sys.executable, "-m", "tally.cli"] + args):
        rc, out, err = run(cmd)
        assert rc == 2 and out == "", err
        assert err.startswith("tally: error: ") and message.format(d=d) in err, err
        errors.append(err)
    assert errors[0] == errors[1]


def test_thresholds_out_of_fold_section_equals_a_numpy_loop(swift_cli, recorded):
    """`tally thresholds --folds k --seed s` prints, after the table of thresholds tuned on
    every row, each label's F1 on the held-out folds at thresholds tuned (by brute force
    here) on the other folds, pooled; the thresholds written are those of all rows."""
    from test_thresholds import brute_force

    from tally.metrics import tune_thresholds

    d, y_true, y_score = recorded
    y = y_true.astype(np.uint8)
    rc, out, err = run([swift_cli, "thresholds", "--true", f"{d}/y_true.npy", "--score", f"{d}/y_score.npy",
                        "--folds", "3", "--seed", "11", "--digits", "10"])
    assert rc == 0, err
    table, oof = out.split("\nout of fold: ")
    assert oof.startswith("3 folds (seed 11), each scored at thresholds tuned on the other 2\n")
    # The fold of each row (the core's seeded shuffle, checked in test_thresholds).
    fold = tune_thresholds(y, y_score, folds=3, seed=11).out_of_fold.fold_of_row
    tp, fp, pos = (np.zeros(y.shape[1]) for _ in range(3))
    for f in range(3):
        t, _ = brute_force(y[fold != f], y_score[fold != f], None, "f1", {})
        pred, yt = y_score[fold == f] >= t, y[fold == f].astype(bool)
        tp += (yt & pred).sum(0)
        fp += (~yt & pred).sum(0)
        pos += yt.sum(0)
    with np.errstate(all="ignore"):
        expected = np.where(pos > 0, 2 * tp / (pos + tp + fp), np.nan)
    rows = [line.split() for line in oof.splitlines()[3:3 + y.shape[1]]]
    assert [r[0] for r in rows] == [str(j) for j in range(y.shape[1])]
    for r, e in zip(rows, expected):
        assert r[1] == ("nan" if np.isnan(e) else f"{e:.10f}"), (r, e)
    assert rows[5][-1] == "undefined"
    defined = expected[~np.isnan(expected)]
    assert oof.splitlines()[-1] == f"mean out-of-fold value over 5 of 6 labels (defined): {defined.mean():.10f}"
    t_all, _ = brute_force(y, y_score, None, "f1", {})
    assert [line.split()[1] for line in table.splitlines()[3:9]] == [repr(float(v)) for v in t_all]

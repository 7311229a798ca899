"""The Swift core owns each metric rule and the bridge only declares: the Python
side of the pairs in Tests/TallyTests/OptionParsingTests.swift etc. Each test
asserts the exception type and the core's text, so a parser written again in
Python or a bridge that maps an unknown name to behaviour fails here."""

import re
import numpy as np
import pytest

import tally.metrics as tm
from tally import _tally
from tally.scores import BinnedScoreTally, RankingTally, ScoreTally

ZD = 'Expected `zero_division` to be "warn", 0, 1 or nan, but got '


@pytest.fixture
def arrays():
    y_true = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 0]])
    y_pred = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 0, 1]])
    return y_true, y_pred


@pytest.mark.parametrize("value, shown", [(0.5, "0.5"), (2, "2.0"), (float("inf"), "inf"), ("0", "'0'"),
                                          ("Warn", "'Warn'"), (None, "NoneType"), (True, "bool")])
def test_zero_division_refused_by_the_core(arrays, value, shown):
    with pytest.raises(ValueError) as info:
        tm.f1_score(*arrays, average="macro", zero_division=value)
    assert str(info.value) == ZD + shown


@pytest.mark.parametrize("value", ["warn", 0, 1, np.nan, np.float32(1), np.int64(0)])
def test_zero_division_accepted(arrays, value):
    tm.f1_score(*arrays, average="macro", zero_division=value)


def test_jaccard_refuses_nan_by_the_core_rule(arrays):
    message = 'Expected `zero_division` to be "warn", 0 or 1 for the Jaccard score (as scikit-learn), but got nan'
    with pytest.raises(ValueError) as info:
        tm.jaccard_score(*arrays, average="macro", zero_division=np.nan)
    assert str(info.value) == message
    with pytest.raises(ValueError) as info:
        _tally.counts_jaccard(_tally.counts_new(3, 0.5), "macro", np.nan, None)
    assert str(info.value) == message


def test_average_refused_by_the_core(arrays):
    with pytest.raises(ValueError) as info:
        tm.f1_score(*arrays, average="mean")
    assert str(info.value) == ("Expected `average` to be one of None, 'micro', 'macro', 'weighted', 'samples', "
                               "but got 'mean'")
    binned = BinnedScoreTally(3, bins=4).update(arrays[0], arrays[1].astype(np.float64))
    with pytest.raises(ValueError) as info:
        binned.roc_auc(average="samples")
    assert str(info.value) == "Expected `average` to be one of None, 'micro', 'macro', 'weighted', but got 'samples'"


def test_bridge_refuses_unknown_metric_names(arrays):
    """Before: any name but "specificity" gave NPV, any kind but "roc" the PR curve."""
    counts = _tally.counts_new(3, 0.5)
    counts.update(*arrays, None, True)
    with pytest.raises(ValueError) as info:
        _tally.counts_negative_class(counts, "sensitivity", None, 0.0, None)
    assert str(info.value) == "Expected `metric` to be one of 'specificity', 'npv', but got 'sensitivity'"
    store = ScoreTally(3).update(arrays[0], arrays[1].astype(np.float64))
    with pytest.raises(ValueError) as info:
        store._call("curve", "det", 0, True)
    assert str(info.value) == "Expected `kind` to be one of 'roc', 'pr', but got 'det'"
    binned = BinnedScoreTally(3, bins=4).update(arrays[0], arrays[1].astype(np.float64))
    with pytest.raises(ValueError) as info:
        binned._call("score", "auc", None)
    assert str(info.value) == "Expected `metric` to be one of 'roc_auc', 'average_precision', but got 'auc'"
    ranking = RankingTally(3).update(arrays[0], arrays[1].astype(np.float64))
    with pytest.raises(ValueError, match="Expected `name` to be one of 'lrap', 'coverage', 'ranking_loss'"):
        ranking._call("value", "lraps")
    with pytest.raises(ValueError) as info:
        counts.report("latex", 2, "warn", None, None)
    assert str(info.value) == "Expected `format` to be one of 'text', 'json', 'markdown', 'html', but got 'latex'"


def test_named_metrics_are_the_named_ones(arrays):
    """"npv" is NPV and "specificity" specificity (scikit-learn on the complement)."""
    from sklearn.metrics import precision_score, recall_score

    y_true, y_pred = arrays
    np.testing.assert_array_equal(tm.specificity_score(y_true, y_pred, zero_division=0),
                                  recall_score(1 - y_true, 1 - y_pred, average=None, zero_division=0))
    np.testing.assert_array_equal(tm.negative_predictive_value_score(y_true, y_pred, zero_division=0),
                                  precision_score(1 - y_true, 1 - y_pred, average=None, zero_division=0))


def test_reports_share_the_core_layouts():
    """Binary/multi-class reports (scored in Python), multi-label reports (scored by
    the core) and the notebook's HTML all lay out through the core: the markdown
    header and the HTML header are the same everywhere (they used to differ:
    "| |" vs "| label |", "f1" vs "f1-score")."""
    import tally

    y_true, y_pred = np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1])
    multiclass = tm.classification_report(y_true, y_pred, output="markdown", zero_division=0)
    multilabel = tm.classification_report(np.eye(3, dtype=int), np.eye(3, dtype=int), output="markdown")
    assert multiclass.splitlines()[:2] == multilabel.splitlines()[:2]
    # scikit-learn's accuracy line: blank precision and recall.
    assert "| accuracy |  |  | 0.50 | 4 |" in multiclass.splitlines()
    page = tm.classification_report(y_true, y_pred, output="html", zero_division=0)
    notebook = tally.Tally(3).update(np.eye(3), np.eye(3))._repr_html_()
    head = '<thead><tr><th></th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th></tr></thead>'
    assert head in page and head in notebook
    # Weighted supports print as Python floats in every layout, as scikit-learn's text.
    from sklearn.metrics import classification_report as sk_report

    w = np.array([0.5, 1.0, 2.0, 1.5])
    assert tm.classification_report(y_true, y_pred, sample_weight=w, zero_division=0) == \
        sk_report(y_true, y_pred, sample_weight=w, zero_division=0)
    # label 2: tp 2 (row 3), predicted 1 + 2, true 2 + 1.5: P 2/3, R 4/7, F 8/13.
    assert "| 2 | 0.67 | 0.57 | 0.62 | 3.5 |" in tm.classification_report(
        y_true, y_pred, sample_weight=w, zero_division=0, output="markdown").splitlines()


def test_report_module_imports_nothing_of_metrics():
    """report.py lays out; metrics.py scores and builds classification_report on it
    (they imported each other)."""
    import ast
    import pathlib

    import tally.report

    tree = ast.parse(pathlib.Path(tally.report.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "metrics" not in imported and "tally.metrics" not in imported


def test_core_kernels_exported_for_backend_checks():
    """The averaging kernel, F-beta and zero_division value the Keras backend-op
    copies are checked against (hand-checked values; the Swift tests hold the tables)."""
    nan = float("nan")
    assert _tally.average_scores(np.array([0.5, nan, 1.0]), None, "skip") == 0.75
    assert np.isnan(_tally.average_scores(np.array([0.5, nan, 1.0]), None, "propagate"))
    assert _tally.average_scores(np.array([0.5, nan, 1.0]), np.array([1.0, 0.0, 3.0]), "zero_weight_is_zero") == 0.875
    with pytest.raises(ValueError, match="Expected `nan_rule` to be one of 'skip', 'propagate', 'zero_weight_is_zero'"):
        _tally.average_scores(np.array([1.0]), None, "ignore")
    assert _tally.fbeta_fraction(2.0, 1.0, 2.0, 1.0) == (5.0, 6.0)  # (1 + 4)·1 / (4·1 + 2)
    assert _tally.fbeta_fraction(0.0, 1.0, 2.0, 1.0) == (1.0, 2.0)  # precision
    assert _tally.fbeta_fraction(float("inf"), 1.0, 2.0, 1.0) == (1.0, 1.0)  # recall
    assert [_tally.zero_division_value(z) for z in ("warn", 0.0, 1.0)] == [0.0, 0.0, 1.0]
    assert np.isnan(_tally.zero_division_value(nan))
    with pytest.raises(ValueError, match="Expected `average` to be one of 'micro', 'macro', but got None"):
        _tally.check_average(None, ("micro", "macro"), False)


def test_column_indices_refuse_floats_everywhere():
    """One conversion of `labels` (it was written twice: one refused floats, the other
    truncated 0.7 to column 0)."""
    import tally

    y_true = np.array([[1, 0], [0, 1]])
    acc = tally.Tally(2).update(y_true, np.array([[0.9, 0.2], [0.4, 0.8]]))
    message = "Expected `labels` to be a non-empty list of column indices (ints), but got [0.7]"
    for call in (lambda: acc.f1(labels=[0.7]), lambda: acc.jaccard(labels=[0.7]),
                 lambda: acc.precision_recall_fscore_support(labels=[0.7]),
                 lambda: ScoreTally(2).update(y_true, np.array([[0.9, 0.2], [0.4, 0.8]])).roc_auc(labels=[0.7]),
                 lambda: tm.f1_score(y_true, y_true, labels=[0.7], average="macro")):
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == message
    with pytest.raises(ValueError, match=r"All labels must be in \[0, n labels\) for multilabel targets. Got 2 > 1"):
        ScoreTally(2).update(y_true, np.array([[0.9, 0.2], [0.4, 0.8]])).roc_auc(labels=[2])


def test_python_defines_no_metric_rule_twice():
    """AVERAGES, logit and the zero_division/average parsers have one home: the core
    (or `_convert` for logit); no module of the package defines them again."""
    import ast
    import pathlib

    import tally

    root = pathlib.Path(tally.__file__).parent
    defined = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.FunctionDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            for name in names:
                defined.setdefault(name, []).append(str(path.relative_to(root)))
    for name in ("AVERAGES", "AVERAGE_OPTIONS", "_SAMPLES_BLOCK"):
        assert name not in defined, (name, defined.get(name))
    assert defined.get("logit") == ["_convert.py"] and "_logit" not in defined
    for name in ("as_columns", "parse_zero_division", "_columns"):
        assert len(defined.get(name, [])) <= 1, (name, defined[name])


def test_one_warning_shape_from_every_metric(arrays):
    """The core has one warning type and the bridge one converter: counting metrics
    and score-based metrics hand back the same (category, metric, message) triples
    (they were (metric, message) and (category, message))."""
    counts = _tally.counts_new(3, 0.5)
    counts.update(np.zeros((2, 3)), np.zeros((2, 3)), None, True)
    *_, found = counts.prfs(1.0, None, "warn", None)
    assert found[0] == ("UndefinedMetricWarning", "precision",
                        "Precision is ill-defined and being set to 0.0 in labels with no predicted samples. "
                        "Use `zero_division` parameter to control this behavior.")
    store = ScoreTally(3).update(np.zeros((2, 3)), np.zeros((2, 3)))
    _, _, found = store._call("roc_auc", None, None, None, None)
    assert found[0] == ("UndefinedMetricWarning", None,
                        "Only one class is present in y_true. ROC AUC score is not defined in that case.")


def test_label_means_sum_as_numpy():
    """The averaging kernel sums per-label values in numpy's (pairwise) order: with 8
    labels, left-to-right gave macro recall 0.425 where scikit-learn's np.mean gives
    0.42500000000000004, and the report printed 0.42 for scikit-learn's 0.43 (a case
    hypothesis found in test_report)."""
    from sklearn.metrics import classification_report as sk_report
    from sklearn.metrics import recall_score

    y_true = np.array([[1, 0, 1, 1, 1, 1, 1, 1]] * 10)
    y_pred = np.array([[1, 1, 1, 0, 0, 0, 1, 0], [0, 1, 0, 1, 0, 0, 0, 0], [0, 1, 1, 1, 1, 0, 0, 1],
                       [1, 0, 1, 0, 1, 1, 0, 1], [1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1, 1, 1],
                       [1, 0, 1, 0, 0, 1, 1, 1], [0, 1, 1, 0, 1, 0, 1, 1], [0, 1, 1, 1, 1, 1, 0, 0],
                       [1, 1, 0, 0, 0, 1, 0, 0]])
    assert tm.recall_score(y_true, y_pred, average="macro", zero_division=0) == \
        recall_score(y_true, y_pred, average="macro", zero_division=0)
    assert tm.classification_report(y_true, y_pred, zero_division=0) == sk_report(y_true, y_pred, zero_division=0)


BAD_BETAS = [(-1, "-1.0"), (float("nan"), "nan"), (True, "bool"), ("2", "str"), (None, "NoneType")]


@pytest.mark.parametrize("beta, got", BAD_BETAS)
def test_beta_is_checked_by_the_core_alone(beta, got):
    # One check of `beta` (the core's FBeta), for the one-shot functions, Tally and the Keras metrics.
    with pytest.raises(ValueError, match=re.escape(f"Expected `beta` to be a number >= 0, but got {got}")):
        tm.check_beta(beta)


@pytest.mark.parametrize("beta, got", BAD_BETAS)
def test_keras_fbeta_reports_the_cores_beta_check(beta, got):
    # (Apart from the core's check: the wheel's test environment has no Keras.)
    pytest.importorskip("keras")
    from tally.keras import FBetaScore

    message = f"Invalid `beta` argument value: Expected `beta` to be a number >= 0, but got {got}"
    with pytest.raises(ValueError, match=re.escape(message)):
        FBetaScore(beta=beta)


def test_net_metric_names_use_the_cores_averages():
    from tally.net._metrics import _Metric

    assert _Metric("f1_samples").average == "samples"
    with pytest.raises(ValueError, match=r"but got 'f1_mean': Expected `average` to be one of .*'samples'"):
        _Metric("f1_mean")
    with pytest.raises(ValueError, match=r"'accuracy' is not a score"):
        _Metric("accuracy_micro")

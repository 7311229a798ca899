"""What progress lines print of the logs, and the per-label table (no Keras needed):
hand-checked against the logs they come from."""

import math

import pytest

from tally.progress import check_every, check_keys, compact, per_label_table


def test_compact_keeps_the_loss_and_averages_in_order():
    logs = {"loss": 0.5, "f1/cat": 0.1, "macro_f1": 0.3, "val_f1/cat": 0.2, "val_loss": 0.6}
    assert compact(logs) == {"loss": 0.5, "macro_f1": 0.3, "val_loss": 0.6}
    assert list(compact(logs, ("val_loss", "loss", "absent"))) == ["val_loss", "loss"]
    assert compact(None) == {}


def test_per_label_table_by_hand():
    logs = {"loss": 1.0, "f1/cat": 0.5, "f1/newt": 0.25, "val_roc_auc/cat": 0.875, "val_roc_auc/newt": math.nan,
            "ap/cat": 1.0}
    assert per_label_table(logs) == (
        "        f1  val_roc_auc    ap\n"
        " cat  0.50         0.88  1.00\n"
        "newt  0.25          nan   nan\n")
    assert per_label_table(logs, digits=0).splitlines()[1] == " cat   0            1    1"  # 0.5 to even
    assert per_label_table({"loss": 1.0}) == ""


def test_arguments_are_checked():
    assert check_every(3) == 3
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="Expected an int >= 0"):
            check_every(bad)
    with pytest.raises(ValueError, match="Expected a list of log keys"):
        check_keys("loss")
    assert check_keys(["loss"]) == ("loss",)

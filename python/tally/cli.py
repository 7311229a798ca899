"""`tally report --true y_true.npy --score y_score.npy [...]`, `tally thresholds
--true y_true.npy --score y_score.npy --objective f1 [--out t.json]` and `tally calibration
--true y_true.npy --score y_prob.npy [--bins 15]` from Python.

The same command lines and the same output as the Swift executable (`swift run tally
report ...`): both print through the core (ClassificationReport, TunedThresholds.table).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def _parser():
    p = argparse.ArgumentParser(prog="tally", description="Exact per-label reports of recorded arrays.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="per-label precision/recall/F1 of y_true.npy and y_score.npy")
    r.add_argument("--true", dest="true_path", required=True, help="(n, labels) 0/1 .npy")
    r.add_argument("--score", dest="score_path", required=True, help="(n, labels) scores or 0/1 .npy")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--threshold", type=float, default=0.5, help="score >= threshold is positive (0.5)")
    g.add_argument("--thresholds", help=".npy with one threshold per label, or .json from `tally thresholds`")
    r.add_argument("--labels", help="text file with one label name per line")
    r.add_argument("--weights", help=".npy with one sample weight per row")
    r.add_argument("--ignore-value", metavar="V", help="mark the entries of y_true equal to V (and nan) unknown: each label is scored on its known rows")
    r.add_argument("--format", choices=["text", "json", "markdown", "html"], default="text")
    r.add_argument("--digits", type=int, default=2)
    r.add_argument("--zero-division", default="warn", choices=["warn", "0", "1", "nan"])
    r.add_argument("--ci", help="interval columns: wilson, clopper_pearson or bootstrap")
    r.add_argument("--level", type=float, default=0.95, help="their confidence level (0.95)")
    r.add_argument("--bootstrap", type=int, default=None, help="bootstrap replicates (200)")
    r.add_argument("--seed", type=int, default=0, help="seed of the bootstrap's Poisson draws (0)")
    t = sub.add_parser("thresholds", help="one tuned threshold per label of y_true.npy and y_score.npy")
    t.add_argument("--true", dest="true_path", required=True, help="(n, labels) 0/1 .npy")
    t.add_argument("--score", dest="score_path", required=True, help="(n, labels) scores .npy")
    t.add_argument("--objective", default="f1", help="f1, fbeta, recall_at_precision, precision_at_recall, youden, rate")
    t.add_argument("--beta", type=float)
    t.add_argument("--min-precision", type=float)
    t.add_argument("--min-recall", type=float)
    t.add_argument("--rate", type=float)
    t.add_argument("--weights", help=".npy with one sample weight per row")
    t.add_argument("--ignore-value", metavar="V", help="mark the entries of y_true equal to V (and nan) unknown: each label is scored on its known rows")
    t.add_argument("--labels", help="text file with one label name per line")
    t.add_argument("--digits", type=int, default=2)
    t.add_argument("--out", help="write the result: .json (all of it) or .npy (the thresholds)")
    # Read as text and checked here, so both front ends refuse a bad value in the same words.
    t.add_argument("--folds", help="K: also print the out-of-fold estimate over K seeded folds")
    t.add_argument("--seed", default="0", help="the folds' shuffle seed (0)")
    c = sub.add_parser("calibration", help="per-label Brier score, log loss, ECE and MCE of y_true.npy and y_prob.npy")
    c.add_argument("--true", dest="true_path", required=True, help="(n, labels) 0/1 .npy")
    c.add_argument("--score", dest="score_path", required=True, help="(n, labels) probabilities .npy")
    c.add_argument("--bins", type=int, default=15, help="equal-width bins of [0, 1] for ECE and MCE (15)")
    c.add_argument("--weights", help=".npy with one sample weight per row")
    c.add_argument("--ignore-value", metavar="V", help="mark the entries of y_true equal to V (and nan) unknown: each label is scored on its known rows")
    c.add_argument("--labels", help="text file with one label name per line")
    c.add_argument("--digits", type=int, default=2)
    return p


def _load(path):
    try:
        return np.load(path)
    except OSError:
        # The Swift front end's words, so both say the same.
        raise ValueError(f"Expected a readable file at {path}, but it could not be opened") from None


def _read_text(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        raise ValueError(f"Expected a readable file at {path}, but it could not be opened") from None


def _names(path):
    with open(path, encoding="utf-8") as f:
        names = f.read().split("\n")
    if names and names[-1] == "":
        names.pop()
    return names


def _usage_error(message):
    print(f"tally: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _integer(text, expects):
    """`text` as an int, as Swift's `Int(text)` reads it (ASCII digits, one optional sign)."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit():
        _usage_error(f"{expects}, but got '{text}'")
    return int(text)


def _ignore_value(args):
    """--ignore-value as a number, as Swift's `Double(text)` reads it (nan and inf included)."""
    text = args.ignore_value
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        _usage_error(f"--ignore-value expects a number, but got '{text}'")


def _thresholds(args):
    """`tally thresholds`: the core's table, and the result written to --out."""
    from . import _tally
    from .scores import ScoreTally

    folds = None if args.folds is None else _integer(args.folds, "--folds expects an integer")
    seed = _integer(args.seed, "--seed expects an integer >= 0")
    if seed < 0:
        _usage_error(f"--seed expects an integer >= 0, but got '{args.seed}'")
    if args.out is not None and not args.out.endswith((".json", ".npy")):
        raise ValueError(f"Expected --out to end in .json or .npy, but got '{args.out}'")
    y_true = _load(args.true_path)
    y_score = _load(args.score_path)
    if y_true.ndim != 2:
        raise ValueError(f"Expected y_true to be 2-D (n, labels), but got shape {list(y_true.shape)}")
    weights = _load(args.weights) if args.weights else None
    store = ScoreTally(y_true.shape[1], ignore_value=_ignore_value(args)).update(y_true, y_score, weights)
    result = store.tune_thresholds(args.objective, beta=args.beta, min_precision=args.min_precision,
                                   min_recall=args.min_recall, rate=args.rate, folds=folds, seed=seed)
    names = _names(args.labels) if args.labels else None
    table = _tally.thresholds_table(result.to_json(), names, args.digits)
    if folds is not None:
        oof = result.out_of_fold
        table += "\n" + _tally.thresholds_oof_table(result.to_json(), oof.folds, oof.seed, oof.values, oof.precision,
                                                    oof.recall, names, args.digits)
    if args.out is not None:
        result.save(args.out)
    return table


def _calibration(args):
    """`tally calibration`: the core's table."""
    from .calibration import CalibrationTally

    y_true = _load(args.true_path)
    if y_true.ndim != 2:
        raise ValueError(f"Expected y_true to be 2-D (n, labels), but got shape {list(y_true.shape)}")
    weights = _load(args.weights) if args.weights else None
    cal = CalibrationTally(y_true.shape[1], args.bins, ignore_value=_ignore_value(args))
    cal.update(y_true, _load(args.score_path), weights)
    return cal.table(label_names=_names(args.labels) if args.labels else None, digits=args.digits)


def main(argv=None):
    from . import Tally
    from .thresholds import TunedThresholds

    args = _parser().parse_args(argv)
    if args.command in ("thresholds", "calibration"):
        try:
            text = _thresholds(args) if args.command == "thresholds" else _calibration(args)
        except (OSError, ValueError, TypeError) as exc:
            print(f"tally: error: {exc}", file=sys.stderr)
            return 2
        sys.stdout.write(text)
        return 0
    try:
        y_true = _load(args.true_path)
        y_score = _load(args.score_path)
        if y_true.ndim != 2:
            raise ValueError(f"Expected y_true to be 2-D (n, labels), but got shape {list(y_true.shape)}")
        if args.thresholds and args.thresholds.endswith(".json"):
            threshold = TunedThresholds.from_json(_read_text(args.thresholds)).thresholds
        else:
            threshold = _load(args.thresholds).astype(np.float64) if args.thresholds else args.threshold
        names = None
        if args.labels:
            with open(args.labels, encoding="utf-8") as f:
                names = f.read().split("\n")
            if names and names[-1] == "":
                names.pop()
        weights = _load(args.weights) if args.weights else None
        bootstrap = (True if args.bootstrap is None else args.bootstrap) if args.ci == "bootstrap" else False
        acc = Tally(y_true.shape[1], threshold=threshold, bootstrap=bootstrap, seed=args.seed,
                    ignore_value=_ignore_value(args))
        acc.update(y_true, y_score, weights)
        # "0", "1", "nan" as numbers; the core checks the value.
        zd = args.zero_division if args.zero_division == "warn" else float(args.zero_division)
        text, warnings = acc.render_report(format=args.format, digits=args.digits, zero_division=zd,
                                           target_names=names, ci=args.ci, level=args.level)
    except (OSError, ValueError, TypeError) as exc:
        print(f"tally: error: {exc}", file=sys.stderr)
        return 2
    for _, _, message in warnings:
        print(f"tally: warning: {message}", file=sys.stderr)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

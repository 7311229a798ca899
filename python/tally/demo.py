"""The seed question, end to end: `python -m tally.demo` (the README's first command).

Builds a multi-label image set offline (mosaics of scikit-learn's digits), trains the
seed's kind of CNN with TallyNet (Swift), and after every epoch prints the exact
per-label precision/recall/F1/support of the validation set next to what the seed's
batch-averaged Keras metrics would have reported on the same predictions. Writes a
heatmap of per-label F1 over epochs and per-label precision-recall curves, plus the
recorded validation arrays (for `tally report` and Swift test gates).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from . import Tally
from .datasets import digit_mosaics
from .seed import batch_averaged, seed_precision, seed_recall


def build_model(n_labels, input_shape, *, learning_rate, seed):
    """The seed question's model, layer for layer, on smaller images."""
    from . import net

    model = net.seed_model(n_labels, input_shape, seed=seed)
    # The seed used SGD(lr=0.001, momentum=0.9, decay=lr/epochs); Keras applies that
    # decay per iteration, which at a learning rate large enough to learn in a dozen
    # short epochs would shrink it five-fold. Same optimizer, larger step, no decay.
    model.compile(optimizer=net.SGD(learning_rate, momentum=0.9), loss="binary_crossentropy")
    return model


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tally.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--train", type=int, default=1269, help="training images (the seed had 1269)")
    ap.add_argument("--val", type=int, default=545, help="validation images (the seed had 545)")
    ap.add_argument("--learning-rate", type=float, default=0.1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--out", default="demo-output", help="folder for the pictures and recorded arrays")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    # 2 x 2 mosaics (16 x 16 px) so that the seed's model learns in well under two minutes.
    data = digit_mosaics(n_train=args.train, n_val=args.val, n_test=10, grid=2, blank=0.45, seed=args.seed)
    names = [str(d) for d in range(10)]
    x, y, xv, yv = data.x_train, data.y_train, data.x_val, data.y_val
    freq = y.mean(axis=0)
    print("Tally demo: the seed question's multi-label CNN, trained in Swift, scored exactly.\n")
    print(f"data   {len(x)} training / {len(xv)} validation images: 2x2 mosaics of handwritten digits "
          f"({x.shape[1]}x{x.shape[2]} px);")
    print(f"       labels = the digits present; frequency {freq.max():.0%} (digit 0) down to {freq.min():.0%} "
          f"(digit 9); {np.mean(y.sum(1) == 0):.1%} of images have no label")
    model = build_model(y.shape[1], x.shape[1:], learning_rate=args.learning_rate,
                        seed=args.seed)
    print("model  Conv2D 32 -> Dropout .2 -> Conv2D 32 -> MaxPool 2 -> Dense 512 -> Dropout .5 -> Dense 10 sigmoid;")
    print(f"       SGD lr {args.learning_rate} momentum 0.9, max-norm 3, batch {args.batch_size}\n")

    f1_history, rows = [], []
    for epoch in range(args.epochs):
        start = time.perf_counter()
        h = model.fit(x, y, epochs=1, batch_size=args.batch_size, verbose=0, seed=args.seed + epoch)
        seconds = time.perf_counter() - start
        scores = model.predict(xv, batch_size=256)
        acc = Tally(y.shape[1], label_names=names).update(yv, scores)
        loss = h.history["loss"][-1]
        print(f"Epoch {epoch + 1}/{args.epochs}  loss {loss:.4f}  ({seconds:.1f} s)  "
              f"validation, exact per label (digit: precision recall f1-score support):")
        report = acc.report(zero_division=0)
        print("    " + report.rstrip("\n").replace("\n", "\n    "))
        seed_p = batch_averaged(seed_precision, yv, scores, args.batch_size)
        seed_r = batch_averaged(seed_recall, yv, scores, args.batch_size)
        macro_p = acc.precision("macro", zero_division=0)
        macro_r = acc.recall("macro", zero_division=0)
        print(f"    the seed's Keras metrics would log   val_precision {seed_p:.4f}  val_recall {seed_r:.4f}"
              "   (per-batch, labels averaged, then batches averaged)")
        print(f"    exact on the whole validation set    macro precision {macro_p:.4f}  macro recall {macro_r:.4f}"
              f"   (off by {seed_p - macro_p:+.4f} / {seed_r - macro_r:+.4f})\n")
        f1_history.append(acc.f1(zero_division=0))
        rows.append((epoch + 1, seed_p, seed_r, macro_p, macro_r, acc.f1("macro", zero_division=0)))

    # F1 at 0.5 vs at thresholds tuned per label, measured honestly: tuned on one half of the
    # validation set and scored on the other, both ways (2 seeded folds, pooled).
    from .scores import tune_thresholds

    tuned = tune_thresholds(yv, scores, objective="f1", folds=2, seed=args.seed)
    at_half = acc.f1(zero_division=0)
    oof = tuned.out_of_fold
    print("F1 per label at 0.5 vs at a tuned threshold (tuned on half the validation set, scored on the "
          "other half, both ways):")
    print(f"    {'digit':>5}  {'F1 at 0.5':>9}  {'F1 tuned':>8}  {'threshold':>9}")
    for j, name in enumerate(names):
        print(f"    {name:>5}  {at_half[j]:9.4f}  {oof.values[j]:8.4f}  {tuned.thresholds[j]:9.4f}")
    print(f"    {'macro':>5}  {np.mean(at_half):9.4f}  {oof.average:8.4f}   (threshold: tuned on all validation rows)\n")

    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "y_val.npy"), yv.astype(bool))
    np.save(os.path.join(args.out, "y_score.npy"), scores.astype(np.float32))
    with open(os.path.join(args.out, "labels.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    print(f"recorded the last epoch's validation arrays: {args.out}/y_val.npy, {args.out}/y_score.npy")
    if not args.no_plots:
        from . import plot

        heatmap = os.path.join(args.out, "f1_per_label.png")
        plot.f1_heatmap(np.array(f1_history), [f"digit {n}" for n in names],
                        title="Validation F1 per label (exact), by epoch").savefig(heatmap, dpi=110)
        curves = os.path.join(args.out, "precision_recall.png")
        plot.precision_recall_curves(yv, scores, [f"digit {n}" for n in names], thresholds=tuned,
                                     title="Validation precision-recall per label (last epoch)").savefig(curves, dpi=110)
        reliability = os.path.join(args.out, "reliability.png")
        plot.reliability(yv, scores, label_names=[f"digit {n}" for n in names], n_bins=10, ncols=5,
                         title="Validation reliability per label (last epoch, 10 equal-width bins)"
                         ).savefig(reliability, dpi=90)
        print(f"wrote {heatmap} (per-label F1 over epochs), {curves} (per-label precision-recall curves) "
              f"and {reliability} (per-label reliability diagrams)")
    print(f"score them again any time:  tally report --true {args.out}/y_val.npy --score {args.out}/y_score.npy "
          f"--labels {args.out}/labels.txt")
    print(f"and their calibration:      tally calibration --true {args.out}/y_val.npy --score {args.out}/y_score.npy "
          f"--labels {args.out}/labels.txt --bins 10")
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A multi-label image set that needs no network: mosaics of scikit-learn's digits.

Each image is a 3 x 3 grid of 8 x 8 handwritten digits from `sklearn.datasets.load_digits`
(24 x 24 pixels, one channel); its labels are the digits that appear. Some cells are
blank, so some images have few labels and a few none; digit frequencies are skewed on
purpose, so micro, macro, weighted and samples averages differ — the cases that
`zero_division` and `average="samples"` are about. The source digits are split
before the mosaics are composed: no digit image appears in two splits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DigitMosaics", "digit_mosaics"]


@dataclass
class DigitMosaics:
    x_train: np.ndarray  # (n, 24, 24, 1) float32 in [0, 1]
    y_train: np.ndarray  # (n, 10) uint8
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    label_names: list

    def splits(self):
        return (self.x_train, self.y_train), (self.x_val, self.y_val), (self.x_test, self.y_test)


def _compose(images, targets, n, grid, rng, weights, blank):
    """n mosaics of grid x grid cells drawn from one split's digits."""
    side = 8 * grid
    x = np.zeros((n, side, side, 1), dtype=np.float32)
    y = np.zeros((n, 10), dtype=np.uint8)
    # Draw each cell's digit class with skewed frequencies, then an image of that class.
    by_class = [np.flatnonzero(targets == d) for d in range(10)]
    for i in range(n):
        for cell in range(grid * grid):
            if rng.random() < blank:
                continue
            d = rng.choice(10, p=weights)
            img = images[rng.choice(by_class[d])]
            r, c = divmod(cell, grid)
            x[i, 8 * r:8 * r + 8, 8 * c:8 * c + 8, 0] = img
            y[i, d] = 1
    return x, y


def digit_mosaics(n_train=1269, n_val=545, n_test=300, *, grid=3, blank=0.68, seed=0) -> DigitMosaics:
    """Build the mosaics (1269 train / 545 validation like the seed question's split).

    - `blank`: probability that a cell stays empty (so some images have no label).
    - Label frequencies fall geometrically from digit 0 to digit 9.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    targets = digits.target
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    # Split the source digits 60/25/15 before composing anything.
    a, b = int(0.6 * len(order)), int(0.85 * len(order))
    parts = [order[:a], order[a:b], order[b:]]
    weights = 0.72 ** np.arange(10)
    weights /= weights.sum()
    out = []
    for idx, n in zip(parts, (n_train, n_val, n_test)):
        out.extend(_compose(images[idx], targets[idx], n, grid, rng, weights, blank))
    return DigitMosaics(*out, label_names=[f"digit {d}" for d in range(10)])

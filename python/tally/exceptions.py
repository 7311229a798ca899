"""Tally's warnings."""


class UndefinedMetricWarning(UserWarning):
    """A score was undefined (a zero denominator) and replaced by `zero_division`.

    The same name and messages as scikit-learn's `UndefinedMetricWarning`.
    """

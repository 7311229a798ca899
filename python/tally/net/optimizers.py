"""The optimizers: Keras's SGD and Adam, with Keras 2's time-based `decay`."""

from __future__ import annotations

from ._checks import _number

class SGD:
    """Keras `SGD`: ``v = momentum·v - lr_t·g; w += v`` (Nesterov: ``w += momentum·v - lr_t·g``),
    with Keras 2's time-based ``decay``: ``lr_t = lr / (1 + decay·iterations)``.
    ``lr`` is accepted as Keras 2's name for ``learning_rate``."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, decay=0.0, *, lr=None):
        if lr is not None:
            learning_rate = lr
        self.learning_rate = _number(learning_rate, "learning_rate")
        self.momentum = _number(momentum, "momentum")
        self.nesterov = bool(nesterov)
        self.decay = _number(decay, "decay")

    def _args(self):
        return ("sgd", self.learning_rate, self.momentum, self.nesterov, 0.9, 0.999, 1e-7, self.decay)

    def __repr__(self):
        return (f"SGD(learning_rate={self.learning_rate}, momentum={self.momentum}, "
                f"nesterov={self.nesterov}, decay={self.decay})")


class Adam:
    """Keras 3 `Adam` (epsilon outside the root, bias correction in the step size),
    with the same optional time-based ``decay``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0, *, lr=None):
        if lr is not None:
            learning_rate = lr
        self.learning_rate = _number(learning_rate, "learning_rate")
        self.beta_1 = _number(beta_1, "beta_1", high=1.0, high_open=True)
        self.beta_2 = _number(beta_2, "beta_2", high=1.0, high_open=True)
        self.epsilon = _number(epsilon, "epsilon")
        self.decay = _number(decay, "decay")

    def _args(self):
        return ("adam", self.learning_rate, 0.0, False, self.beta_1, self.beta_2, self.epsilon, self.decay)

    def __repr__(self):
        return (f"Adam(learning_rate={self.learning_rate}, beta_1={self.beta_1}, beta_2={self.beta_2}, "
                f"epsilon={self.epsilon}, decay={self.decay})")


def _optimizer(value):
    if isinstance(value, (SGD, Adam)):
        return value
    if isinstance(value, str) and value.lower() in ("sgd", "adam"):
        return SGD() if value.lower() == "sgd" else Adam()
    raise ValueError(f"Expected `optimizer` to be 'sgd', 'adam', tally.net.SGD(...) or tally.net.Adam(...), "
                     f"but got {value!r}")

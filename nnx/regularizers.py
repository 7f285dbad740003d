"""Weight penalties for `kernel_regularizer`: "l1", "l2" (0.01, as Keras) or {type, l1, l2}."""

import numpy as np

from nnx import checks
from nnx.registry import Registry

DEFAULT_FACTOR = 0.01


class L1L2:
    """penalty = l1 * sum|W| + l2 * sum(W^2), added to the loss; its gradient to dW."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = checks.number("kernel_regularizer", "l1", l1, minimum=0.0)
        self.l2 = checks.number("kernel_regularizer", "l2", l2, minimum=0.0)

    def penalty(self, w):
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(w).sum())
        if self.l2:
            total += self.l2 * float(np.vdot(w, w))
        return total

    def add_gradient(self, w, dw):
        if self.l1:
            dw += w.dtype.type(self.l1) * np.sign(w)
        if self.l2:
            dw += w.dtype.type(2.0 * self.l2) * w


REGULARIZERS = Registry("regularizer", {
    "l1": lambda l1=DEFAULT_FACTOR: L1L2(l1=l1),
    "l2": lambda l2=DEFAULT_FACTOR: L1L2(l2=l2),
    "l1_l2": lambda l1=DEFAULT_FACTOR, l2=DEFAULT_FACTOR: L1L2(l1=l1, l2=l2),
})


def get(spec):
    """None, a name, or `{type: l1|l2|l1_l2, l1: .., l2: ..}` -> an L1L2 or None."""
    return None if spec is None else REGULARIZERS.create(spec)

"""Activation names -> the integer codes that kernels switch on (nnx/kernels/codes.py).

This module imports no numba, so config validation stays fast.
"""

from nnx.kernels.codes import (  # noqa: F401 - the codes are read as activations.RELU, ...
    ELU,
    ELU_ALPHA,
    GELU,
    LEAKY_RELU,
    LEAKY_RELU_SLOPE,
    LINEAR,
    RELU,
    SIGMOID,
    SOFTMAX,
    TANH,
)
from nnx.registry import Registry

ACTIVATIONS = Registry(
    "activation",
    {
        "linear": LINEAR,
        "sigmoid": SIGMOID,
        "relu": RELU,
        "leaky_relu": LEAKY_RELU,
        "elu": ELU,
        "gelu": GELU,
        "tanh": TANH,
        "softmax": SOFTMAX,
    },
)

# Units of these activations can die: their output is exactly zero for negative inputs.
RELU_FAMILY = frozenset({"relu"})


def code(name):
    """The kernel code of an activation name; None means linear."""
    return LINEAR if name is None else ACTIVATIONS.get(name)

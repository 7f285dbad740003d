"""Activation names -> the integer codes that kernels switch on.

Kernels select an activation by code, never by a function argument (a function argument
defeats numba's disk cache). This module imports no numba, so config validation stays fast.
"""

from nnx.registry import Registry

LINEAR, SIGMOID, RELU, LEAKY_RELU, ELU, GELU, TANH, SOFTMAX = range(8)

LEAKY_RELU_SLOPE = 0.01
ELU_ALPHA = 1.0

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

"""nnx: neural networks from scratch on numba kernels, with a Keras-like API."""

from nnx import callbacks, initializers, layers, losses, metrics, optimizers
from nnx.errors import NnxError
from nnx.model import History, Sequential
from nnx.model_io import load_model

__version__ = "0.1.0"

__all__ = ["Sequential", "History", "load_model", "NnxError", "layers", "optimizers", "losses",
           "metrics", "callbacks", "initializers", "__version__"]

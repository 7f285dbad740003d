"""nnx: neural networks from scratch on numba kernels, with a Keras-like API.

The public names load on first use (PEP 562), so that `import nnx` (and with it
`nnx --help`) does not pay for numpy and every layer module up front.
"""

import importlib

__version__ = "0.1.0"

_NAMES = {"Sequential": "nnx.model", "History": "nnx.model", "load_model": "nnx.model",
          "NnxError": "nnx.errors", "Model": "nnx.model", "Input": "nnx.nodes"}
_MODULES = ("callbacks", "initializers", "layers", "losses", "metrics", "optimizers")

__all__ = ["Sequential", "Model", "Input", "History", "load_model", "NnxError", "layers",
           "optimizers", "losses", "metrics", "callbacks", "initializers", "__version__"]


def __getattr__(name):
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(f"nnx.{name}")
    else:
        raise AttributeError(f"module 'nnx' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *__all__})

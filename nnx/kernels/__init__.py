"""Pure @njit kernels over arrays, loaded on first use.

Importing a kernel module imports numba (~0.5 s), so layers, losses and optimizers hold a
`lazy` handle and the import happens when a model first computes, not at `import nnx`.
"""

import importlib


class lazy:  # noqa: N801 - reads like a module at the call site
    """A module handle that imports `nnx.kernels.<name>` on first attribute access."""

    def __init__(self, name):
        self._name = f"nnx.kernels.{name}"

    def __getattr__(self, attr):
        module = importlib.import_module(self._name)
        self.__dict__.update(vars(module))  # later look-ups are plain attribute reads
        return getattr(module, attr)

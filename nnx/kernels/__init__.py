"""Pure @njit kernels over arrays, loaded on first use.

Importing a kernel module imports numba (~0.5 s), so layers, losses and optimizers hold a
`lazy` handle and the import happens when a model first computes, not at `import nnx`;
a run may load the compiler ahead, on a second thread, while its data are read
(`load_compiler`).
"""

import importlib


def load_compiler(stop):
    """Load what a process's first kernel call loads before its kernels: numba (with
    nnx's cache folder, `jit`), SciPy's BLAS, which numba binds for `np.dot`, and
    numba's compiler registries, which its cache needs to load a kernel. 0.4 s of CPU
    that, once done, the first call no longer spends. Ends after the step under way once
    `stop` (a threading.Event) is set."""
    steps = (lambda: importlib.import_module("nnx.kernels.jit"),
             lambda: importlib.import_module("scipy.linalg.cython_blas"),
             _load_registries)
    for step in steps:
        if stop.is_set():
            return
        step()


def _load_registries():
    from numba.core.compiler_lock import global_compiler_lock
    from numba.core.registry import cpu_target

    with global_compiler_lock:  # as numba holds it whenever it compiles or loads
        cpu_target.target_context.refresh()


class lazy:  # noqa: N801 - reads like a module at the call site
    """A module handle that imports `nnx.kernels.<name>` on first attribute access."""

    def __init__(self, name):
        self._name = f"nnx.kernels.{name}"

    def __getattr__(self, attr):
        module = importlib.import_module(self._name)
        self.__dict__.update(vars(module))  # later look-ups are plain attribute reads
        return getattr(module, attr)

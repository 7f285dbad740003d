"""The one way kernels are compiled: every kernel module takes its decorator from here.

`kernel`, the default. `cache=True`: compiled code is kept on disk, so a second process loads
instead of compiling. `error_model="numpy"`: a division by zero gives inf/nan (which the
divergence guard sees) instead of a Python exception; the exception check blocks SIMD
vectorization of loops with a division (Adam's update ran 3x slower with it).
`nogil=True`: a kernel releases the GIL, so Python threads can run kernels over parts of a
batch side by side (nnx.kernels.threads).
The disk cache is nnx's own folder (nnx/kernels/cache.py says where and why), set here,
before any kernel is decorated, unless NUMBA_CACHE_DIR chose one.
"""

from numba import njit, types
from numba.core import config
from numba.extending import overload

from nnx.kernels.cache import cache_dir

config.CACHE_DIR = cache_dir()

kernel = njit(cache=True, error_model="numpy", nogil=True)

reassociating_kernel = njit(cache=True, error_model="numpy", nogil=True, fastmath={"reassoc"})
"""For loops that sum as they go (the optimizers' norms): without reassociation LLVM must add
in order and cannot vectorize the sum. Only `reassoc`: full fastmath assumes no NaN and would
optimize away the NaN checks the divergence guard relies on."""

contracting_kernel = njit(cache=True, error_model="numpy", nogil=True, fastmath={"contract"})
"""For float arithmetic that is mostly products added up (the recurrent gates' rational tanh,
the cells): `contract` lets LLVM fuse a multiply and an add into one FMA, rounded once
instead of twice, 1.3-1.5x faster on the gate polynomials. It assumes nothing about NaN."""

fma_kernel = njit(cache=True, error_model="numpy", nogil=True, fastmath={"reassoc", "contract"})
"""For stencils and dot products (the direct convolutions): products fused into FMAs and
sums reassociated, so that a nine-tap sum neither waits on one long chain of additions nor
keeps a reduction from vectorizing. Rounding differs from the sequential order's."""

inline_kernel = njit(cache=True, error_model="numpy", nogil=True, inline="always")
"""For a few-line helper called inside a hot loop: inlined into its caller's numba IR, so
the caller's loop sees through it (LLVM's own inlining comes too late for some rewrites)."""


def by_dtype(stub, float32_version, other_version):
    """Make the plain function `stub` callable from kernels: on a float32 scalar it runs
    `float32_version`, on anything else `other_version`, chosen when the caller compiles.

    The two-line choosers are not disk-cached: every one is defined here, on the same lines,
    and numba's cache keys them by file and line, so two of them would share (and swap) one
    cache entry. A cached caller keeps their compiled code in its own cache entry anyway."""

    @overload(stub)
    def _choose(v):
        if v == types.float32:
            return lambda v: float32_version(v)
        return lambda v: other_version(v)

    return stub

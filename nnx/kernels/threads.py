"""Batch-wise kernels on every thread: parts of a batch run side by side in Python threads.

BLAS spreads the large matrix products over its threads by itself. The rest of a step
(attention's per-head products and softmax, Winograd's transforms and small products, a
recurrent sequence) is serial code, which would leave the other cores idle; its kernels
release the GIL (nogil), so Python threads can run it on parts of the batch at once. Python
threads rather than numba's prange: a parallel kernel takes ~0.45 s to load from the disk
cache in every process, and numba's OpenMP threads spin against BLAS's own.

The thread count is numba's (`numba.set_num_threads`, which `--threads` sets). While the
parts run, OpenBLAS is held to one thread (`one_blas_thread`), so that each part's products
run on its own thread: OpenBLAS keeps only products of up to 2^18 multiply-adds on the
calling thread for sure (its small-matrix kernel, up to 10^6, only for some shapes). Its
threads, once woken, spin ~0.1 s for more work, taking a core from the parts: a product
outside the parts that is too small to gain from two threads (Dense's, nnx/layers/dense.py)
is held to one thread too. On 2 cores, cnn2d_wide's step took 30-34 ms with only the parts
held and 16-17 ms with its Dense layer's products (2.6*10^6 multiply-adds) held as well.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numba

_pool = None
_pool_pid = None
_blas = None


def _executor(workers):
    """The shared pool of helper threads (a new one after a fork: a child has no threads)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < workers:
        _pool, _pool_pid = ThreadPoolExecutor(workers, thread_name_prefix="nnx"), os.getpid()
    return _pool


def _blas_libraries():
    """The OpenBLAS libraries of numpy and SciPy (numba's kernels call SciPy's), found once."""
    global _blas
    if _blas is None:
        import scipy.linalg.cython_blas  # noqa: F401 - loads SciPy's BLAS before the scan
        from threadpoolctl import ThreadpoolController

        _blas = [lib for lib in ThreadpoolController().lib_controllers
                 if lib.internal_api == "openblas"]
    return _blas


@contextmanager
def one_blas_thread():
    """OpenBLAS held to one thread inside the block; its thread counts are restored after."""
    blas = [(lib, lib.num_threads) for lib in _blas_libraries()]
    for lib, _ in blas:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, count in blas:
            lib.set_num_threads(count)


def run_parts(fn, n, min_part=1):
    """fn(start, stop) for consecutive parts of range(n), one per thread and each of at least
    `min_part` items; the calling thread runs the first part. Returns when all are done."""
    parts = max(1, min(numba.get_num_threads(), n // max(min_part, 1)))
    if parts == 1:
        fn(0, n)
        return
    bounds = [n * i // parts for i in range(parts + 1)]
    pool = _executor(parts - 1)
    with one_blas_thread():
        futures = [pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, parts)]
        try:
            fn(bounds[0], bounds[1])
        finally:
            for future in futures:
                future.result()

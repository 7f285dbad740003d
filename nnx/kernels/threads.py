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

A whole layer can run over parts too (a transformer block, nnx/layers/transformer.py):
`run_over` marks each thread while it runs a part, and a `run_parts` inside a part then runs
its range whole, on that thread: no part waits on the pool it is part of.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numba

_pool = None
_pool_pid = None
_blas = None
_local = threading.local()  # .in_part: this thread runs a part (BLAS is held to one thread)


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
    """OpenBLAS held to one thread inside the block; its thread counts are restored after.
    Inside a part it is held already: nothing to do."""
    if getattr(_local, "in_part", False):
        yield
        return
    blas = [(lib, lib.num_threads) for lib in _blas_libraries()]
    for lib, _ in blas:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, count in blas:
            lib.set_num_threads(count)


def part_count(n, min_part=1):
    """How many parts of at least `min_part` items range(n) runs in: one per thread at most,
    and one inside a part."""
    if getattr(_local, "in_part", False):
        return 1
    return max(1, min(numba.get_num_threads(), n // max(min_part, 1)))


def part_bounds(n, parts):
    """The bounds of `parts` consecutive parts of range(n), as equal as can be."""
    return [n * i // parts for i in range(parts + 1)]


def _run_part(fn, i, start, stop):
    held, _local.in_part = getattr(_local, "in_part", False), True
    try:
        fn(i, start, stop)
    finally:
        _local.in_part = held


def run_over(fn, bounds):
    """fn(i, bounds[i], bounds[i + 1]) for every part, one per thread; the calling thread
    runs the first part. Returns when all are done."""
    parts = len(bounds) - 1
    if parts == 1:
        fn(0, bounds[0], bounds[1])
        return
    pool = _executor(parts - 1)
    with one_blas_thread():
        futures = [pool.submit(_run_part, fn, i, bounds[i], bounds[i + 1])
                   for i in range(1, parts)]
        try:
            _run_part(fn, 0, bounds[0], bounds[1])
        finally:
            for future in futures:
                future.result()


def run_parts(fn, n, min_part=1):
    """fn(start, stop) for consecutive parts of range(n), one per thread and each of at least
    `min_part` items; the calling thread runs the first part. Returns when all are done."""
    run_over(lambda i, start, stop: fn(start, stop), part_bounds(n, part_count(n, min_part)))

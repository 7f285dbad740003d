"""Batch-wise kernels on every thread: parts of a batch run side by side in Python threads.

BLAS spreads the large matrix products over its threads by itself. The rest of a step
(attention's per-head products and softmax, Winograd's transforms and small products, a
recurrent sequence) is serial code, which would leave the other cores idle; its kernels
release the GIL (nogil), so Python threads can run it on parts of the batch at once. Python
threads rather than numba's prange: a parallel kernel takes ~0.45 s to load from the disk
cache in every process, and numba's OpenMP threads spin against BLAS's own.

The thread count is numba's (`numba.set_num_threads`, which `--threads` sets). A part's
small BLAS calls stay single-threaded (OpenBLAS multiplies products of up to 2^18
multiply-adds, and its small-matrix kernel those up to 10^6, on the calling thread).
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numba

_pool = None
_pool_pid = None


def _executor(workers):
    """The shared pool of helper threads (a new one after a fork: a child has no threads)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < workers:
        _pool, _pool_pid = ThreadPoolExecutor(workers, thread_name_prefix="nnx"), os.getpid()
    return _pool


def run_parts(fn, n, min_part=1):
    """fn(start, stop) for consecutive parts of range(n), one per thread and each of at least
    `min_part` items; the calling thread runs the first part. Returns when all are done."""
    parts = max(1, min(numba.get_num_threads(), n // max(min_part, 1)))
    if parts == 1:
        fn(0, n)
        return
    bounds = [n * i // parts for i in range(parts + 1)]
    pool = _executor(parts - 1)
    futures = [pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, parts)]
    try:
        fn(bounds[0], bounds[1])
    finally:
        for future in futures:
            future.result()

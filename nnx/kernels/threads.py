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

The helper threads hand over through flags in shared memory rather than a queue: on 2 cores
of a virtual machine, waking a sleeping thread took 20-40 us, and each `run_parts` of the
benchmark LSTM woke two (the helper for its part, then the caller for the result). A waiting
thread spins first (`spin_until`, GIL released), for ~0.3 ms, then sleeps on a condition.
A helper reports its part done from inside a kernel (`report_done`), once it has let go of
the GIL, so that the caller, spinning for it, takes the GIL at once instead of sleeping on
it. lstm's step went from 2.34 to 2.17 ms, gru's from 2.00 to 1.85 ms. A kernel that runs
one part of a batch (the recurrent loops, convolutions, pooling, attention heads) takes a
start mark as its last argument (`start_mark()`) and sets it first thing (`mark_start`);
in a run whose parts do so (`marks_start=True`), a helper that sees its job keeps spinning
until the caller's kernel has begun: until then the caller holds the GIL, and a helper that
reached for it would sleep on it. The benchmark LSTM's helper began its part 20-33 us after
the caller's (medians), now 6 us.

A whole layer can run over parts too (a transformer block, nnx/layers/transformer.py):
`run_over` marks each thread while it runs a part, and a `run_parts` inside a part then runs
its range whole, on that thread: no part waits on the pool it is part of.
"""

import atexit
import itertools
import os
import platform
import threading
from contextlib import contextmanager

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from nnx.kernels.jit import kernel

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")

# A helper's row of flags, each on a cache line of its own: the jobs posted to it, the jobs
# it has done, whether the caller sleeps until the last one is done, and the ticket of the
# caller's start mark that its job waits for (0: none; see `mark_start`).
POSTED, DONE, CALLER_SLEEPS, AFTER_START = 0, 8, 16, 24
SPINS = 20_000  # a wait's spins before it sleeps: 0.26 ms at 13 ns a PAUSE (2-core Xeon)


@intrinsic
def _load(typingctx, flags, index):
    """flags[index] read from memory on every call (sequentially consistent), for a spin
    loop that waits on another thread's store."""
    def codegen(context, builder, sig, args):
        return builder.load_atomic(_address(context, builder, sig, args), "seq_cst", 8)
    return flags.dtype(flags, index), codegen


@intrinsic
def _store(typingctx, flags, index, value):
    """flags[index] = value, seen by every thread before this thread's next load."""
    def codegen(context, builder, sig, args):
        builder.store_atomic(args[2], _address(context, builder, sig, args), "seq_cst", 8)
        return context.get_dummy_value()
    return types.void(flags, index, flags.dtype), codegen


def _address(context, builder, sig, args):
    array = context.make_array(sig.args[0])(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, sig.args[0], array, [args[1]],
                                    wraparound=False)


@intrinsic
def _pause(typingctx):
    """x86's PAUSE in a spin loop: it leaves the core to a hyper-threaded twin."""
    def codegen(context, builder, sig, args):
        if _X86:
            pause = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
            builder.call(pause, [])
        return context.get_dummy_value()
    return types.void(), codegen


@kernel
def spin_until(flags, index, value, spins):
    """True once flags[index] == value; False after `spins` looks without it."""
    for _ in range(spins):
        if _load(flags, index) == value:
            return True
        _pause()
    return False


@kernel
def mark_start(mark):
    """The first call of a part kernel: mark[0] = mark[1], the caller's ticket (`start_mark`).
    Its helpers wait for it before they take the GIL, which the caller has just let go."""
    _store(mark, 0, mark[1])


@kernel
def wait_job(flags, started, job, spins):
    """True once job `job` is posted and, where the job asks for it (flags[AFTER_START]),
    the caller's part kernel has started; False after `spins` looks without the post. A
    helper that took up its job at once would wait for the GIL, held by the caller until its
    own kernel starts, asleep: 20-40 us to wake."""
    if not spin_until(flags, POSTED, job, spins):
        return False
    ticket = _load(flags, AFTER_START)
    if ticket > 0:
        spin_until(started, 0, ticket, spins)
    return True


@kernel
def report_done(flags, started, done, spins):
    """A helper's turn after its part: flags[DONE] = done, stored once the GIL is released
    (a caller spinning for it then finds the GIL free, instead of sleeping until the helper
    lets go of it), then a wait for the next job. -1: the caller sleeps and needs a notify;
    1: the next job is posted; 0: none came."""
    _store(flags, DONE, done)
    if _load(flags, CALLER_SLEEPS) == 1:
        return -1
    return 1 if wait_job(flags, started, done + 1, spins) else 0


@kernel
def caller_sleeps(flags, posted):
    """Marks the caller asleep, then whether job `posted` is done: a helper that reports
    it done later sees the mark (both are sequentially consistent)."""
    _store(flags, CALLER_SLEEPS, 1)
    return _load(flags, DONE) == posted


_blas = None
_counts = None  # (get, set) of each library's thread count
_local = threading.local()  # .in_part: this thread runs a part (BLAS is held to one thread)


def _blas_libraries():
    """The OpenBLAS libraries of numpy and SciPy (numba's kernels call SciPy's), found once."""
    global _blas
    if _blas is None:
        import scipy.linalg.cython_blas  # noqa: F401 - loads SciPy's BLAS before the scan
        from threadpoolctl import ThreadpoolController

        _blas = [lib for lib in ThreadpoolController().lib_controllers
                 if lib.internal_api == "openblas"]
    return _blas


def _thread_counts(lib):
    """(get, set) of an OpenBLAS library's thread count: its own functions, called directly
    (threadpoolctl's checks around each call cost more than the call: lstm's step spent
    ~30 us more in one_blas_thread through them), or threadpoolctl's on OpenMP."""
    if lib.threading_layer != "openmp":
        for prefix, suffix in itertools.product(("", "scipy_"), ("", "64_", "_64")):
            get = getattr(lib.dynlib, f"{prefix}openblas_get_num_threads{suffix}", None)
            if get is not None:
                return get, getattr(lib.dynlib, f"{prefix}openblas_set_num_threads{suffix}")
    return (lambda: lib.num_threads), lib.set_num_threads


@contextmanager
def one_blas_thread():
    """OpenBLAS held to one thread inside the block; its thread counts are restored after.
    Inside a part it is held already: nothing to do."""
    global _counts
    if getattr(_local, "in_part", False):
        yield
        return
    if _counts is None:
        _counts = [_thread_counts(lib) for lib in _blas_libraries()]
    blas = [(set_count, get()) for get, set_count in _counts]
    for set_count, _ in blas:
        set_count(1)
    try:
        yield
    finally:
        for set_count, count in blas:
            set_count(count)


def parts_started():
    """Whether this process has run parts on helper threads: until then no part of nnx runs
    beside the calling thread, so OpenBLAS's spinning threads take no core from one."""
    return _helpers is not None and _helpers[0] == os.getpid()


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


_helpers = None  # (pid, flags, jobs, wake condition, done condition, busy lock, threads)
_NO_MARK = np.zeros(2, np.int64)  # what start_mark gives where no helper waits


def _start_helpers(count):
    """The helper threads (new ones after a fork: a child has no threads), at least `count`."""
    global _helpers
    if _helpers is None or _helpers[0] != os.getpid() or len(_helpers[2]) < count:
        _stop_helpers()
        threads = []
        # a row of flags per helper, then the caller's start mark and ticket (`run_over`)
        _helpers = (os.getpid(), np.zeros((count + 1, 32), np.int64), [None] * count,
                    threading.Condition(), threading.Condition(), threading.Lock(), threads)
        for k in range(count):
            threads.append(threading.Thread(target=_serve, args=(_helpers, k),
                                            name=f"nnx-part-{k + 1}", daemon=True))
            threads[-1].start()
    return _helpers


def _stop_helpers():
    """Ends this process's helper threads, unless another thread's parts hold them: at exit,
    so that none runs compiled code while the interpreter unloads numba's, and before a
    larger set replaces them."""
    global _helpers
    if _helpers is None or _helpers[0] != os.getpid():
        return
    _, flags, jobs, wake, _, busy, threads = _helpers
    if not busy.acquire(blocking=False):
        return
    for k in range(len(jobs)):
        jobs[k] = (None, 0, 0, 0)
        flags[k, AFTER_START] = 0
        flags[k, POSTED] += 1
    with wake:
        wake.notify_all()
    for thread in threads:
        thread.join(timeout=1)
    _helpers = None


atexit.register(_stop_helpers)


def _serve(helpers, k):
    """Helper k's loop: wait for a job (spinning, then asleep), run it, report it done."""
    _, flags, jobs, wake, done, _, _ = helpers
    row, started, seen = flags[k], flags[-1], 0
    posted = wait_job(row, started, 1, SPINS)
    while True:
        if not posted:
            with wake:
                while row[POSTED] == seen:
                    wake.wait()
        seen += 1
        fn, i, start, stop = jobs[k]
        if fn is None:
            return
        try:
            _run_part(fn, i, start, stop)
            jobs[k] = None
        except BaseException as error:  # noqa: BLE001 - the caller raises it
            jobs[k] = error
        turn = report_done(row, started, seen, SPINS)
        if turn < 0:
            with done:
                done.notify_all()
            turn = wait_job(row, started, seen + 1, SPINS)
        posted = turn > 0


def _wait_done(row, done):
    """Returns once the helper of `row` has done its last job."""
    posted = row[POSTED]
    if spin_until(row, DONE, posted, SPINS):
        return
    try:
        with done:
            while not caller_sleeps(row, posted):
                done.wait()
    finally:
        row[CALLER_SLEEPS] = 0


def start_mark():
    """The array a part kernel passes to `mark_start` first thing: where the calling thread
    runs the first part of a `run_over(..., marks_start=True)`, the one its helpers wait on."""
    mark = getattr(_local, "mark", None)
    return _NO_MARK if mark is None else mark


def run_over(fn, bounds, marks_start=False):
    """fn(i, bounds[i], bounds[i + 1]) for every part, one per thread; the calling thread
    runs the first part. Returns when all are done. `marks_start`: fn's kernels call
    `mark_start(start_mark())` first, and the helpers take up their parts after that."""
    parts = len(bounds) - 1
    if parts == 1:
        fn(0, bounds[0], bounds[1])
        return
    _, flags, jobs, wake, done, busy, _ = _start_helpers(parts - 1)
    if not busy.acquire(blocking=False):  # another thread's parts hold the helpers
        for i in range(parts):
            _run_part(fn, i, bounds[i], bounds[i + 1])
        return
    try:
        with one_blas_thread():
            mark = flags[-1]
            mark[1] += 1
            for k in range(parts - 1):
                jobs[k] = (fn, k + 1, bounds[k + 1], bounds[k + 2])
                flags[k, AFTER_START] = mark[1] if marks_start else 0
                flags[k, POSTED] += 1
            with wake:  # a helper checks the posts under this lock before it sleeps
                wake.notify_all()
            _local.mark = mark if marks_start else None
            try:
                _run_part(fn, 0, bounds[0], bounds[1])
            finally:
                _local.mark = None
                for k in range(parts - 1):
                    _wait_done(flags[k], done)
        errors = [job for job in jobs[:parts - 1] if job is not None]
        if errors:
            raise errors[0]
    finally:
        busy.release()


def run_parts(fn, n, min_part=1, marks_start=False):
    """fn(start, stop) for consecutive parts of range(n), one per thread and each of at least
    `min_part` items; the calling thread runs the first part. Returns when all are done.
    One part is a plain call (the small layers of a step make several of these)."""
    parts = part_count(n, min_part)
    if parts == 1:
        fn(0, n)
        return
    run_over(lambda i, start, stop: fn(start, stop), part_bounds(n, parts), marks_start)


def summed_shares(run, n, min_part, like_w, like_b):
    """run(first, stop, share) over parts of range(n), on threads, each part filling a share
    (arrays like like_w, like_b) of a weight and a bias gradient; returns their sums, added
    in part order. run's kernels mark their start (see `run_over`)."""
    bounds = part_bounds(n, part_count(n, min_part))
    shares = [(np.empty_like(like_w), np.empty_like(like_b)) for _ in bounds[1:]]
    run_over(lambda i, first, stop: run(first, stop, shares[i]), bounds, marks_start=True)
    total_w, total_b = shares[0]
    for share_w, share_b in shares[1:]:
        total_w += share_w
        total_b += share_b
    return total_w, total_b

"""What a run needs from the machine and the process: threads, the environment it records,
and the stop after the current batch when a stop signal came.

The signal handling itself is `nnx.stop_signals`, a low module the CLI and the search
workers use as well; a run only asks it (`RunStop`) whether to stop.
"""

import gc
import os
import platform
import socket
import sys
import threading
from contextlib import contextmanager

from nnx import __version__
from nnx.callbacks import Callback
from nnx.cores import thread_count

EVAL_BATCH = 1024  # rows per forward pass when evaluating or predicting: bounded memory
# The GIL switch interval while the compiler loads beside the data's reading (see
# `kernels_loading`); Python's default is 5 ms.
LOADING_SWITCH_S = 0.0005


def thread_environment(threads):
    """Put `threads` (at most the cores this process may use) in the variables numba and
    the BLAS libraries read when they are loaded; returns it (None: leave as is)."""
    if threads is None:
        return None
    threads = thread_count(threads)[0]
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)  # BLAS copies loaded later read these
    if "numba" not in sys.modules:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
    return threads


def set_threads(threads):
    """Limit numba's and the BLAS libraries' threads to `threads`, at most the cores this
    process may use (None: leave as is)."""
    threads = thread_environment(threads)
    if threads is None:
        return
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    threadpool_limits(limits=threads)


@contextmanager
def kernels_loading(threads):
    """Run the body (the reading of a run's data) while the kernels' compiler loads on a
    second thread (`nnx.kernels.load_compiler`), and wait for it at the end. The thread
    settings (`threads`, as `set_threads` takes them) go into the environment first: numba
    and OpenBLAS read them when they are loaded. The loading holds the GIL almost all the
    time, and a thread that released it (around each numpy or pyarrow call of the reading)
    waits a switch interval to take it back, so the interval is shortened meanwhile. If
    the body fails, the loading stops after its current step.

    In a process's first run the garbage collector pauses meanwhile: numba's import
    creates ~10^5 objects, every one of them kept, and full collections of that growing
    heap held the GIL ~45 ms for nothing; its objects are then frozen (left out of later
    collections). Later runs (a search's trials) leave the collector alone: a freeze would
    keep whatever cycles they left uncollected for good."""
    from nnx.kernels import load_compiler

    thread_environment(threads)
    stop = threading.Event()

    def load():
        try:
            load_compiler(stop)
        except Exception:  # noqa: BLE001, S110 - the first kernel call meets it and reports it
            pass

    loader = threading.Thread(target=load, name="nnx-kernels-loading", daemon=True)
    interval, collecting = sys.getswitchinterval(), gc.isenabled()
    first = "nnx.kernels.jit" not in sys.modules  # numba not loaded yet in this process
    sys.setswitchinterval(LOADING_SWITCH_S)
    if first:
        gc.disable()
    loader.start()
    try:
        yield
    except BaseException:
        stop.set()
        raise
    finally:
        loader.join()
        sys.setswitchinterval(interval)
        if first:
            gc.freeze()
            if collecting:
                gc.enable()


def environment():
    """Versions, platform and thread counts: what a result depends on besides the config."""
    import numba
    import numpy

    return {"nnx": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba.__version__, "platform": platform.platform(),
            "machine": platform.machine(), "host": socket.gethostname(),
            "cpu_count": os.cpu_count(), "threads": numba.get_num_threads(),
            "blas_threads": _blas_threads()}


def _blas_threads():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return max(counts) if counts else None


class StopAfterBatch(Callback):
    """Ends fit after the current batch once a stop signal came (`stop`, a
    `nnx.stop_signals.RunStop`): fit treats the KeyboardInterrupt as 'interrupted' and keeps
    what was learnt (restoring the best weights when early stopping asks for it)."""

    def __init__(self, stop):
        self.stop = stop

    def on_batch_end(self, batch, logs):
        if self.stop.requested:
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch, logs):
        if self.stop.requested:
            raise KeyboardInterrupt

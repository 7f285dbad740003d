"""The kernels' compiler loading on a second thread while a run reads its data: the thread
settings reach numba and OpenBLAS first, no garbage collection runs meanwhile, a failing body
stops it, its own failure is left to the first kernel call."""

import os
import subprocess
import sys
import threading

import pytest

import nnx.kernels
from nnx.data import reads_on_all_cores
from nnx.experiment.runtime import kernels_loading

CHECK = """
import gc, os, sys
from nnx.data import reads_on_all_cores
from nnx.experiment.runtime import kernels_loading
with kernels_loading(1):
    collecting = gc.isenabled()
import numba
print(numba.config.NUMBA_NUM_THREADS, os.environ["OPENBLAS_NUM_THREADS"],
      "numba.np.arraymath" in sys.modules, "scipy.linalg.cython_blas" in sys.modules,
      sys.getswitchinterval(), collecting, gc.isenabled(), gc.get_freeze_count() > 10**4)
"""


def test_the_thread_settings_are_in_place_before_numba_loads_and_its_objects_frozen():
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1", "True", "True", "0.005", "False", "True", "True"]
    assert done.stderr == ""


def test_a_failing_body_stops_the_loading_and_is_raised(monkeypatch):
    seen = []

    def load(stop):
        seen.append(stop.wait(timeout=30))

    monkeypatch.setattr(nnx.kernels, "load_compiler", load)
    interval = sys.getswitchinterval()
    with pytest.raises(ValueError, match="bad data"), kernels_loading(None):
        raise ValueError("bad data")
    assert seen == [True]
    assert sys.getswitchinterval() == interval


def test_a_failed_loading_is_left_to_the_first_kernel_call(monkeypatch):
    hooked = []

    def load(stop):
        raise ImportError("no BLAS")

    monkeypatch.setattr(nnx.kernels, "load_compiler", load)
    monkeypatch.setattr(threading, "excepthook", hooked.append)
    with kernels_loading(None):
        pass
    assert hooked == []


@pytest.mark.parametrize(("data", "busy"), [
    ({"path": "/d/t.csv"}, True), ({"path": "/d/t.CSV.gz"}, True),
    ({"path": "/d/t.parquet"}, False), ({"dataset": "digits"}, False)])
def test_the_compiler_loads_beside_reads_that_leave_a_core(data, busy):
    assert reads_on_all_cores(data) is busy


LATER_RUN = """
import gc, weakref
from nnx.experiment.runtime import kernels_loading
with kernels_loading(1):
    pass
class Node:
    pass
with kernels_loading(1):  # a later run of the same process (a search's trials)
    node = Node()
    node.me = node  # a cycle: only the collector frees it
    gone = weakref.ref(node)
    collecting = gc.isenabled()
    del node
gc.collect()
print(collecting, gone() is None)
"""


def test_a_later_run_in_the_process_leaves_the_collector_alone():
    """Only the first loading pauses the collector and freezes: a freeze in every run of a
    long search would keep each run's uncollected cycles for good."""
    done = subprocess.run([sys.executable, "-c", LATER_RUN], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]

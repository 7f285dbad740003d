"""Batch parts on threads: every item is run exactly once, parts respect the minimum size,
a run_parts inside a part runs whole on its thread, an error in a part reaches the caller,
the helper threads end when stopped (at exit) and new ones take over, helpers of a run
that marks its start wait for the caller's kernel,
and attention (and a whole transformer block) split over parts gives the numbers of one
pass."""

import subprocess
import sys
import threading

import numba
import numpy as np
import pytest

from nnx import layers
from nnx.kernels import threads
from nnx.layers import conv as conv_module


@pytest.fixture
def three_threads(monkeypatch):
    monkeypatch.setattr(threads.numba, "get_num_threads", lambda: 3)


def test_parts_cover_the_range_once(three_threads):
    seen, lock = [], threading.Lock()

    def record(start, stop):
        with lock:
            seen.append((start, stop, threading.current_thread() is threading.main_thread()))

    threads.run_parts(record, 10)
    assert sorted(s[:2] for s in seen) == [(0, 3), (3, 6), (6, 10)]
    assert [s[2] for s in seen if s[0] == 0] == [True]  # the caller runs the first part
    seen.clear()
    threads.run_parts(record, 10, min_part=4)
    assert sorted(s[:2] for s in seen) == [(0, 5), (5, 10)]
    seen.clear()
    threads.run_parts(record, 3, min_part=4)
    assert seen == [(0, 3, True)]


def test_run_parts_inside_a_part_runs_whole_on_its_thread(three_threads):
    seen, lock = [], threading.Lock()

    def outer(i, start, stop):
        def inner(first, last):
            with lock:
                seen.append((i, first, last, threading.get_ident()))

        threads.run_parts(inner, stop - start)
        with lock:
            seen.append((i, "outer", threading.get_ident()))

    threads.run_over(outer, threads.part_bounds(9, 3))
    assert threads.part_bounds(9, 3) == [0, 3, 6, 9]
    assert len(seen) == 6
    for i in range(3):
        (_, first, last, inner_thread), = [s for s in seen if s[0] == i and s[1] != "outer"]
        assert (first, last) == (0, 3)
        assert inner_thread == [s[2] for s in seen if s[:2] == (i, "outer")][0]
    threads.run_parts(lambda first, last: seen.append((first, last)), 9)  # flag cleared
    assert sorted(s for s in seen if len(s) == 2) == [(0, 3), (3, 6), (6, 9)]


def test_an_error_in_a_part_reaches_the_caller(three_threads):
    def fail_late(start, stop):
        if start > 0:
            raise ValueError(f"part {start}")

    with pytest.raises(ValueError, match="part"):
        threads.run_parts(fail_late, 9)


def test_helpers_end_when_stopped_and_new_ones_start_after(three_threads):
    threads.run_parts(lambda start, stop: None, 6)
    helpers = threads._helpers[-1]
    assert len(helpers) == 2 and all(thread.is_alive() for thread in helpers)
    threads._stop_helpers()  # as at exit: no helper runs compiled code while numba unloads
    assert not any(thread.is_alive() for thread in helpers)
    seen, lock = [], threading.Lock()

    def record(start, stop):
        with lock:
            seen.append(start)

    threads.run_parts(record, 6)
    assert sorted(seen) == [0, 2, 4]


def run_python(script):
    """`script` run by a fresh interpreter (no helper threads yet); it must exit 0."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_a_process_ends_cleanly_right_after_its_parts():
    script = ("import numba\n"
              "from nnx.kernels import threads\n"
              "numba.get_num_threads = lambda: 3\n"
              "threads.run_parts(lambda start, stop: None, 6)\n")
    run_python(script)


def test_attention_in_parts_gives_the_numbers_of_one_pass(monkeypatch):
    layer = layers.MultiHeadAttention(2, causal=True)
    layer.dtype = np.dtype("float64")
    layer.build((5, 8), np.random.default_rng(0))
    layer.mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1] * 5])
    x = np.random.default_rng(1).standard_normal((4, 5, 8))
    dy = np.random.default_rng(2).standard_normal((4, 5, 8))
    results = []
    for count in (1, 3):
        monkeypatch.setattr(threads.numba, "get_num_threads", lambda count=count: count)
        monkeypatch.setattr(layer, "_min_part", lambda steps: 1)
        y = layer.forward(x, training=True)
        results.append((y, layer.backward(dy), {k: g.copy() for k, g in layer.grads.items()}))
    (y1, dx1, g1), (y3, dx3, g3) = results
    np.testing.assert_array_equal(y3, y1)
    np.testing.assert_array_equal(dx3, dx1)
    for key in g1:
        np.testing.assert_array_equal(g3[key], g1[key])


@pytest.mark.parametrize("norm_first", [False, True])
def test_a_transformer_block_in_parts_gives_the_numbers_of_one_pass(monkeypatch, norm_first):
    from nnx.layers import transformer as transformer_module

    layer = layers.TransformerEncoderBlock(2, 6, norm_first=norm_first, causal=True)
    layer.dtype = np.dtype("float64")
    layer.build((5, 8), np.random.default_rng(0))
    layer.mask = np.array([[1, 1, 1, 0, 0], [1] * 5, [1, 1, 0, 0, 0], [1] * 5, [1] * 5])
    x = np.random.default_rng(1).standard_normal((5, 5, 8))
    dy = np.random.default_rng(2).standard_normal((5, 5, 8))
    monkeypatch.setattr(transformer_module, "PART_WORK", 1)
    results = []
    for count in (1, 3, 1):  # whole again after the parts: the block's own caches are fresh
        monkeypatch.setattr(threads.numba, "get_num_threads", lambda count=count: count)
        y = layer.forward(x, training=True)
        assert (layer._bounds is None) == (count == 1)
        results.append({"y": y, "dx": layer.backward(dy), "inference": layer.forward(x),
                        **{k: g.copy() for k, g in layer.grads.items()}})
    assert len(layer._twins) == 2
    one, parts, again = results
    for key in one:
        # BLAS may sum a product in another order for fewer rows, and the parts' shares of a
        # gradient are summed: equal up to rounding
        np.testing.assert_allclose(parts[key], one[key], rtol=1e-12, atol=1e-13)
        np.testing.assert_array_equal(again[key], one[key])


def test_a_transformer_block_with_dropout_trains_whole(monkeypatch):
    from nnx.layers import transformer as transformer_module

    layer = layers.TransformerEncoderBlock(2, 6, dropout=0.2)
    layer.build((5, 8), np.random.default_rng(0))
    monkeypatch.setattr(transformer_module, "PART_WORK", 1)
    x = np.random.default_rng(1).standard_normal((4, 5, 8)).astype(np.float32)
    layer.forward(x, training=True)
    assert layer._bounds is None and not layer._twins  # one mask stream for the batch
    layer.forward(x)
    assert len(layer._twins) == numba.get_num_threads() - 1


def test_winograd_convolution_in_parts_gives_the_numbers_of_one_pass(monkeypatch):
    layer = layers.Conv2D(32, 3, padding=1, activation="relu")
    layer.dtype = np.dtype("float64")
    layer.build((32, 6, 6), np.random.default_rng(0))
    assert layer._winograd
    monkeypatch.setattr(conv_module, "WINOGRAD_TILES", 9)  # one 6x6 sample (3x3 tiles) a chunk
    x = np.random.default_rng(1).standard_normal((5, 32, 6, 6))
    dy = np.random.default_rng(2).standard_normal((5, 32, 6, 6))
    results = []
    for count in (1, 3):
        monkeypatch.setattr(threads.numba, "get_num_threads", lambda count=count: count)
        y = layer.forward(x, training=True)
        results.append((y, layer.backward(dy), {k: g.copy() for k, g in layer.grads.items()},
                        layer.forward(x)))
    (y1, dx1, g1, p1), (y3, dx3, g3, p3) = results
    np.testing.assert_array_equal(y3, y1)
    np.testing.assert_array_equal(p3, p1)
    np.testing.assert_array_equal(dx3, dx1)
    for key in g1:  # parts' shares are summed: equal up to rounding
        np.testing.assert_allclose(g3[key], g1[key], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("make", [lambda: layers.LSTM(4, return_sequences=True),
                                  lambda: layers.GRU(4), lambda: layers.SimpleRNN(4)])
def test_recurrent_layers_in_parts_give_the_numbers_of_one_pass(monkeypatch, make):
    from nnx.layers import recurrent as recurrent_module

    layer = make()
    layer.dtype = np.dtype("float64")
    layer.build((6, 3), np.random.default_rng(0))
    layer.mask = np.array([[1] * 6, [1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0], [1] * 6, [1] * 6])
    x = np.random.default_rng(1).standard_normal((5, 6, 3))
    monkeypatch.setattr(recurrent_module, "MIN_PART", 1)
    results = []
    for count in (1, 3):
        monkeypatch.setattr(threads.numba, "get_num_threads", lambda count=count: count)
        y = layer.forward(x, training=True)
        dx = layer.backward(np.random.default_rng(2).standard_normal(y.shape))
        results.append((y, dx, {k: g.copy() for k, g in layer.grads.items()}))
    (y1, dx1, g1), (y3, dx3, g3) = results
    # BLAS may sum a step's product in another order for fewer rows: equal up to rounding
    np.testing.assert_allclose(y3, y1, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dx3, dx1, rtol=1e-13, atol=1e-14)
    for key in g1:
        np.testing.assert_allclose(g3[key], g1[key], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("make", [lambda: layers.MaxPool2D(2), lambda: layers.AvgPool2D(3, 2)])
def test_pooling_in_parts_gives_the_numbers_of_one_pass(monkeypatch, make):
    from nnx.layers import pooling as pooling_module

    layer = make()
    layer.build((2, 7, 7))
    x = np.random.default_rng(1).standard_normal((5, 2, 7, 7)).astype(np.float32)
    monkeypatch.setattr(pooling_module, "PART_VALUES", 1)
    results = []
    for count in (1, 3):
        monkeypatch.setattr(threads.numba, "get_num_threads", lambda count=count: count)
        y = layer.forward(x, training=True)
        results.append((y, layer.backward(np.ones_like(y))))
    for one, parts in zip(results[0], results[1], strict=True):
        np.testing.assert_array_equal(parts, one)


def test_blas_is_held_to_one_thread_while_parts_run_and_restored_after(three_threads):
    from threadpoolctl import threadpool_limits

    libraries = threads._blas_libraries()
    assert libraries  # numpy's and SciPy's OpenBLAS
    seen = []
    with threadpool_limits(2, user_api="blas"):
        threads.run_parts(lambda start, stop: seen.append(
            [lib.num_threads for lib in libraries]), 6)
        assert [lib.num_threads for lib in libraries] == [2] * len(libraries)
    assert seen == [[1] * len(libraries)] * 3


def test_parts_started_says_whether_this_process_ran_parts_on_helpers():
    script = ("import numba\n"
              "from nnx.kernels import threads\n"
              "numba.get_num_threads = lambda: 3\n"
              "before = threads.parts_started()\n"
              "threads.run_parts(lambda start, stop: None, 2, min_part=2)\n"
              "whole = threads.parts_started()\n"
              "threads.run_parts(lambda start, stop: None, 6)\n"
              "print(before, whole, threads.parts_started())\n")
    done = run_python(script)
    assert done.stdout.split() == ["False", "False", "True"]  # a part run whole starts none


@pytest.mark.parametrize("started, held", [(False, False), (True, True)])
def test_dense_holds_mid_size_products_to_one_blas_thread_once_parts_ran(monkeypatch, started,
                                                                        held):
    from threadpoolctl import threadpool_limits

    from nnx.layers import dense as dense_module

    handle = dense_module.threads  # a lazy handle: loaded, then patched in its own copy
    assert handle.parts_started is threads.parts_started
    monkeypatch.setattr(handle, "parts_started", lambda: started)
    libraries = threads._blas_libraries()
    dense = layers.Dense(10)
    dense.build((256,))
    seen = []
    with threadpool_limits(2, user_api="blas"):
        for rows in (1024, 8):  # 2.6e6 multiply-adds: held once parts ran; 2e4: never
            with dense._blas_threads(np.zeros((rows, 256), np.float32)):
                seen.append([lib.num_threads for lib in libraries])
    assert seen == [[1 if held else 2] * len(libraries), [2] * len(libraries)]


@pytest.mark.parametrize("marks_start, helper_first", [(False, "True"), (True, "False")])
def test_helpers_of_a_marking_run_start_after_the_callers_kernel(marks_start, helper_first):
    """The caller sleeps 0.2 s before its kernel marks the start: a helper that need not
    wait runs meanwhile; one that waits (its spins made endless here) starts after. A first
    run loads the helpers' kernels, which takes longer than the sleep."""
    script = ("import time\n"
              "import numba\n"
              "from nnx.kernels import threads\n"
              "numba.get_num_threads = lambda: 2\n"
              "threads.SPINS = 10 ** 12\n"
              "threads.mark_start(threads.start_mark())\n"
              "threads.run_over(lambda i, start, stop: None, [0, 1, 2])  # kernels loaded\n"
              "seen = {}\n"
              "def part(i, start, stop):\n"
              "    if i == 0:\n"
              "        time.sleep(0.2)\n"
              "        seen['marked'] = time.perf_counter()\n"
              "        threads.mark_start(threads.start_mark())\n"
              "    else:\n"
              "        seen['helper'] = time.perf_counter()\n"
              f"threads.run_over(part, [0, 1, 2], marks_start={marks_start})\n"
              "print(seen['helper'] < seen['marked'])\n")
    assert run_python(script).stdout.split() == [helper_first]


def test_a_marking_run_whose_caller_never_marks_still_ends(three_threads):
    """A helper waits for the caller's start mark only so long (SPINS), then runs."""
    seen, lock = [], threading.Lock()

    def record(start, stop):
        with lock:
            seen.append((start, stop))

    threads.run_parts(record, 9, marks_start=True)
    threads.run_parts(record, 9, marks_start=True)
    assert sorted(seen) == [(0, 3), (0, 3), (3, 6), (3, 6), (6, 9), (6, 9)]
    np.testing.assert_array_equal(threads.start_mark(), [0, 0])  # outside a run: no ticket


def test_summed_shares_adds_every_parts_share(three_threads):
    """Each part fills its own share of a weight and a bias gradient; the sums come back."""
    def fill(first, stop, share):
        share[0][...] = np.arange(first, stop).sum()
        share[1][...] = stop - first

    total_w, total_b = threads.summed_shares(fill, 10, 1, np.empty((2, 3)), np.empty(4))
    np.testing.assert_array_equal(total_w, np.full((2, 3), 45.0))
    np.testing.assert_array_equal(total_b, np.full(4, 10.0))

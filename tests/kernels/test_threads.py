"""Batch parts on threads: every item is run exactly once, parts respect the minimum size,
an error in a part reaches the caller, and attention split over parts gives the numbers of
one pass."""

import threading

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


def test_an_error_in_a_part_reaches_the_caller(three_threads):
    def fail_late(start, stop):
        if start > 0:
            raise ValueError(f"part {start}")

    with pytest.raises(ValueError, match="part"):
        threads.run_parts(fail_late, 9)


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

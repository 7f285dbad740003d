"""Recurrent kernels: the one-exp gate functions against numpy, dtypes kept, the last-state
gradient form (1, N, H) equal to a full sequence gradient that is zero before the end, and
a second process loading the kernels from numba's disk cache."""

import subprocess
import sys

import numba
import numpy as np
import pytest
from numba import njit
from scipy.special import expit

from nnx.kernels import gated as G
from nnx.kernels import recurrent as K
from nnx.kernels.threads import start_mark

NO_MASK = np.zeros((0, 0), np.uint8)


@njit
def gates_of(z, tanh, sig):
    for i in range(z.shape[0]):
        tanh[i] = K.tanh(z[i])
        sig[i] = K.sigmoid(z[i])


@njit
def tanh_of(v):
    return K.tanh(v)


@njit
def sigmoid_of(v):
    return K.sigmoid(v)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gate_functions_match_numpy(dtype):
    """tanh: float64 exact to a few ulps, float32 (the rational form) within 1e-6 relative.
    The logistic, 0.5 + 0.5 tanh(x / 2), is accurate in absolute terms (a gate multiplies
    values of order 1): within 2 ulps of 1 in float64, 2e-7 in float32."""
    z = np.concatenate([np.linspace(-30, 30, 20001), np.geomspace(1e-12, 0.5, 500),
                        -np.geomspace(1e-12, 0.5, 500), [0.0, 0.02, -0.02, 800.0, -800.0]])
    z = z.astype(dtype)
    tanh, sig = np.empty_like(z), np.empty_like(z)
    gates_of(z, tanh, sig)
    ref_t, ref_s = np.tanh(z.astype(np.float64)), expit(z.astype(np.float64))
    rel_t = np.abs(tanh - ref_t) / np.maximum(np.abs(ref_t), 1e-300)
    tol_t, tol_s = (4e-15, 4.5e-16) if dtype == np.float64 else (1e-6, 2e-7)
    assert rel_t.max() < tol_t and np.abs(sig - ref_s).max() < tol_s
    assert tanh[-2] == 1 and tanh[-1] == -1 and sig[-2] == 1 and sig[-1] == 0
    scalar = numba.from_dtype(z.dtype)
    for fn in (tanh_of, sigmoid_of):  # computed in the input's precision, not promoted
        fn(z[0])
        assert {s.return_type for s in fn.nopython_signatures if s.args == (scalar,)} == {scalar}


def lstm_arrays(dtype, T=4, N=3, F=2, H=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, N, F)).astype(dtype)
    W_ih = rng.standard_normal((4 * H, F)).astype(dtype)
    W_hh = rng.standard_normal((4 * H, H)).astype(dtype) * dtype(0.3)
    b_ih, b_hh = rng.standard_normal((2, 4 * H)).astype(dtype)
    return x, W_ih, W_hh, b_ih, b_hh


def lstm_forward(x, params, parts=((0, None),)):
    """(hs, saved) of the LSTM kernels, the time loops run over the given sample ranges."""
    T, N, _ = x.shape
    H = params[1].shape[1]
    hs, cs = np.empty((T + 1, N, H), x.dtype), np.empty((T + 1, N, H), x.dtype)
    tanh_c, gates = np.empty((T, N, H), x.dtype), np.empty((T, N, 4 * H), x.dtype)
    for first, stop in parts:
        G.lstm_steps(params, NO_MASK, x, hs, cs, tanh_c, gates, first, stop or N, start_mark())
    return hs, (hs, cs, tanh_c, gates)


def lstm_grads(dhs, dtype=np.float64, parts=((0, None),)):
    x, W_ih, W_hh, b_ih, b_hh = lstm_arrays(dtype)
    params = (W_ih, W_hh, b_ih, b_hh)
    hs, saved = lstm_forward(x, params, parts)
    dx = np.empty_like(x)
    totals = [np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros_like(b_ih)]
    for first, stop in parts:
        shares = (np.empty_like(W_ih), np.empty_like(W_hh), np.empty_like(b_ih),
                  np.empty(0, dtype))
        G.lstm_steps_backward(params, NO_MASK, x, saved, dhs.astype(dtype), shares, dx, first,
                              stop or x.shape[1], start_mark())
        for total, share in zip(totals, shares, strict=False):
            total += share
    return hs, [*totals, dx]


def test_sample_ranges_give_the_numbers_of_one_pass():
    """The time loops run on parts of the batch (threads): the same states and gradients."""
    dhs = np.random.default_rng(1).standard_normal((4, 3, 5))
    hs, grads = lstm_grads(dhs)
    hs2, grads2 = lstm_grads(dhs, parts=((0, 1), (1, 3)))
    np.testing.assert_array_equal(hs2, hs)
    for a, b in zip(grads2, grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


def test_last_state_gradient_equals_a_sequence_gradient_zero_before_the_end():
    dlast = np.random.default_rng(1).standard_normal((1, 3, 5))
    dseq = np.zeros((4, 3, 5))
    dseq[-1] = dlast[0]
    _, from_last = lstm_grads(dlast)
    _, from_seq = lstm_grads(dseq)
    for a, b in zip(from_last, from_seq, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


def test_float32_stays_float32():
    hs, grads = lstm_grads(np.ones((1, 3, 5)), np.float32)
    assert hs.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    hs64, grads64 = lstm_grads(np.ones((1, 3, 5)))
    np.testing.assert_allclose(hs, hs64, rtol=1e-5, atol=1e-6)
    for g, g64 in zip(grads, grads64, strict=True):
        np.testing.assert_allclose(g, g64, rtol=1e-4, atol=1e-5)


def test_a_second_process_loads_the_kernels_from_the_disk_cache():
    script = (
        "import numpy as np\n"
        "from nnx import layers\n"
        "from nnx.kernels import gated as G\n"
        "from nnx.kernels import recurrent as K\n"
        "for cls in (layers.SimpleRNN, layers.LSTM, layers.GRU):\n"
        "    for dt in ('float32', 'float64'):\n"
        "        l = cls(3, return_sequences=True); l.dtype = np.dtype(dt); l.build((4, 2))\n"
        "        l.backward(l.forward(np.ones((2, 4, 2), dt), training=True))\n"
        "fns = [K.rnn_steps, K.rnn_steps_backward, G.lstm_steps, G.lstm_steps_backward,\n"
        "       G.gru_steps, G.gru_steps_backward, K.input_projection, K.step_back]\n"
        "print(sum(len(f.stats.cache_misses) for f in fns))\n")
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True) for _ in range(2)]
    assert runs[1].stdout.strip() == "0", runs[1].stdout + runs[1].stderr


@pytest.mark.parametrize("n, k, m", [(64, 64, 256), (64, 256, 64), (7, 3, 5), (100, 128, 128)])
def test_step_gemm_in_row_blocks_is_a_plain_product(n, k, m):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, k)), rng.standard_normal((k, m))
    out = np.empty((n, m))
    K.step_gemm(a, b, out)
    np.testing.assert_allclose(out, a @ b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("features", [1, 3, 4, 5, 16])
def test_input_projection_loop_and_gemm_agree_with_numpy(features):
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal((6, 5, features)), rng.standard_normal((12, features))
    out = np.full((6, 5, 12), np.nan)
    K.input_projection(x[2, 1:4], np.ascontiguousarray(W.T), out[2, 1:4])  # samples 1..3
    np.testing.assert_allclose(out[2, 1:4], x[2, 1:4] @ W.T, rtol=1e-12, atol=1e-12)
    out[2, 1:4] = np.nan
    assert np.isnan(out).all()


@pytest.mark.parametrize("n, m, p", [(64, 256, 64), (64, 192, 64), (7, 3, 5), (130, 256, 1)])
def test_add_products_in_row_blocks_adds_a_transposed_product(n, m, p):
    rng = np.random.default_rng(0)
    a, b, out = rng.standard_normal((n, m)), rng.standard_normal((n, p)), np.ones((m, p))
    K.add_products(a, b, out)
    np.testing.assert_allclose(out, 1 + a.T @ b, rtol=1e-12, atol=1e-12)


def test_benchmark_sized_lstm_matches_a_numpy_reference():
    """N = H = 64 takes the split GEMMs and the vectorized gate loops at full width."""
    T, N, F, H = 6, 64, 1, 64
    rng = np.random.default_rng(3)
    x = rng.standard_normal((T, N, F))
    W_ih, W_hh = rng.standard_normal((4 * H, F)), rng.standard_normal((4 * H, H)) * 0.2
    b_ih, b_hh = rng.standard_normal((2, 4 * H))
    hs, _ = lstm_forward(x, (W_ih, W_hh, b_ih, b_hh))
    h, c = np.zeros((N, H)), np.zeros((N, H))
    for t in range(T):
        i, f, g, o = np.split(x[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh, 4, axis=1)
        c = expit(f) * c + expit(i) * np.tanh(g)
        h = expit(o) * np.tanh(c)
    np.testing.assert_allclose(hs[-1], h, rtol=1e-12, atol=1e-13)

"""Recurrent kernels: whole-sequence forward and backward through time for SimpleRNN, and
the step helpers the gated cells of nnx.kernels.gated (LSTM, GRU) share.

Inside the kernels sequences are time-major, x (T, N, F), so that one step is a contiguous
(N, F) slab. Weights follow PyTorch: W_ih (G*H, F), W_hh (G*H, H), b_ih, b_hh (G*H,) with
gate blocks [i f g o] (LSTM) and [r z n] (GRU). The input projection of every step is one
GEMM before the time loop, the hidden projection one GEMM per step (`step_gemm`), and the
weight gradients one GEMM each after the loop, over all steps at once; the bias gradients
are summed row by row inside the loop. Forward keeps the activated gates of every step for
backward, which overwrites nothing. The caller owns every large array (outputs, caches and
scratch) so that it can reuse them: a fresh multi-MB array costs page faults on every call
(glibc hands freed blocks of that size back to the OS), 0.8 ms for two of 2 MB.

Samples are independent through time, so the time loops (`*_steps`, `*_steps_backward`)
run over a range of samples, first..stop-1, the rows [first:stop] of every step's slab: the
layer runs parts of the batch on several threads (nnx.kernels.threads), each with its own
per-step products (small enough for OpenBLAS to keep on the calling thread). The input
projection before the loops and the weight gradients after them are whole-batch GEMMs
(`input_projection`, `weight_gradients`) on BLAS's threads.

`params` is the tuple (W_ih, W_hh, b_ih, b_hh). `hs` (T+1, N, H) holds the states with
hs[0] = 0 (zero initial state). `mask` (T, N) is uint8 (1 = real step, 0 = padding: the
state is carried over unchanged, like Keras) or empty (0, 0) for no mask. The output
gradient `dhs` is (T, N, H) for a whole sequence or (1, N, H) for the last state only. The
backward loops write a range's share of the bias gradients into `db` (G,); the caller sums
the shares. An empty `dx` (0, 0, 0) skips the input gradient.
"""

import numpy as np

from nnx.kernels.codes import RELU
from nnx.kernels.jit import by_dtype, kernel

# Gate nonlinearities. They dominate a step: numba's np.tanh is a libm call (~13 ns) and
# np.exp (~2 ns) does not vectorize without SVML. In float32, tanh is a rational function
# (Eigen's fast tanh, accurate to a few ulps): plain arithmetic that LLVM vectorizes, ~10x
# faster. In float64 (gradient checks, references) it stays exact to a few ulps through exp.
# `by_dtype` picks the version by type at compile time. The logistic is
# sigmoid(x) = 0.5 + 0.5 tanh(x / 2), so that every gate is s * tanh(s * x) + o.

@kernel
def tanh_rational(v):
    """float32 tanh as x p(x^2) / q(x^2) on x clamped to +-7.9 (where tanh rounds to +-1)."""
    c = np.float32(7.90531110763549805)
    x = min(max(v, -c), c)
    x2 = x * x
    p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
    p = x2 * p + np.float32(-8.60467152213735e-11)
    p = x2 * p + np.float32(5.12229709037114e-08)
    p = x2 * p + np.float32(1.48572235717979e-05)
    p = x2 * p + np.float32(6.37261928875436e-04)
    p = x2 * p + np.float32(4.89352455891786e-03)
    q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
    q = x2 * q + np.float32(2.26843463243900e-03)
    q = x2 * q + np.float32(4.89352518554385e-03)
    return x * p / q


@kernel
def tanh_exact(v):
    """tanh from one exp; a Taylor polynomial near 0 avoids the cancellation in 1 - e."""
    a = abs(v)
    if a < type(v)(0.02):
        s = v * v
        return v * (type(v)(1.0) - s * (type(v)(1.0 / 3.0) - s * (type(v)(2.0 / 15.0)
                    - s * (type(v)(17.0 / 315.0) - s * type(v)(62.0 / 2835.0)))))
    e = np.exp(type(v)(-2.0) * a)
    r = (type(v)(1.0) - e) / (type(v)(1.0) + e)
    return r if v >= 0 else -r


def tanh(v):
    """tanh of one scalar in its own dtype: tanh_rational on float32, else tanh_exact."""


by_dtype(tanh, tanh_rational, tanh_exact)


@kernel
def sigmoid(v):
    """The logistic of one scalar as 0.5 + 0.5 tanh(v / 2), in its own dtype."""
    half = type(v)(0.5)
    return half + half * tanh(half * v)


@kernel
def gate_scales(gates, tanh_gate, H, like):
    """(G,) = (gates * H,): s = 0.5 on sigmoid gates and 1 on gate `tanh_gate`, so that
    s * tanh(s * x) + (1 - s) is each gate's activation of x."""
    s = np.full(gates * H, 0.5, like.dtype)
    s[tanh_gate * H:(tanh_gate + 1) * H] = 1
    return s


@kernel
def step_gemm(a, b, out):
    """out (n, m) = a (n, k) @ b (k, m), all C-contiguous, in equal row blocks of at most 1e6
    multiply-adds each. OpenBLAS multiplies products up to that size with its unpacked
    small-matrix kernel (kernel/x86_64/sgemm_small_kernel_permit_skylakex.c); a recurrent
    step (64 x 64 x 256 for the LSTM benchmark) is just above it: 1.3-1.5x faster in two."""
    n, k = a.shape
    m = b.shape[1]
    blocks = (n * k * m + 999_999) // 1_000_000
    if blocks <= 1:
        np.dot(a, b, out)
        return
    rows = (n + blocks - 1) // blocks
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        np.dot(a[start:stop], b, out[start:stop])


@kernel
def input_projection(x, W_ih, out):
    """out (T, N, G) = x (T, N, F) @ W_ih.T (W_ih (G, F)), all steps at once: one GEMM, or
    for a few features a loop (a rank-1 update took BLAS 1.6x longer)."""
    T, N, F = x.shape
    G = W_ih.shape[0]
    if F > 4:
        np.dot(x.reshape(T * N, F), W_ih.T, out.reshape(T * N, G))
        return
    W_t = np.ascontiguousarray(W_ih.T)
    x2, out2 = x.reshape(T * N, F), out.reshape(T * N, G)
    for k in range(T * N):
        row = out2[k]
        w = W_t[0]
        v = x2[k, 0]
        for j in range(G):
            row[j] = v * w[j]
        for f in range(1, F):
            w = W_t[f]
            v = x2[k, f]
            for j in range(G):
                row[j] += v * w[j]


@kernel
def carry_masked(mask, t, prev, new):
    """new[n] = prev[n] for the samples n whose step t is padding; both (N, H)."""
    if mask.shape[0] == 0:
        return
    for n in range(new.shape[0]):
        if mask[t, n] == 0:
            new[n, :] = prev[n, :]


@kernel
def weight_gradients(x, hs, dG, dHH, W_ih, dW_ih, dW_hh, dx):
    """dW_ih, dW_hh and dx from the pre-activation gradients of all steps, one GEMM each:
    dG (T, N, G) on the input side, dHH on the hidden side (the same array except for GRU).
    The bias gradients are summed in the step loops, where the rows are still in cache."""
    T, N, F = x.shape
    G, H = dW_hh.shape
    dG2 = dG.reshape(T * N, G)
    np.dot(dG2.T, x.reshape(T * N, F), dW_ih)
    np.dot(dHH.reshape(T * N, G).T, hs[:T].reshape(T * N, H), dW_hh)
    if dx.shape[0] > 0:
        np.dot(dG2, W_ih, dx.reshape(T * N, F))


# A step's element-wise work is a cell kernel of its own, called once per step: it runs row
# by row (one sample) in loops over 1-D views, one view per gate. Both matter for LLVM's
# vectorizer: loops over many 2-D arrays were not vectorized (3x slower), and neither were
# loops over an array allocated in the same function (2x slower; passed in, they are).

@kernel
def sequence_gradient(dhs, t, first, stop, dh):
    """dh (stop - first, H) += the output gradient of step t of those samples, when dhs
    holds one per step."""
    if dhs.shape[0] > 1:
        dh += dhs[t, first:stop]


@kernel
def add_rows(acc, d):
    """acc (G,) += the sum of the rows of d (N, G)."""
    for n in range(d.shape[0]):
        row = d[n]
        for j in range(acc.shape[0]):
            acc[j] += row[j]


@kernel
def zero_masked(mask, t, d):
    """d[n] = 0 for the samples n whose step t is padding (no gradient flows into that step)."""
    if mask.shape[0] == 0:
        return
    for n in range(d.shape[0]):
        if mask[t, n] == 0:
            d[n, :] = 0


@kernel
def backward_state(dhs, first, stop):
    """dh (stop - first, H) at the last step: the last state's gradient, or zeros for a
    sequence (whose step gradients are added as the loop reaches them)."""
    dh = np.zeros((stop - first, dhs.shape[2]), dhs.dtype)
    if dhs.shape[0] == 1:
        dh[:, :] = dhs[0, first:stop]
    return dh


# -- SimpleRNN: h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or relu ----------------------

@kernel
def rnn_cell(h, hh, b, code):
    """h (N, H): the input projection in, the new state out; hh = h_prev @ W_hh.T."""
    zero = h.dtype.type(0.0)
    for n in range(h.shape[0]):
        row, hrow = h[n], hh[n]
        if code == RELU:
            for j in range(row.shape[0]):
                row[j] = max(row[j] + hrow[j] + b[j], zero)
        else:
            for j in range(row.shape[0]):
                row[j] = tanh(row[j] + hrow[j] + b[j])


@kernel
def rnn_cell_backward(h, dh, code, d):
    """d (N, H) = dL/d pre-activation from dh = dL/dh and the new state h."""
    zero, one = h.dtype.type(0.0), h.dtype.type(1.0)
    for n in range(h.shape[0]):
        hrow, dhrow, drow = h[n], dh[n], d[n]
        if code == RELU:
            for j in range(hrow.shape[0]):
                drow[j] = dhrow[j] if hrow[j] > zero else zero
        else:
            for j in range(hrow.shape[0]):
                drow[j] = dhrow[j] * (one - hrow[j] * hrow[j])


@kernel
def rnn_steps(params, code, mask, hs, first, stop):
    """hs (T+1, N, H), rows first..stop-1: the states, from the input projections that
    hs[1:] holds on entry (input_projection); `code` is activations.TANH or RELU."""
    _, W_hh, b_ih, b_hh = params
    hs[0, first:stop] = 0
    b = b_ih + b_hh
    part = mask[:, first:stop]
    hh = np.empty((stop - first, W_hh.shape[0]), hs.dtype)
    W_hh_t = np.ascontiguousarray(W_hh.T)
    for t in range(hs.shape[0] - 1):
        step_gemm(hs[t, first:stop], W_hh_t, hh)
        rnn_cell(hs[t + 1, first:stop], hh, b, code)
        carry_masked(part, t, hs[t, first:stop], hs[t + 1, first:stop])


@kernel
def rnn_steps_backward(params, code, mask, hs, dhs, dG, db, first, stop):
    """Backward through time of rnn_steps for samples first..stop-1: their rows of
    dG (T, N, H), the gradients of the pre-activations, and their share of db (H,)."""
    W_hh = params[1]
    dh = backward_state(dhs, first, stop)
    keep = np.empty_like(dh)
    part = mask[:, first:stop]
    db[:] = 0
    for t in range(dG.shape[0] - 1, -1, -1):
        d = dG[t, first:stop]
        sequence_gradient(dhs, t, first, stop, dh)
        rnn_cell_backward(hs[t + 1, first:stop], dh, code, d)
        zero_masked(part, t, d)
        add_rows(db, d)
        keep[:, :] = dh
        step_gemm(d, W_hh, dh)
        carry_masked(part, t, keep, dh)

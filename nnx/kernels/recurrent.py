"""Recurrent kernels: whole-sequence forward and backward through time for SimpleRNN, and
the step helpers the gated cells of nnx.kernels.gated (LSTM, GRU) share.

Inside the kernels sequences are time-major, x (T, N, F), so that one step is a contiguous
(N, F) slab. Weights follow PyTorch: W_ih (G*H, F), W_hh (G*H, H), b_ih, b_hh (G*H,) with
gate blocks [i f g o] (LSTM) and [r z n] (GRU). Every product is one step's: the input
projection (`input_projection`) and the hidden one (`hidden_projection`) in the forward
loop; in the backward loop (`step_back`) the gradient reaching the previous state and the
step's share of the weight and bias gradients, added up while its rows are in cache. Forward
keeps the activated gates of every step for backward, which overwrites nothing. The caller
owns the large arrays (outputs and caches) so that it can reuse them: a fresh multi-MB
array costs page faults on every call (glibc hands freed blocks of that size back to the
OS), 0.8 ms for two of 2 MB.

Samples are independent through time, so the time loops (`*_steps`, `*_steps_backward`)
run over a range of samples, first..stop-1, the rows [first:stop] of every step's slab: the
layer runs parts of the batch on several threads (nnx.kernels.threads). Their last argument,
`mark`, is the threads' start mark, set first thing (`mark_start`): the other parts wait
for it. Every BLAS call is one step of one part, cut into blocks that OpenBLAS multiplies
on the calling thread (`step_gemm`, `add_products`): a product large enough for OpenBLAS's
own threads wakes them, and they then spin for ~0.1 s, taking a core from the parts (a
whole-batch weight gradient after the loop did so on every training step: 3.7 ms a step
for the benchmark LSTM on 2 cores, 2.4 ms with OPENBLAS_THREAD_TIMEOUT=4, which lets them
sleep at once).

`params` is the tuple (W_ih, W_hh, b_ih, b_hh). `hs` (T+1, N, H) holds the states with
hs[0] = 0 (zero initial state). `mask` (T, N) is uint8 (1 = real step, 0 = padding: the
state is carried over unchanged, like Keras) or empty (0, 0) for no mask. The output
gradient `dhs` is (T, N, H) for a whole sequence or (1, N, H) for the last state only. The
backward loops write a range's share of the gradients into `grads` = (dW_ih, dW_hh, db_ih,
db_hh), zeroed first; the caller sums the shares. db_hh is empty where the hidden bias's
gradient is the input bias's (SimpleRNN, LSTM). An empty `dx` (0, 0, 0) skips the input
gradient.
"""

import math

import numpy as np

from nnx.kernels.blas import gemm
from nnx.kernels.codes import RELU
from nnx.kernels.jit import by_dtype, contracting_kernel, kernel
from nnx.kernels.threads import mark_start

# Gate nonlinearities. They dominate a step: numba's np.tanh is a libm call (~13 ns) and
# np.exp (~2 ns) does not vectorize without SVML. In float32, tanh is a rational function
# (Eigen's fast tanh, accurate to a few ulps): plain arithmetic that LLVM vectorizes, ~10x
# faster. In float64 (gradient checks, references) it stays exact to a few ulps through exp.
# `by_dtype` picks the version by type at compile time. The logistic is
# sigmoid(x) = 0.5 + 0.5 tanh(x / 2), so that every gate is s * tanh(s * x) + o.

@contracting_kernel
def tanh_rational(v):
    """float32 tanh as x p(x^2) / q(x^2) on x clamped to +-7.9, +-1 from there on (tanh is
    within 3e-7 of it; the rational's fused multiply-adds round to 1 - 2^-22 at the clamp).
    Computed on |v| and given v's sign back (the rational is odd: the same bits, NaN kept):
    a clamp, a compare and a select fewer, lstm_cell 3.85 -> 3.39 us (32 x 64)."""
    c = np.float32(7.90531110763549805)
    a = abs(v)
    x = min(a, c)
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
    return math.copysign(np.float32(1.0) if a >= c else x * p / q, v)


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
def aligned_copy(a):
    """A C-contiguous copy of the 2-D array a that starts on a 64-byte boundary (a cache line).
    OpenBLAS's small-matrix kernel multiplies by a weight matrix that starts mid-line 1.15-1.35x
    slower (the benchmark LSTM's steps of 32 samples: 9.5 vs 7.0 us forward, 8.6 vs 6.7 us for
    the state's gradient), and numba and numpy align their arrays to 16 or 32 bytes only."""
    rows, cols = a.shape
    line = 64 // a.itemsize
    buf = np.empty(rows * cols + line, a.dtype)
    start = (-(buf.ctypes.data // a.itemsize)) % line
    out = buf[start:start + rows * cols].reshape((rows, cols))
    out[:, :] = a
    return out


@kernel
def aligned_recurrent(params):
    """params with W_hh as an aligned_copy, for the products of a backward loop."""
    return params[0], aligned_copy(params[1]), params[2], params[3]


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
def add_products(a, b, out):
    """out (m, p) += a.T @ b for a (n, m) and b (n, p), all C-contiguous, in equal blocks of
    rows of at most 1e6 multiply-adds each (see step_gemm): one step's share of a weight
    gradient. The benchmark LSTM's dW_hh took 0.8 ms so, 40 steps in blocks of 32 samples,
    and 1.2 ms as one GEMM over all steps (one thread: the small blocks are not packed)."""
    n, m = a.shape
    p = b.shape[1]
    blocks = (n * m * p + 999_999) // 1_000_000
    rows = (n + blocks - 1) // max(blocks, 1)
    flat_a, flat_b, flat_out = a.reshape(a.size), b.reshape(b.size), out.reshape(out.size)
    for start in range(0, n, rows):
        gemm(flat_a, (start * m, m, True), flat_b, (start * p, p, False), flat_out,
             (0, p, False), (m, p, min(rows, n - start)), 1.0, 1.0)


@kernel
def input_projection(xt, W_t, out):
    """out (n, G) = xt (n, F) @ W_t (F, G), one step's input projection (W_t: W_ih.T,
    contiguous): a product, or for a few features a loop (a rank-1 update took BLAS 1.6x
    longer). The time loops call it step by step, just before the step's cell reads `out`
    from cache: the benchmark LSTM's forward of 32 samples took 550 us so, 575 us with the
    projections of all steps done first."""
    F = xt.shape[1]
    if F > 4:
        step_gemm(xt, W_t, out)
        return
    for k in range(xt.shape[0]):
        row = out[k]
        w = W_t[0]
        v = xt[k, 0]
        for j in range(row.shape[0]):
            row[j] = v * w[j]
        for f in range(1, F):
            w = W_t[f]
            v = xt[k, f]
            for j in range(row.shape[0]):
                row[j] += v * w[j]


@kernel
def hidden_projection(hs, t, first, stop, W_hh_t, hh):
    """hh (n, G) = hs[t, first:stop] @ W_hh.T, zero at t = 0 (the zero initial state)."""
    if t == 0:
        hh[:, :] = 0
    else:
        step_gemm(hs[t, first:stop], W_hh_t, hh)


@kernel
def step_back(params, x, hs, t, first, stop, d, dd, dh, grads, dx):
    """Backward step t of samples first..stop-1 once the pre-activation gradients are known,
    d (n, G) on the input side and dd on the hidden side (the same array but for GRU): adds
    the step's share to grads (see the module doc), writes dx[t] and sets dh (n, H) = dd @
    W_hh, the gradient that reaches the previous state (none at t = 0: the initial state)."""
    W_ih, W_hh = params[0], params[1]
    dW_ih, dW_hh, db_ih, db_hh = grads
    add_products(d, x[t, first:stop], dW_ih)
    add_rows(db_ih, d)
    if db_hh.shape[0] > 0:
        add_rows(db_hh, dd)
    if dx.shape[0] > 0:
        step_gemm(d, W_ih, dx[t, first:stop])
    if t > 0:
        add_products(dd, hs[t, first:stop], dW_hh)
        step_gemm(dd, W_hh, dh)


@kernel
def zero_grads(grads):
    """Zero a part's shares of the gradients before its backward loop adds to them."""
    dW_ih, dW_hh, db_ih, db_hh = grads
    dW_ih[:, :] = 0
    dW_hh[:, :] = 0
    db_ih[:] = 0
    db_hh[:] = 0


@kernel
def add_grads(grads, share):
    """grads += another part's share of them, array by array (one call instead of four
    numpy additions: the layer's backward spent ~20 us on those after the parts)."""
    add_into(grads[0], share[0])
    add_into(grads[1], share[1])
    add_into(grads[2], share[2])
    add_into(grads[3], share[3])


@kernel
def add_into(acc, other):
    """acc += other for C-contiguous arrays of one shape, in one flat loop: numba's `+=` on
    2-D arrays steps through them by index and does not vectorize (~3x slower here)."""
    flat, add = acc.reshape(acc.size), other.reshape(other.size)
    for k in range(flat.shape[0]):
        flat[k] += add[k]


@kernel
def carry_masked(mask, t, prev, new):
    """new[n] = prev[n] for the samples n whose step t is padding; both (N, H)."""
    if mask.shape[0] == 0:
        return
    for n in range(new.shape[0]):
        if mask[t, n] == 0:
            new[n, :] = prev[n, :]


@kernel
def keep_masked(mask, dh, keep):
    """keep (N, H) = dh when there is a mask: carry_masked then gives the padded samples
    their dh back after the step has overwritten it."""
    if mask.shape[0] > 0:
        keep[:, :] = dh


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

@contracting_kernel
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


@contracting_kernel
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
def rnn_steps(params, code, mask, x, hs, first, stop, mark):
    """hs (T+1, N, H), rows first..stop-1: the states of x (T, N, F); `code` is
    activations.TANH or RELU."""
    mark_start(mark)
    W_ih, W_hh, b_ih, b_hh = params
    hs[0, first:stop] = 0
    W_t = np.ascontiguousarray(W_ih.T)
    b = b_ih + b_hh
    part = mask[:, first:stop]
    hh = np.empty((stop - first, W_hh.shape[0]), hs.dtype)
    W_hh_t = aligned_copy(W_hh.T)
    for t in range(hs.shape[0] - 1):
        input_projection(x[t, first:stop], W_t, hs[t + 1, first:stop])
        hidden_projection(hs, t, first, stop, W_hh_t, hh)
        rnn_cell(hs[t + 1, first:stop], hh, b, code)
        carry_masked(part, t, hs[t, first:stop], hs[t + 1, first:stop])


@kernel
def rnn_steps_backward(params, code, mask, x, hs, dhs, grads, dx, first, stop, mark):
    """Backward through time of rnn_steps for samples first..stop-1: their share of grads
    and their rows of dx."""
    mark_start(mark)
    params = aligned_recurrent(params)
    dh = backward_state(dhs, first, stop)
    keep = np.empty_like(dh)
    d = np.empty((stop - first, params[1].shape[0]), dh.dtype)
    part = mask[:, first:stop]
    zero_grads(grads)
    for t in range(x.shape[0] - 1, -1, -1):
        sequence_gradient(dhs, t, first, stop, dh)
        rnn_cell_backward(hs[t + 1, first:stop], dh, code, d)
        zero_masked(part, t, d)
        keep_masked(part, dh, keep)
        step_back(params, x, hs, t, first, stop, d, d, dh, grads, dx)
        carry_masked(part, t, keep, dh)

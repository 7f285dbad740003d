"""Recurrent kernels: whole-sequence forward and backward through time for SimpleRNN, LSTM, GRU.

Inside the kernels sequences are time-major, x (T, N, F), so that one step is a contiguous
(N, F) slab. Weights follow PyTorch: W_ih (G*H, F), W_hh (G*H, H), b_ih, b_hh (G*H,) with
gate blocks [i f g o] (LSTM) and [r z n] (GRU). The input projection of every step is one
GEMM before the time loop, the hidden projection one GEMM per step, and the weight
gradients one GEMM each after the loop, over all steps at once.

`hs` (T+1, N, H) holds the states with hs[0] = 0 (zero initial state). `mask` (T, N) is
uint8 (1 = real step, 0 = padding: the state is carried over unchanged, like Keras) or
empty (0, 0) for no mask. The output gradient `dhs` is (T, N, H) for a whole sequence or
(1, N, H) for the last state only. An empty `dx` (0, 0, 0) skips the input gradient.
"""

import numpy as np
from numba import types
from numba.extending import overload

from nnx.activations import RELU
from nnx.kernels.jit import kernel

# Gate nonlinearities. They dominate a step: numba's np.tanh is a libm call (~13 ns) and
# np.exp (~2 ns) does not vectorize without SVML. In float32, tanh is a rational function
# (Eigen's fast tanh, accurate to a few ulps): plain arithmetic that LLVM vectorizes, ~10x
# faster. In float64 (gradient checks, references) it stays exact to a few ulps through exp.
# `overload` picks the version by type at compile time. The logistic is
# sigmoid(x) = 0.5 + 0.5 tanh(x / 2), so that every gate is s * tanh(s * x) + o.

def tanh(v):
    """tanh of one scalar, in its own dtype (see the overload below)."""


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


@overload(tanh, jit_options={"cache": True})
def _tanh(v):
    return (lambda v: tanh_rational(v)) if v == types.float32 else (lambda v: tanh_exact(v))


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
def input_projection(x, W_ih, out):
    """out (T, N, G) = x (T, N, F) @ W_ih.T (W_ih (G, F)), all steps in one GEMM."""
    T, N, F = x.shape
    np.dot(x.reshape(T * N, F), W_ih.T, out.reshape(T * N, W_ih.shape[0]))


@kernel
def carry_masked(mask, t, prev, new):
    """new[n] = prev[n] for the samples n whose step t is padding; both (N, H)."""
    if mask.shape[0] == 0:
        return
    for n in range(new.shape[0]):
        if mask[t, n] == 0:
            new[n, :] = prev[n, :]


@kernel
def weight_gradients(x, hs, dG, dHH, W_ih, dW_ih, dW_hh, db_ih, db_hh, dx):
    """The parameter and input gradients from the pre-activation gradients of all steps:
    dG (T, N, G) on the input side, dHH on the hidden side (the same array except for GRU)."""
    T, N, F = x.shape
    G, H = dW_hh.shape
    dG2 = dG.reshape(T * N, G)
    dHH2 = dHH.reshape(T * N, G)
    np.dot(dG2.T, x.reshape(T * N, F), dW_ih)
    np.dot(dHH2.T, hs[:T].reshape(T * N, H), dW_hh)
    ones = np.ones(T * N, dG.dtype)
    np.dot(ones, dG2, db_ih)
    if dHH is dG:
        db_hh[:] = db_ih
    else:
        np.dot(ones, dHH2, db_hh)
    if dx.shape[0] > 0:
        np.dot(dG2, W_ih, dx.reshape(T * N, F))


# Each step's element-wise work runs row by row in short loops over a few 1-D arrays: one
# loop touching many arrays is not vectorized (LLVM gives up on the aliasing checks), and
# that made the LSTM's gate pass 3x slower.

@kernel
def add_bias_rows(pre, hh, b):
    """pre (N, G) += hh (N, G) + b (G,): the input and hidden projections of one step."""
    for n in range(pre.shape[0]):
        row, hrow = pre[n], hh[n]
        for j in range(pre.shape[1]):
            row[j] += hrow[j] + b[j]


# -- SimpleRNN: h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or relu ----------------------

@kernel
def rnn_forward(x, W_ih, W_hh, b_ih, b_hh, code, mask, hs):
    """x (T, N, F) -> hs (T+1, N, H); `code` is activations.TANH or RELU."""
    T, N, _ = x.shape
    H = W_hh.shape[1]
    zero = x.dtype.type(0.0)
    hs[0] = 0
    input_projection(x, W_ih, hs[1:])
    b = b_ih + b_hh
    hh = np.empty((N, H), x.dtype)
    for t in range(T):
        np.dot(hs[t], W_hh.T, hh)
        h = hs[t + 1]
        add_bias_rows(h, hh, b)
        for n in range(N):
            row = h[n]
            if code == RELU:
                for j in range(H):
                    row[j] = max(row[j], zero)
            else:
                for j in range(H):
                    row[j] = tanh(row[j])
        carry_masked(mask, t, hs[t], h)


@kernel
def rnn_backward(x, W_ih, W_hh, code, mask, hs, dhs, dW_ih, dW_hh, db_ih, db_hh, dx):
    """Backward through time of rnn_forward: fills dW_ih, dW_hh, db_ih, db_hh and dx."""
    T, N, _ = x.shape
    H = W_hh.shape[1]
    zero, one = x.dtype.type(0.0), x.dtype.type(1.0)
    dG = np.empty((T, N, H), x.dtype)
    dh = np.zeros((N, H), x.dtype)
    keep = np.empty((N, H), x.dtype)
    sequence = dhs.shape[0] > 1
    if not sequence:
        dh[:, :] = dhs[0]
    for t in range(T - 1, -1, -1):
        if sequence:
            dh += dhs[t]
        h, d = hs[t + 1], dG[t]
        for n in range(N):
            hrow, drow, dhrow = h[n], d[n], dh[n]
            if code == RELU:
                for j in range(H):
                    drow[j] = dhrow[j] if hrow[j] > zero else zero
            else:
                for j in range(H):
                    drow[j] = dhrow[j] * (one - hrow[j] * hrow[j])
        zero_masked(mask, t, d)
        keep[:, :] = dh
        np.dot(d, W_hh, dh)
        carry_masked(mask, t, keep, dh)
    weight_gradients(x, hs, dG, dG, W_ih, dW_ih, dW_hh, db_ih, db_hh, dx)


@kernel
def zero_masked(mask, t, d):
    """d[n] = 0 for the samples n whose step t is padding (no gradient flows into that step)."""
    if mask.shape[0] == 0:
        return
    for n in range(d.shape[0]):
        if mask[t, n] == 0:
            d[n, :] = 0


# -- LSTM: i f g o; c' = f c + i g; h' = o tanh(c') ----------------------------------------------

@kernel
def lstm_forward(x, W_ih, W_hh, b_ih, b_hh, mask, hs, cs, tanh_c, gates):
    """x (T, N, F) -> hs, cs (T+1, N, H); tanh_c (T, N, H) and gates (T, N, 4H): the
    activated i, f, g, o of every step, kept for backward."""
    T, N, _ = x.shape
    H = W_hh.shape[1]
    one = x.dtype.type(1.0)
    input_projection(x, W_ih, gates)
    b = b_ih + b_hh
    scale = gate_scales(4, 2, H, x)
    hs[0] = 0
    cs[0] = 0
    hh = np.empty((N, 4 * H), x.dtype)
    for t in range(T):
        np.dot(hs[t], W_hh.T, hh)
        for n in range(N):
            row, hrow = gates[t, n], hh[n]
            for j in range(4 * H):
                row[j] = scale[j] * tanh(scale[j] * (row[j] + hrow[j] + b[j])) + one - scale[j]
            c_prev, c, tc, h = cs[t, n], cs[t + 1, n], tanh_c[t, n], hs[t + 1, n]
            for j in range(H):  # row: i f g o
                cj = row[H + j] * c_prev[j] + row[j] * row[2 * H + j]
                c[j] = cj
                tc[j] = tanh(cj)
                h[j] = row[3 * H + j] * tc[j]
        if mask.shape[0] > 0:
            carry_masked(mask, t, cs[t], cs[t + 1])
            carry_masked(mask, t, hs[t], hs[t + 1])


@kernel
def lstm_backward(x, W_ih, W_hh, mask, hs, cs, tanh_c, gates, dhs, dW_ih, dW_hh, db_ih, db_hh,
                  dx):
    """Backward through time of lstm_forward: fills dW_ih, dW_hh, db_ih, db_hh and dx."""
    T, N, _ = x.shape
    H = W_hh.shape[1]
    one = x.dtype.type(1.0)
    dG = np.empty((T, N, 4 * H), x.dtype)
    dh = np.zeros((N, H), x.dtype)
    dc = np.zeros((N, H), x.dtype)
    keep = np.empty((N, H), x.dtype)
    sequence = dhs.shape[0] > 1
    if not sequence:
        dh[:, :] = dhs[0]
    masked = mask.shape[0] > 0
    for t in range(T - 1, -1, -1):
        if sequence:
            dh += dhs[t]
        for n in range(N):
            d = dG[t, n]
            if masked and mask[t, n] == 0:
                d[:] = 0  # padding: dh and dc pass through to the step before
                continue
            row, c_prev, tc, dhn, dcn = gates[t, n], cs[t, n], tanh_c[t, n], dh[n], dc[n]
            i_, f_, g_, o_ = row[:H], row[H:2 * H], row[2 * H:3 * H], row[3 * H:]
            di, df, dg, do = d[:H], d[H:2 * H], d[2 * H:3 * H], d[3 * H:]
            for j in range(H):
                i, f, g, o, tcj = i_[j], f_[j], g_[j], o_[j], tc[j]
                dcj = dcn[j] + dhn[j] * o * (one - tcj * tcj)
                di[j] = dcj * g * i * (one - i)
                df[j] = dcj * c_prev[j] * f * (one - f)
                dg[j] = dcj * i * (one - g * g)
                do[j] = dhn[j] * tcj * o * (one - o)
                dcn[j] = dcj * f
        if masked:
            keep[:, :] = dh
        np.dot(dG[t], W_hh, dh)
        if masked:
            carry_masked(mask, t, keep, dh)
    weight_gradients(x, hs, dG, dG, W_ih, dW_ih, dW_hh, db_ih, db_hh, dx)


# -- GRU: r z n; n = tanh(W_in x + b_in + r (W_hn h + b_hn)); h' = (1 - z) n + z h ---------------

@kernel
def gru_forward(x, W_ih, W_hh, b_ih, b_hh, mask, hs, gates, hn):
    """x (T, N, F) -> hs (T+1, N, H); gates (T, N, 3H) keeps the activated r, z, n and
    hn (T, N, H) the hidden part of n's pre-activation, W_hn h + b_hn."""
    T, N, _ = x.shape
    H = W_hh.shape[1]
    one = x.dtype.type(1.0)
    input_projection(x, W_ih, gates)
    b_rz = b_ih[:2 * H] + b_hh[:2 * H]
    b_in, b_hn = b_ih[2 * H:], b_hh[2 * H:]
    hs[0] = 0
    hh = np.empty((N, 3 * H), x.dtype)
    for t in range(T):
        np.dot(hs[t], W_hh.T, hh)
        for n in range(N):
            row, hrow, a = gates[t, n], hh[n], hn[t, n]
            for j in range(2 * H):  # r and z
                row[j] = sigmoid(row[j] + hrow[j] + b_rz[j])
            h_prev, h = hs[t, n], hs[t + 1, n]
            for j in range(H):  # row: r z n
                aj = hrow[2 * H + j] + b_hn[j]
                a[j] = aj
                nj = tanh(row[2 * H + j] + b_in[j] + row[j] * aj)
                row[2 * H + j] = nj
                z = row[H + j]
                h[j] = (one - z) * nj + z * h_prev[j]
        carry_masked(mask, t, hs[t], hs[t + 1])


@kernel
def gru_backward(x, W_ih, W_hh, mask, hs, gates, hn, dhs, dW_ih, dW_hh, db_ih, db_hh, dx):
    """Backward through time of gru_forward: fills dW_ih, dW_hh, db_ih, db_hh and dx."""
    T, N, _ = x.shape
    H = W_hh.shape[1]
    one = x.dtype.type(1.0)
    dG = np.empty((T, N, 3 * H), x.dtype)   # input side: d pre-activation of r, z, n
    dHH = np.empty((T, N, 3 * H), x.dtype)  # hidden side: the n block is scaled by r
    dh = np.zeros((N, H), x.dtype)
    direct = np.empty((N, H), x.dtype)      # dh_prev through z * h
    sequence = dhs.shape[0] > 1
    if not sequence:
        dh[:, :] = dhs[0]
    masked = mask.shape[0] > 0
    for t in range(T - 1, -1, -1):
        if sequence:
            dh += dhs[t]
        for n in range(N):
            d, dd, dhn, dirn = dG[t, n], dHH[t, n], dh[n], direct[n]
            if masked and mask[t, n] == 0:
                d[:] = 0
                dd[:] = 0
                dirn[:] = dhn  # padding: dh passes through unchanged
                continue
            row, a, h_prev = gates[t, n], hn[t, n], hs[t, n]
            r_, z_, n_ = row[:H], row[H:2 * H], row[2 * H:]
            dr_, dz_, dn_ = d[:H], d[H:2 * H], d[2 * H:]
            ddr, ddz, ddn = dd[:H], dd[H:2 * H], dd[2 * H:]
            for j in range(H):
                r, z, nj, dhj = r_[j], z_[j], n_[j], dhn[j]
                dn = dhj * (one - z) * (one - nj * nj)
                dz = dhj * (h_prev[j] - nj) * z * (one - z)
                dr = dn * a[j] * r * (one - r)
                dr_[j], dz_[j], dn_[j] = dr, dz, dn
                ddr[j], ddz[j], ddn[j] = dr, dz, dn * r
                dirn[j] = dhj * z
        np.dot(dHH[t], W_hh, dh)
        dh += direct
    weight_gradients(x, hs, dG, dHH, W_ih, dW_ih, dW_hh, db_ih, db_hh, dx)

"""LSTM and GRU kernels: the gated cells and their loops through time.

The layouts, the sample ranges first..stop-1 of the loops and the shared step helpers are
those of nnx.kernels.recurrent (read its docstring first); this module holds the two gated
cells, whose gates take the activated values the backward loops read.
"""

import numpy as np

from nnx.kernels.jit import contracting_kernel, kernel
from nnx.kernels.recurrent import (
    aligned_copy,
    aligned_recurrent,
    backward_state,
    carry_masked,
    gate_scales,
    hidden_projection,
    input_projection,
    keep_masked,
    sequence_gradient,
    sigmoid,
    step_back,
    tanh,
    zero_grads,
)
from nnx.kernels.threads import mark_start

# -- LSTM: i f g o; c' = f c + i g; h' = o tanh(c') ----------------------------------------------

@contracting_kernel
def lstm_cell(gates, hh, b, scale, c_prev, c, tanh_c, h):
    """One step. gates (N, 4H): the input projection in, the activated i, f, g, o out;
    hh = h_prev @ W_hh.T; c, tanh_c, h (N, H) out. Every gate is s tanh(s x) + 1 - s.
    Two loops a row, the gates, then c and h (a loop each for c, tanh c and h: 1.3x slower)."""
    one = gates.dtype.type(1.0)
    H = c.shape[1]
    for n in range(gates.shape[0]):
        row, hrow = gates[n], hh[n]
        for j in range(4 * H):
            row[j] = scale[j] * tanh(scale[j] * (row[j] + hrow[j] + b[j])) + one - scale[j]
        cp, cn, tc, hn = c_prev[n], c[n], tanh_c[n], h[n]
        for j in range(H):
            cj = row[H + j] * cp[j] + row[j] * row[2 * H + j]
            cn[j] = cj
            tc[j] = tanh(cj)
            hn[j] = row[3 * H + j] * tc[j]


@contracting_kernel
def lstm_cell_backward(gates, c_prev, tanh_c, dh, dc, mask, t, d):
    """One step back: d (N, 4H) = dL/d pre-activations of i, f, g, o; dc (N, H) is updated
    from dL/dc' to dL/dc (padding passes dh and dc through unchanged). Two loops a row,
    the o gate and dc first: fewer arrays a loop than in one, 1.25x faster."""
    one = gates.dtype.type(1.0)
    H = dh.shape[1]
    for n in range(gates.shape[0]):
        drow = d[n]
        if mask.shape[0] > 0 and mask[t, n] == 0:
            drow[:] = 0
            continue
        row, cp, tc, dhn, dcn = gates[n], c_prev[n], tanh_c[n], dh[n], dc[n]
        i_, f_, g_, o_ = row[:H], row[H:2 * H], row[2 * H:3 * H], row[3 * H:]
        di, df, dg, do = drow[:H], drow[H:2 * H], drow[2 * H:3 * H], drow[3 * H:]
        for j in range(H):
            o, tcj, dhj = o_[j], tc[j], dhn[j]
            dcn[j] += dhj * o * (one - tcj * tcj)
            do[j] = dhj * tcj * o * (one - o)
        for j in range(H):
            i, f, g, dcj = i_[j], f_[j], g_[j], dcn[j]
            di[j] = dcj * g * i * (one - i)
            df[j] = dcj * cp[j] * f * (one - f)
            dg[j] = dcj * i * (one - g * g)
            dcn[j] = dcj * f


@kernel
def lstm_steps(params, mask, x, hs, cs, tanh_c, gates, first, stop, mark):
    """Rows first..stop-1 of hs, cs (T+1, N, H), tanh_c (T, N, H) and gates (T, N, 4H), the
    activated i, f, g, o of every step, kept for backward."""
    mark_start(mark)
    W_ih, W_hh, b_ih, b_hh = params
    H = W_hh.shape[1]
    b = b_ih + b_hh
    scale = gate_scales(4, 2, H, hs)
    hs[0, first:stop] = 0
    cs[0, first:stop] = 0
    W_t = np.ascontiguousarray(W_ih.T)
    part = mask[:, first:stop]
    hh = np.empty((stop - first, 4 * H), hs.dtype)
    W_hh_t = aligned_copy(W_hh.T)
    for t in range(gates.shape[0]):
        input_projection(x[t, first:stop], W_t, gates[t, first:stop])
        hidden_projection(hs, t, first, stop, W_hh_t, hh)
        lstm_cell(gates[t, first:stop], hh, b, scale, cs[t, first:stop], cs[t + 1, first:stop],
                  tanh_c[t, first:stop], hs[t + 1, first:stop])
        carry_masked(part, t, cs[t, first:stop], cs[t + 1, first:stop])
        carry_masked(part, t, hs[t, first:stop], hs[t + 1, first:stop])


@kernel
def lstm_steps_backward(params, mask, x, saved, dhs, grads, dx, first, stop, mark):
    """Backward through time of lstm_steps for samples first..stop-1, with saved = (hs, cs,
    tanh_c, gates): their share of grads and their rows of dx."""
    mark_start(mark)
    hs, cs, tanh_c, gates = saved
    params = aligned_recurrent(params)
    dh = backward_state(dhs, first, stop)
    dc = np.zeros_like(dh)
    keep = np.empty_like(dh)
    d = np.empty((stop - first, gates.shape[2]), dh.dtype)
    part = mask[:, first:stop]
    zero_grads(grads)
    for t in range(x.shape[0] - 1, -1, -1):
        sequence_gradient(dhs, t, first, stop, dh)
        lstm_cell_backward(gates[t, first:stop], cs[t, first:stop], tanh_c[t, first:stop], dh,
                           dc, part, t, d)
        keep_masked(part, dh, keep)
        step_back(params, x, hs, t, first, stop, d, d, dh, grads, dx)
        carry_masked(part, t, keep, dh)


# -- GRU: r z n; n = tanh(W_in x + b_in + r (W_hn h + b_hn)); h' = (1 - z) n + z h ---------------

@contracting_kernel
def gru_cell(gates, hh, b_rz, b_in, b_hn, hn, h_prev, h):
    """One step. gates (N, 3H): the input projection in, the activated r, z, n out;
    hh = h_prev @ W_hh.T; hn (N, H) out: W_hn h_prev + b_hn; h (N, H) out. Two loops a
    row, as in lstm_cell (three loops for n and h were 1.25x slower)."""
    one = gates.dtype.type(1.0)
    H = h.shape[1]
    for n in range(gates.shape[0]):
        row, hrow, a = gates[n], hh[n], hn[n]
        for j in range(2 * H):
            row[j] = sigmoid(row[j] + hrow[j] + b_rz[j])
        r, z, nn, hh_n = row[:H], row[H:2 * H], row[2 * H:], hrow[2 * H:]
        hp, hr = h_prev[n], h[n]
        for j in range(H):
            aj = hh_n[j] + b_hn[j]
            a[j] = aj
            nj = tanh(nn[j] + b_in[j] + r[j] * aj)
            nn[j] = nj
            hr[j] = (one - z[j]) * nj + z[j] * hp[j]


@contracting_kernel
def gru_cell_backward(gates, hn, h_prev, dh, mask, t, d, dd, direct):
    """One step back: d (N, 3H) = dL/d pre-activations of r, z, n on the input side, dd the
    same on the hidden side (its n block times r), direct (N, H) = dL/dh_prev through z h_prev
    (padding passes dh through unchanged)."""
    one = gates.dtype.type(1.0)
    H = dh.shape[1]
    for n in range(gates.shape[0]):
        drow, ddrow, dhn, dirn = d[n], dd[n], dh[n], direct[n]
        if mask.shape[0] > 0 and mask[t, n] == 0:
            drow[:] = 0
            ddrow[:] = 0
            dirn[:] = dhn
            continue
        row, a, hp = gates[n], hn[n], h_prev[n]
        r_, z_, n_ = row[:H], row[H:2 * H], row[2 * H:]
        dr_, dz_, dn_ = drow[:H], drow[H:2 * H], drow[2 * H:]
        ddr, ddz, ddn = ddrow[:H], ddrow[H:2 * H], ddrow[2 * H:]
        for j in range(H):
            r, z, nj, dhj = r_[j], z_[j], n_[j], dhn[j]
            dn = dhj * (one - z) * (one - nj * nj)
            dz = dhj * (hp[j] - nj) * z * (one - z)
            dr = dn * a[j] * r * (one - r)
            dr_[j], dz_[j], dn_[j] = dr, dz, dn
            ddr[j], ddz[j], ddn[j] = dr, dz, dn * r
            dirn[j] = dhj * z


@kernel
def gru_steps(params, mask, x, hs, gates, hn, first, stop, mark):
    """Rows first..stop-1 of hs (T+1, N, H); gates (T, N, 3H): the activated r, z, n of
    every step; hn (T, N, H): the hidden part of n's pre-activation, W_hn h + b_hn."""
    mark_start(mark)
    W_ih, W_hh, b_ih, b_hh = params
    H = W_hh.shape[1]
    b_rz = b_ih[:2 * H] + b_hh[:2 * H]
    hs[0, first:stop] = 0
    W_t = np.ascontiguousarray(W_ih.T)
    part = mask[:, first:stop]
    hh = np.empty((stop - first, 3 * H), hs.dtype)
    W_hh_t = aligned_copy(W_hh.T)
    for t in range(gates.shape[0]):
        input_projection(x[t, first:stop], W_t, gates[t, first:stop])
        hidden_projection(hs, t, first, stop, W_hh_t, hh)
        gru_cell(gates[t, first:stop], hh, b_rz, b_ih[2 * H:], b_hh[2 * H:], hn[t, first:stop],
                 hs[t, first:stop], hs[t + 1, first:stop])
        carry_masked(part, t, hs[t, first:stop], hs[t + 1, first:stop])


@kernel
def gru_steps_backward(params, mask, x, saved, dhs, grads, dx, first, stop, mark):
    """Backward through time of gru_steps for samples first..stop-1, with saved = (hs,
    gates, hn): their share of grads and their rows of dx. The pre-activation gradients
    of a step are d on the input side and dd on the hidden side (see gru_cell_backward)."""
    mark_start(mark)
    hs, gates, hn = saved
    params = aligned_recurrent(params)
    dh = backward_state(dhs, first, stop)
    direct = np.empty_like(dh)
    d = np.empty((stop - first, gates.shape[2]), dh.dtype)
    dd = np.empty_like(d)
    part = mask[:, first:stop]
    zero_grads(grads)
    for t in range(x.shape[0] - 1, -1, -1):
        sequence_gradient(dhs, t, first, stop, dh)
        gru_cell_backward(gates[t, first:stop], hn[t, first:stop], hs[t, first:stop], dh, part,
                          t, d, dd, direct)
        step_back(params, x, hs, t, first, stop, d, dd, dh, grads, dx)
        dh += direct

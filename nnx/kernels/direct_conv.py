"""3x3 stride-1 convolutions of inputs with few channels (a model's first layer), computed
directly, channels first.

Why: with C = 1 or 3 input channels, im2col's column matrix has only 9C rows, so each
product is a GEMM of depth 9 or 27 that BLAS runs far from peak, and the weight gradient a
GEMM with a 9C x F output. Here each sample's channels are padded once into planes of pitch
Wp (nnx/kernels/columns.py's flat layout: output (oh, ow) reads the plane at oh*Wp + ow plus
the tap's offset i*Wp + j), and every filter's output is one long loop over the Ho*Wp
positions that adds the nine taps of a channel at once, in registers. The (kw-1) extra
columns per output row read wrapped-around input; their outputs are dropped and their
gradients are zero. The sums run in another order than the GEMM's: the numbers are the
convolution's up to float rounding.

`g` is the layer's ConvGeometry (3x3 window, stride and dilation 1, flat layout).
"""

import numpy as np

from nnx.kernels.activations import activate, activation_grad
from nnx.kernels.columns import pad_planes, padded_shape
from nnx.kernels.conv import add_row_sums
from nnx.kernels.jit import fma_kernel, kernel
from nnx.kernels.threads import mark_start


@kernel
def _taps(xp, base, wp, span):
    """The nine runs of `span` elements of a padded plane (flat, from `base`) that taps
    (0, 0) .. (2, 2) read."""
    row1, row2 = base + wp, base + 2 * wp
    return (xp[base:base + span], xp[base + 1:base + 1 + span], xp[base + 2:base + 2 + span],
            xp[row1:row1 + span], xp[row1 + 1:row1 + 1 + span], xp[row1 + 2:row1 + 2 + span],
            xp[row2:row2 + span], xp[row2 + 1:row2 + 1 + span], xp[row2 + 2:row2 + 2 + span])


@fma_kernel
def direct_forward(x, W, b, g, code, xp, z, y, first, stop, mark):
    """Samples first..stop-1 of x (N, C, H, W), W (F, C, 3, 3), b (F,) or empty ->
    z = conv(x, W) + b and y = act(z), both (N, F, Ho, Wo); y may be z, and z may be empty
    (with no samples) when only y is wanted. Element-wise activations only. xp holds one
    sample's padded planes and the slack its last plane's wrapped-around columns read.

    Two filters a pass, so that each load of the input feeds two products (an odd last
    filter runs as its own pair): 1.4x the speed of one."""
    mark_start(mark)
    filters, channels = W.shape[0], W.shape[1]
    ho, wo = g.out_h, g.out_w
    hp, wp = padded_shape(g)
    plane, span = hp * wp, ho * wp
    acc = np.empty((2, span), y.dtype)
    keep_z = z.shape[0] > 0
    has_bias = b.shape[0] > 0
    for n in range(first, stop):
        pad_planes(x, n, 1, g, xp)
        zn = (z if keep_z else y)[n].reshape(filters, ho * wo)
        for f in range(0, filters, 2):
            pair = (f, min(f + 1, filters - 1))
            for k in range(2):
                acc[k, :] = b[pair[k]] if has_bias else y.dtype.type(0.0)
            out0, out1 = acc[0], acc[1]
            for c in range(channels):
                s0, s1, s2, s3, s4, s5, s6, s7, s8 = _taps(xp, c * plane, wp, span)
                w, v = W[pair[0], c], W[pair[1], c]
                w0, w1, w2, w3, w4 = w[0, 0], w[0, 1], w[0, 2], w[1, 0], w[1, 1]
                w5, w6, w7, w8 = w[1, 2], w[2, 0], w[2, 1], w[2, 2]
                v0, v1, v2, v3, v4 = v[0, 0], v[0, 1], v[0, 2], v[1, 0], v[1, 1]
                v5, v6, v7, v8 = v[1, 2], v[2, 0], v[2, 1], v[2, 2]
                for p in range(span):
                    t0, t1, t2, t3, t4 = s0[p], s1[p], s2[p], s3[p], s4[p]
                    t5, t6, t7, t8 = s5[p], s6[p], s7[p], s8[p]
                    out0[p] += (w0 * t0 + w1 * t1 + w2 * t2 + w3 * t3 + w4 * t4 + w5 * t5
                                + w6 * t6 + w7 * t7 + w8 * t8)
                    out1[p] += (v0 * t0 + v1 * t1 + v2 * t2 + v3 * t3 + v4 * t4 + v5 * t5
                                + v6 * t6 + v7 * t7 + v8 * t8)
            if not keep_z:  # y straight from the pair's sums, while they are in cache
                activate(acc, code, acc)
            for k in range(2):
                out = zn[pair[k]]
                for oh in range(ho):
                    src, dst = acc[k, oh * wp:oh * wp + wo], out[oh * wo:(oh + 1) * wo]
                    for q in range(wo):
                        dst[q] = src[q]
        if keep_z:
            activate(zn, code, y[n].reshape(filters, ho * wo))


@fma_kernel
def direct_backward(W, g, code, saved, dy, grads, scratch, first, stop, mark):
    """Gradients of y = act(conv(x, W) + b) (direct_forward) from the samples first..stop-1
    of dy (N, F, Ho, Wo): their share of dW and db, and their rows of dx.

    saved = (x, y, z) of the forward (z may be y for every activation but gelu); grads =
    (dW (F, C, 3, 3): this share, db (F,) or empty, dx (N, C, H, W) or empty: the first
    layer of a model needs none); scratch = (xp, dxp): like direct_forward's xp, dxp empty
    without dx. Two filters a pass, as in direct_forward."""
    mark_start(mark)
    x, y, z = saved
    dW, db, dx = grads
    xp, dxp = scratch
    filters, channels = W.shape[0], W.shape[1]
    ho, wo = g.out_h, g.out_w
    hp, wp = padded_shape(g)
    plane, span = hp * wp, ho * wp
    lead = 2 * wp + 2  # zeros before dz: the input gradient reads dz up to lead back
    dzp = np.zeros((2, lead + plane), dy.dtype)
    dzn = np.empty((filters, ho * wo), dy.dtype)
    has_bias, wants_dx = db.shape[0] > 0, dx.shape[0] > 0
    dW[:] = 0
    if has_bias:
        db[:] = 0
    zero = dy.dtype.type(0.0)
    for n in range(first, stop):
        pad_planes(x, n, 1, g, xp)
        activation_grad(dy[n].reshape(filters, ho * wo), y[n].reshape(filters, ho * wo),
                        z[n].reshape(filters, ho * wo), code, dzn)
        if has_bias:
            add_row_sums(dzn, db)
        if wants_dx:
            dxp[:] = 0
        for f in range(0, filters, 2):
            pair, count = (f, min(f + 1, filters - 1)), min(2, filters - f)
            for k in range(2):
                for oh in range(ho):
                    src = dzn[pair[k], oh * wo:(oh + 1) * wo]
                    dst = dzp[k, lead + oh * wp:lead + (oh + 1) * wp]
                    for q in range(wo):
                        dst[q] = src[q]
                    for q in range(wo, wp):  # the dropped columns
                        dst[q] = zero
            d0s, d1s = dzp[0, lead:lead + span], dzp[1, lead:lead + span]
            for c in range(channels):
                s0, s1, s2, s3, s4, s5, s6, s7, s8 = _taps(xp, c * plane, wp, span)
                a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = zero
                e0 = e1 = e2 = e3 = e4 = e5 = e6 = e7 = e8 = zero
                for p in range(span):
                    d, e = d0s[p], d1s[p]
                    t0, t1, t2, t3, t4 = s0[p], s1[p], s2[p], s3[p], s4[p]
                    t5, t6, t7, t8 = s5[p], s6[p], s7[p], s8[p]
                    a0 += d * t0
                    a1 += d * t1
                    a2 += d * t2
                    a3 += d * t3
                    a4 += d * t4
                    a5 += d * t5
                    a6 += d * t6
                    a7 += d * t7
                    a8 += d * t8
                    e0 += e * t0
                    e1 += e * t1
                    e2 += e * t2
                    e3 += e * t3
                    e4 += e * t4
                    e5 += e * t5
                    e6 += e * t6
                    e7 += e * t7
                    e8 += e * t8
                sums = ((a0, a1, a2, a3, a4, a5, a6, a7, a8), (e0, e1, e2, e3, e4, e5, e6, e7, e8))
                for k in range(count):
                    dw, tap = dW[pair[k], c], sums[k]
                    for i in range(3):
                        for j in range(3):
                            dw[i, j] += tap[3 * i + j]
                    if wants_dx:
                        _add_input_gradient(W[pair[k], c], dzp[k], lead,
                                            dxp[c * plane:(c + 1) * plane])
        if wants_dx:
            _crop(dxp, g, dx[n])


@kernel
def _add_input_gradient(w, dzp, lead, out):
    """out (one padded plane, flat) += the adjoint of one channel's 3x3 taps w applied to
    dz (dzp: `lead` zeros, then dz in the flat layout, then zeros)."""
    wp = (lead - 2) // 2
    size = out.shape[0]
    d0, d1, d2 = dzp[lead:lead + size], dzp[lead - 1:lead - 1 + size], \
        dzp[lead - 2:lead - 2 + size]
    d3, d4, d5 = dzp[lead - wp:lead - wp + size], dzp[lead - wp - 1:lead - wp - 1 + size], \
        dzp[lead - wp - 2:lead - wp - 2 + size]
    d6, d7, d8 = dzp[lead - 2 * wp:lead - 2 * wp + size], \
        dzp[lead - 2 * wp - 1:lead - 2 * wp - 1 + size], dzp[0:size]
    w0, w1, w2, w3, w4 = w[0, 0], w[0, 1], w[0, 2], w[1, 0], w[1, 1]
    w5, w6, w7, w8 = w[1, 2], w[2, 0], w[2, 1], w[2, 2]
    for t in range(size):
        out[t] += (w0 * d0[t] + w1 * d1[t] + w2 * d2[t] + w3 * d3[t] + w4 * d4[t]
                   + w5 * d5[t] + w6 * d6[t] + w7 * d7[t] + w8 * d8[t])


@kernel
def _crop(dxp, g, out):
    """out (C, H, W) = the input part of the padded planes dxp (flat, back to back)."""
    channels, height, width = out.shape
    hp, wp = padded_shape(g)
    for c in range(channels):
        base = c * hp * wp + g.pad_top * wp + g.pad_left
        for h in range(height):
            src, dst = dxp[base + h * wp:base + h * wp + width], out[c, h]
            for q in range(width):
                dst[q] = src[q]

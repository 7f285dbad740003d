"""Convolution kernels, channels first, by im2col + one BLAS GEMM per pass.

Why im2col + GEMM: a convolution's time goes into three products (forward, dW, dx).
Gathered into one column matrix for the whole batch, each is a single large GEMM that BLAS
(numba's np.dot, with SciPy installed) runs near peak on both cores. Direct loops measured
5-12x slower even on the small 1-D reference layers (100 x 32 x 18, k=3: 1.7-2.0 ms direct
vs 0.16 ms). BLAS owns the threads, so the gather/scatter passes stay serial: a prange
im2col was 2.5x faster alone but many times slower whenever another thread pool (BLAS
spinning, PyTorch, a second job) competed for the cores, and each parallel kernel adds
~0.45 s to load from the cache (pitfalls.md: either BLAS or prange).

Layout: cols (K, N*P) with K = C*kh*kw and P = Ho*Wo, so
    forward  zT (F, N*P) = W (F, K) @ cols
    backward dW (F, K)   = dzT @ cols.T,   dcols (K, N*P) = W.T @ dzT -> col2im -> dx.
The transposes between (F, N*P) and the channels-first (N, F, Ho, Wo) are fused into the
bias + activation pass (forward) and the activation-gradient + bias-gradient pass
(backward), so they cost no extra pass over memory. 1-D convolutions run through the
same kernels with height 1.

geom: int64 array (kh, kw, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
Ho, Wo); the bottom/right padding follows from Ho, Wo (positions past the input read 0).
"""

import numpy as np

from nnx.activations import LINEAR
from nnx.kernels.activations import activate, activation_grad
from nnx.kernels.jit import kernel


@kernel
def _valid_range(offset, stride, size, count):
    """The outputs o in [lo, hi) of 0..count whose input o*stride + offset lies in [0, size)."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    last = size - 1 - offset
    hi = 0 if last < 0 else min(count, last // stride + 1)
    return lo, max(lo, hi)


@kernel
def im2col(x, first, geom, cols):
    """x (N, C, H, W) -> cols (C*kh*kw, m*Ho*Wo) for the m samples from `first` on: row
    (c, i, j) holds x[n, c, ih, iw] for every output position, 0 in the padding."""
    _, channels, height, width = x.shape
    kh, kw, sh, sw, dh, dw = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    pt, pl, ho, wo = geom[6], geom[7], geom[8], geom[9]
    plane = ho * wo
    count = cols.shape[1] // plane
    zero = cols.dtype.type(0.0)
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                off_w = j * dw - pl
                lo, hi = _valid_range(off_w, sw, width, wo)
                for m in range(count):
                    n = first + m
                    for oh in range(ho):
                        ih = oh * sh + i * dh - pt
                        base = m * plane + oh * wo
                        if ih < 0 or ih >= height:
                            for ow in range(wo):
                                cols[row, base + ow] = zero
                            continue
                        for ow in range(lo):
                            cols[row, base + ow] = zero
                        for ow in range(lo, hi):
                            cols[row, base + ow] = x[n, c, ih, ow * sw + off_w]
                        for ow in range(hi, wo):
                            cols[row, base + ow] = zero


@kernel
def col2im(dcols, geom, dx):
    """The adjoint of im2col: dx (N, C, H, W) = the sum of dcols (C*kh*kw, N*Ho*Wo) over
    every window position that read each input element (padding positions are dropped)."""
    n_batch, channels, height, width = dx.shape
    kh, kw, sh, sw, dh, dw = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    pt, pl, ho, wo = geom[6], geom[7], geom[8], geom[9]
    plane = ho * wo
    dx[:] = 0
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                off_w = j * dw - pl
                lo, hi = _valid_range(off_w, sw, width, wo)
                for n in range(n_batch):
                    for oh in range(ho):
                        ih = oh * sh + i * dh - pt
                        if ih < 0 or ih >= height:
                            continue
                        base = n * plane + oh * wo
                        for ow in range(lo, hi):
                            dx[n, c, ih, ow * sw + off_w] += dcols[row, base + ow]


@kernel
def _leading(buffer, rows, cols):
    """The first rows*cols elements of a contiguous buffer as a contiguous (rows, cols)."""
    return buffer.reshape(buffer.size)[:rows * cols].reshape(rows, cols)


@kernel
def conv_forward(x, W, b, geom, code, cols, zT, z, y):
    """x (N, C, H, W), W (F, C, kh, kw), b (F,) or empty -> z = conv(x, W) + b and
    y = act(z), both (N, F, Ho, Wo); y may be z. Element-wise activations only.

    cols (C*kh*kw, B*Ho*Wo) and zT (F, B*Ho*Wo) are scratch for B samples at a time: with
    B = N, cols ends up holding the columns of the whole batch (backward needs them);
    inference passes a smaller B so that a large batch does not need a huge cols."""
    n_batch, filters = z.shape[0], z.shape[1]
    plane = z.shape[2] * z.shape[3]
    k = cols.shape[0]
    chunk = max(1, cols.shape[1] // plane)
    W2 = W.reshape(filters, k)
    z3 = z.reshape(n_batch, filters, plane)
    y3 = y.reshape(n_batch, filters, plane)
    has_bias = b.shape[0] > 0
    for first in range(0, n_batch, chunk):
        count = min(chunk, n_batch - first)
        part = _leading(cols, k, count * plane)
        out = _leading(zT, filters, count * plane)
        im2col(x, first, geom, part)
        np.dot(W2, part, out)
        for m in range(count):
            zn = z3[first + m]
            for f in range(filters):
                bias = b[f] if has_bias else zT.dtype.type(0.0)
                src = out[f, m * plane:(m + 1) * plane]
                for p in range(plane):
                    zn[f, p] = src[p] + bias
            activate(zn, code, y3[first + m])  # on a cache-hot (F, P) block


@kernel
def conv_backward(W, geom, cols, y, z, dy, code, dzT, dW, db, dcols, dx):
    """Gradients of y = act(conv(x, W) + b) from dy (N, F, Ho, Wo), with the cols, z and y
    of the forward pass: dW (F, C, kh, kw), db (F,) or empty, dx (N, C, H, W) or empty (the
    first layer of a model needs none). dzT (F, N*Ho*Wo) and dcols (like cols, or empty
    with dx) are scratch."""
    n_batch, filters = dy.shape[0], dy.shape[1]
    plane = dy.shape[2] * dy.shape[3]
    k = cols.shape[0]
    y3 = y.reshape(n_batch, filters, plane)
    z3 = z.reshape(n_batch, filters, plane)
    dy3 = dy.reshape(n_batch, filters, plane)
    has_bias = db.shape[0] > 0
    if has_bias:
        db[:] = 0
    scratch = np.empty((filters, plane), dtype=dy.dtype)  # contiguous: the pass vectorizes
    for n in range(n_batch):
        if code == LINEAR:
            dzn = dy3[n]
        else:
            activation_grad(dy3[n], y3[n], z3[n], code, scratch)
            dzn = scratch
        for f in range(filters):
            dst = dzT[f, n * plane:(n + 1) * plane]
            total = dzT.dtype.type(0.0)
            for p in range(plane):
                dst[p] = dzn[f, p]
                total += dzn[f, p]
            if has_bias:
                db[f] += total
    np.dot(dzT, cols.T, dW.reshape(filters, k))
    if dx.shape[0] > 0:
        np.dot(W.reshape(filters, k).T, dzT, dcols)
        col2im(dcols, geom, dx)

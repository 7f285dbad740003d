"""Convolution kernels, channels first, by im2col + one BLAS GEMM per pass.

Why im2col + GEMM: a convolution's time goes into three products (forward, dW, dx).
Gathered into one column matrix for the whole batch, each is a single large GEMM that BLAS
(numba's np.dot, with SciPy installed) runs near peak on both cores. Direct loops measured
5-12x slower even on the small 1-D reference layers (100 x 32 x 18, k=3: 1.7-2.0 ms direct
vs 0.16 ms). BLAS owns the threads, so the gather/scatter passes stay serial: a prange
im2col was 2.5x faster alone but many times slower whenever another thread pool (BLAS
spinning, PyTorch, a second job) competed for the cores, and each parallel kernel adds
~0.45 s to load from the cache: BLAS or prange, not both (docs/architecture.md, numba).

Layout: cols (K, N*S) with K = C*kh*kw and S columns per sample, so
    forward  zT (F, N*S) = W (F, K) @ cols
    backward dW (F, K)   = dzT @ cols.T,   dcols (K, N*S) = W.T @ dzT -> col2im -> dx.
The transposes between (F, N*S) and the channels-first (N, F, Ho, Wo) are fused into the
bias + activation pass (forward) and the activation-gradient + bias-gradient pass
(backward), so they cost no extra pass over memory. 1-D convolutions run through the
same kernels with height 1.

Two column layouts, chosen by the layer (`ConvGeometry.flat`, nnx/kernels/geometry.py):
- gathered (0): S = Ho*Wo, one column per output position. Any stride. Row (c, i, j) is
  built from runs of Wo elements, so short rows make im2col and col2im loop-bound (16x14x14
  from 64 samples: 1.4 ms each, 5x the time of writing the same bytes).
- flat (1, stride 1 only): each sample's channels are copied once into zero-padded planes
  of pitch Wp = Wo + (kw-1)*dw, and S = Ho*Wp. Output (oh, ow) then reads the padded plane
  at (oh*Wp + ow) + (i*dh*Wp + j*dw): row (c, i, j) of one sample is a single run of S
  elements, a plain copy. The (kw-1)*dw extra columns per output row read wrapped-around
  input; their outputs are dropped and their gradients are zero, so they cost GEMM work
  (+14% at 14x14, 3x3) but no correctness. im2col 1.4 -> 0.37 ms, col2im 1.4 -> 0.43 ms on
  the same layer (+ 0.08 ms to pad the planes).

The long runs are copied through slices (`dst = row[a:b]`, then `dst[t] = src[t]`): indexed
as `row[a + t]`, numba must allow for a negative index on every store, and the loop does
not vectorize (col2im's run-accumulation took 0.88 ms instead of 0.35).

`g` is a ConvGeometry (nnx/kernels/geometry.py): window, stride, dilation, the top/left
padding, the output size Ho, Wo and the layout.
"""

import numpy as np

from nnx.kernels.activations import activate, activation_grad
from nnx.kernels.codes import LINEAR
from nnx.kernels.jit import kernel


@kernel
def _valid_range(offset, stride, size, count):
    """The outputs o in [lo, hi) of 0..count whose input o*stride + offset lies in [0, size)."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    last = size - 1 - offset
    hi = 0 if last < 0 else min(count, last // stride + 1)
    return lo, max(lo, hi)


@kernel
def im2col(x, first, g, cols):
    """x (N, C, H, W) -> cols (C*kh*kw, m*Ho*Wo) for the m samples from `first` on: row
    (c, i, j) holds x[n, c, ih, iw] for every output position, 0 in the padding."""
    _, channels, height, width = x.shape
    kh, kw, sh, sw = g.kernel_h, g.kernel_w, g.stride_h, g.stride_w
    dh, dw, pt, pl = g.dilation_h, g.dilation_w, g.pad_top, g.pad_left
    ho, wo = g.out_h, g.out_w
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
def col2im(dcols, g, dx):
    """The adjoint of im2col: dx (N, C, H, W) = the sum of dcols (C*kh*kw, N*Ho*Wo) over
    every window position that read each input element (padding positions are dropped)."""
    n_batch, channels, height, width = dx.shape
    kh, kw, sh, sw = g.kernel_h, g.kernel_w, g.stride_h, g.stride_w
    dh, dw, pt, pl = g.dilation_h, g.dilation_w, g.pad_top, g.pad_left
    ho, wo = g.out_h, g.out_w
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
def padded_shape(g):
    """(Hp, Wp): the zero-padded plane of the flat layout (stride 1)."""
    return g.out_h + (g.kernel_h - 1) * g.dilation_h, g.out_w + (g.kernel_w - 1) * g.dilation_w


@kernel
def pitch(g):
    """Columns per output row: Wp in the flat layout, Wo in the gathered one."""
    return padded_shape(g)[1] if g.flat else g.out_w


@kernel
def pad_planes(x, first, count, g, xp):
    """Samples first..first+count of x (N, C, H, W) -> xp, their zero-padded (Hp, Wp)
    planes back to back, then zeros (the slack that the last plane's wrapped-around
    columns read)."""
    _, channels, height, width = x.shape
    pt, pl = g.pad_top, g.pad_left
    hp, wp = padded_shape(g)
    plane = hp * wp
    xp[:] = 0
    for m in range(count):
        for c in range(channels):
            base = (m * channels + c) * plane + pt * wp + pl
            for h in range(height):
                src, dst = x[first + m, c, h], xp[base + h * wp:base + h * wp + width]
                for w in range(width):
                    dst[w] = src[w]


@kernel
def im2col_flat(xp, g, cols):
    """The flat layout's im2col from pad_planes' xp: row (c, i, j) of sample m is the run of
    Ho*Wp elements of plane (m, c) that starts at i*dh*Wp + j*dw."""
    kh, kw, dh, dw = g.kernel_h, g.kernel_w, g.dilation_h, g.dilation_w
    hp, wp = padded_shape(g)
    plane, span = hp * wp, g.out_h * wp
    count = cols.shape[1] // span
    channels = cols.shape[0] // (kh * kw)
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                shift = i * dh * wp + j * dw
                for m in range(count):
                    start = (m * channels + c) * plane + shift
                    src, dst = xp[start:start + span], row[m * span:(m + 1) * span]
                    for t in range(span):
                        dst[t] = src[t]


@kernel
def col2im_flat(dcols, g, dxp, dx):
    """The adjoint of pad_planes + im2col_flat: sums dcols into padded planes (dxp, sized
    like xp) and crops them into dx (N, C, H, W)."""
    n_batch, channels, height, width = dx.shape
    kh, kw, dh, dw = g.kernel_h, g.kernel_w, g.dilation_h, g.dilation_w
    pt, pl = g.pad_top, g.pad_left
    hp, wp = padded_shape(g)
    plane, span = hp * wp, g.out_h * wp
    dxp[:] = 0
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                row = dcols[(c * kh + i) * kw + j]
                shift = i * dh * wp + j * dw
                for n in range(n_batch):
                    start = (n * channels + c) * plane + shift
                    dst, src = dxp[start:start + span], row[n * span:(n + 1) * span]
                    for t in range(span):
                        dst[t] += src[t]
    for n in range(n_batch):
        for c in range(channels):
            base = (n * channels + c) * plane + pt * wp + pl
            for h in range(height):
                dst, src = dx[n, c, h], dxp[base + h * wp:base + h * wp + width]
                for w in range(width):
                    dst[w] = src[w]


@kernel
def _leading(buffer, rows, cols):
    """The first rows*cols elements of a contiguous buffer as a contiguous (rows, cols)."""
    return buffer.reshape(buffer.size)[:rows * cols].reshape(rows, cols)


@kernel
def _output_rows(g):
    """(rows, width, pitch): the output of one filter and sample as `rows` runs of `width`
    values, `pitch` columns apart in zT. The gathered layout has one run per plane."""
    ho, wo = g.out_h, g.out_w
    if g.flat:
        return ho, wo, pitch(g)
    return 1, ho * wo, ho * wo


@kernel
def conv_forward(x, W, b, g, code, scratch, z, y):
    """x (N, C, H, W), W (F, C, kh, kw), b (F,) or empty -> z = conv(x, W) + b and
    y = act(z), both (N, F, Ho, Wo); y may be z, and z may be empty (with no samples) when
    only y is wanted. Element-wise activations only.

    scratch = (xp, cols, zT): cols (C*kh*kw, B*S) and zT (F, B*S) for B samples at a time
    (S columns per sample, by layout): with B = N, cols ends up holding the columns of the
    whole batch (backward needs them); inference passes a smaller B so that a large batch
    does not need a huge cols. xp holds the flat layout's padded planes of B samples (empty
    for the gathered layout)."""
    xp, cols, zT = scratch
    n_batch, filters = y.shape[0], y.shape[1]
    plane = y.shape[2] * y.shape[3]
    rows, width, step = _output_rows(g)
    span = rows * step
    k = cols.shape[0]
    chunk = max(1, cols.shape[1] // span)
    W2 = W.reshape(filters, k)
    keep_z = z.shape[0] > 0
    z3 = z.reshape(z.shape[0], filters, plane)
    y3 = y.reshape(n_batch, filters, plane)
    scratch = np.empty((filters, plane), dtype=y.dtype)  # z of one sample, when not kept
    has_bias = b.shape[0] > 0
    for first in range(0, n_batch, chunk):
        count = min(chunk, n_batch - first)
        part = _leading(cols, k, count * span)
        out = _leading(zT, filters, count * span)
        if g.flat:
            pad_planes(x, first, count, g, xp)
            im2col_flat(xp, g, part)
        else:
            im2col(x, first, g, part)
        np.dot(W2, part, out)
        for m in range(count):
            zn = z3[first + m] if keep_z else scratch
            for f in range(filters):
                bias = b[f] if has_bias else zT.dtype.type(0.0)
                for r in range(rows):
                    src = out[f, m * span + r * step:m * span + r * step + width]
                    dst = zn[f, r * width:(r + 1) * width]
                    for p in range(width):
                        dst[p] = src[p] + bias
            activate(zn, code, y3[first + m])  # on a cache-hot (F, P) block


@kernel
def conv_backward(W, g, code, saved, dy, grads, scratch):
    """Gradients of y = act(conv(x, W) + b) from dy (N, F, Ho, Wo).

    saved = (cols, y, z) of the forward pass; grads = (dW (F, C, kh, kw), db (F,) or empty,
    dx (N, C, H, W) or empty: the first layer of a model needs none); scratch = (dzT (F, N*S),
    dcols (like cols, or empty with dx), dxp (like forward's xp, or empty))."""
    cols, y, z = saved
    dW, db, dx = grads
    dzT, dcols, dxp = scratch
    n_batch, filters = dy.shape[0], dy.shape[1]
    plane = dy.shape[2] * dy.shape[3]
    rows, width, step = _output_rows(g)
    span = rows * step
    k = cols.shape[0]
    y3 = y.reshape(n_batch, filters, plane)
    z3 = z.reshape(n_batch, filters, plane)
    dy3 = dy.reshape(n_batch, filters, plane)
    has_bias = db.shape[0] > 0
    if has_bias:
        db[:] = 0
    zero = dzT.dtype.type(0.0)
    scratch = np.empty((filters, plane), dtype=dy.dtype)  # contiguous: the pass vectorizes
    for n in range(n_batch):
        if code == LINEAR:
            dzn = dy3[n]
        else:
            activation_grad(dy3[n], y3[n], z3[n], code, scratch)
            dzn = scratch
        for f in range(filters):
            total = zero
            for r in range(rows):
                dst = dzT[f, n * span + r * step:n * span + (r + 1) * step]
                src = dzn[f, r * width:(r + 1) * width]
                for p in range(width):
                    dst[p] = src[p]
                    total += src[p]
                for p in range(width, step):  # the flat layout's dropped columns
                    dst[p] = zero
            if has_bias:
                db[f] += total
    # dW.T = cols @ dzT.T: BLAS runs this orientation 10-25% faster than dzT @ cols.T
    # (0.73 vs 1.00 ms for the 144 x 14336 columns of a 16->32 3x3 layer on 64 14x14 images).
    dWT = np.empty((k, filters), dtype=dW.dtype)
    np.dot(cols, dzT.T, dWT)
    dW.reshape(filters, k)[:] = dWT.T
    if dx.shape[0] > 0:
        np.dot(W.reshape(filters, k).T, dzT, dcols)
        if g.flat:
            col2im_flat(dcols, g, dxp, dx)
        else:
            col2im(dcols, g, dx)

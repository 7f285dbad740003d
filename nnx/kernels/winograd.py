"""3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3), channels first.

Each 2x2 block of outputs (a tile) comes from the 4x4 input patch d under it as

    Y = A^T [U * V] A,   U = G g G^T (the 3x3 filter g),   V = B^T d B

with * the element-wise product of 4x4 matrices: 16 multiply-adds per tile and input channel
where a direct 3x3 convolution takes 36 (Lavin and Gray, "Fast Algorithms for Convolutional
Neural Networks", 2016). Summed over the input channels, each of the 16 positions xi of the
4x4 product is one matrix product over tiles:

    M[xi] (F, P) = U[xi] (F, C) @ V[xi] (C, P)          (P tiles)

Backward is the adjoint of every step: dM = A dY A^T per tile; dU[xi] = dM[xi] V[xi]^T and
dW = G^T dU G; dV[xi] = U[xi]^T dM[xi] and dx gets B dV B^T of every patch (neighbouring
patches overlap by two rows or columns, so their gradients add).

Why: on a 32 -> 64 channel layer of 16x16 images (batch 64), im2col + GEMM spent 13.7 ms in
forward and 20 ms in backward (single thread); the products here are 2.25x smaller, and the
tiles are taken a few samples at a time (`chunk`: about 256 tiles), so that each product runs
in cache at BLAS's small-matrix speed and no column matrix is written (V is 16/9 of the
input, against im2col's 9x). The transforms are a handful of additions per value. The
numbers are the convolution's up to float rounding (the transforms' constants are 1 and 0.5).

Layouts: U (16, F, C); V (16, C, P) with tile p = (sample, tile row, tile column); the outputs
M and the gradients dM (16, F, Pc), dV (16, C, Pc) are per chunk of Pc tiles. The output size
may be odd: the last tile row or column then covers one output, and the other is dropped.
`g` is the layer's ConvGeometry (its window is 3x3, stride and dilation 1).
"""

import numpy as np

from nnx.kernels.activations import activate, activation_grad
from nnx.kernels.blas import gemm
from nnx.kernels.jit import kernel


@kernel
def tiles(g):
    """(tile rows, tile columns) that cover the (Ho, Wo) output."""
    return (g.out_h + 1) // 2, (g.out_w + 1) // 2


@kernel
def filter_transform(W, U):
    """U (16, F, C) = G g G^T for every 3x3 filter g = W[f, c] of W (F, C, 3, 3)."""
    half = W.dtype.type(0.5)
    for f in range(W.shape[0]):
        for c in range(W.shape[1]):
            g = W[f, c]
            t = np.empty((4, 3), W.dtype)  # G g
            for j in range(3):
                t[0, j] = g[0, j]
                t[1, j] = half * (g[0, j] + g[1, j] + g[2, j])
                t[2, j] = half * (g[0, j] - g[1, j] + g[2, j])
                t[3, j] = g[2, j]
            for a in range(4):
                U[4 * a, f, c] = t[a, 0]
                U[4 * a + 1, f, c] = half * (t[a, 0] + t[a, 1] + t[a, 2])
                U[4 * a + 2, f, c] = half * (t[a, 0] - t[a, 1] + t[a, 2])
                U[4 * a + 3, f, c] = t[a, 2]


@kernel
def filter_gradient(dU, dW):
    """dW (F, C, 3, 3) = G^T dU G, the adjoint of filter_transform."""
    half = dW.dtype.type(0.5)
    for f in range(dW.shape[0]):
        for c in range(dW.shape[1]):
            t = np.empty((4, 3), dW.dtype)  # dU G, row by row
            for a in range(4):
                u0, u1, u2, u3 = dU[4 * a, f, c], dU[4 * a + 1, f, c], dU[4 * a + 2, f, c], \
                    dU[4 * a + 3, f, c]
                t[a, 0] = u0 + half * (u1 + u2)
                t[a, 1] = half * (u1 - u2)
                t[a, 2] = half * (u1 + u2) + u3
            for j in range(3):
                dW[f, c, 0, j] = t[0, j] + half * (t[1, j] + t[2, j])
                dW[f, c, 1, j] = half * (t[1, j] - t[2, j])
                dW[f, c, 2, j] = half * (t[1, j] + t[2, j]) + t[3, j]


@kernel
def input_transform(x, first, count, g, V, p0):
    """V[:, c, p0 + p] = B^T d B for the 4x4 patch d of every tile p of samples
    first..first+count-1 of x (N, C, H, W); rows and columns outside the input read 0."""
    _, channels, height, width = x.shape
    th, tw = tiles(g)
    pt, pl = g.pad_top, g.pad_left
    wb = 2 * tw + 2
    rows = np.zeros((4, wb), x.dtype)  # the 4 input rows under a tile row, zero-padded
    combos = np.empty((4, wb), x.dtype)  # B^T applied down the 4 rows
    lo, hi = max(0, -pl), min(width, wb - pl)  # the input columns that land in a row buffer
    for m in range(count):
        for c in range(channels):
            plane = x[first + m, c]
            for ty in range(th):
                for k in range(4):
                    h = 2 * ty - pt + k
                    row = rows[k]
                    if 0 <= h < height:
                        dst, src = row[lo + pl:hi + pl], plane[h, lo:hi]
                        for u in range(dst.shape[0]):
                            dst[u] = src[u]
                    else:
                        row[:] = 0
                r0, r1, r2, r3 = rows[0], rows[1], rows[2], rows[3]
                e0, e1, e2, e3 = combos[0], combos[1], combos[2], combos[3]
                for u in range(wb):
                    e0[u] = r0[u] - r2[u]
                    e1[u] = r1[u] + r2[u]
                    e2[u] = r2[u] - r1[u]
                    e3[u] = r1[u] - r3[u]
                p = p0 + (m * th + ty) * tw
                for k in range(4):
                    e = combos[k]
                    v0, v1 = V[4 * k, c, p:p + tw], V[4 * k + 1, c, p:p + tw]
                    v2, v3 = V[4 * k + 2, c, p:p + tw], V[4 * k + 3, c, p:p + tw]
                    for t in range(tw):
                        a0, a1, a2, a3 = e[2 * t], e[2 * t + 1], e[2 * t + 2], e[2 * t + 3]
                        v0[t] = a0 - a2
                        v1[t] = a1 + a2
                        v2[t] = a2 - a1
                        v3[t] = a1 - a3


@kernel
def output_transform(M, count, g, b, z):
    """z[m] (F, Ho, Wo) = A^T M A + b for the tiles of the chunk's first `count` samples
    (M (16, F, Pc)).

    Like output_gradient, a plane at a time in long loops over its run of tiles: A^T down
    each column of M (P: the top and bottom output rows' sums), then across, into the even
    and odd output rows (E, O), which are copied into z, an odd last row or column dropped."""
    th, tw = tiles(g)
    ho, wo = g.out_h, g.out_w
    filters = M.shape[1]
    per_sample, width = th * tw, 2 * tw
    has_bias = b.shape[0] > 0
    P = np.empty((8, per_sample), M.dtype)
    E = np.empty((th, width), M.dtype)
    O = np.empty((th, width), M.dtype)
    even, odd = E.reshape(th * width), O.reshape(th * width)
    for m in range(count):
        p = m * per_sample
        for f in range(filters):
            bias = b[f] if has_bias else M.dtype.type(0.0)
            for j in range(4):
                m0, m1 = M[j, f, p:p + per_sample], M[4 + j, f, p:p + per_sample]
                m2, m3 = M[8 + j, f, p:p + per_sample], M[12 + j, f, p:p + per_sample]
                top, bottom = P[j], P[4 + j]
                for q in range(per_sample):
                    top[q] = m0[q] + m1[q] + m2[q]
                    bottom[q] = m1[q] - m2[q] - m3[q]
            t0, t1, t2, t3 = P[0], P[1], P[2], P[3]
            b0, b1, b2, b3 = P[4], P[5], P[6], P[7]
            for q in range(per_sample):
                even[2 * q] = t0[q] + t1[q] + t2[q] + bias
                even[2 * q + 1] = t1[q] - t2[q] - t3[q] + bias
                odd[2 * q] = b0[q] + b1[q] + b2[q] + bias
                odd[2 * q + 1] = b1[q] - b2[q] - b3[q] + bias
            out = z[m, f]
            for h in range(ho):
                dst, src = out[h], (E if h % 2 == 0 else O)[h // 2]
                for w in range(wo):
                    dst[w] = src[w]


@kernel
def output_gradient(dz, first, count, g, dM):
    """dM (16, F, Pc) = A dY A^T for every tile of samples first.. of dz (N, F, Ho, Wo)
    (outputs past an odd edge count as 0).

    A plane at a time, in two passes of long loops: the row combinations of A (top, sum,
    difference, -bottom of each tile's two rows) into R (4, th * 2tw), then the same
    combinations of each R's column pairs straight into the plane's run of tiles in dM.
    Tile row by tile row instead (loops of tw, a slice per row and combination), the pass
    took 3-4x as long."""
    th, tw = tiles(g)
    ho, wo = g.out_h, g.out_w
    filters = dM.shape[1]
    per_sample, width = th * tw, 2 * tw
    padded = np.zeros((2 * th, width), dz.dtype)  # the plane; odd edges stay 0
    R = np.empty((4, th * width), dz.dtype)
    r0, r1, r2, r3 = R[0], R[1], R[2], R[3]
    for m in range(count):
        for f in range(filters):
            plane = dz[first + m, f]
            for h in range(ho):
                dst, src = padded[h], plane[h]
                for w in range(wo):
                    dst[w] = src[w]
            for ty in range(th):
                top, bottom = padded[2 * ty], padded[2 * ty + 1]
                base = ty * width
                for u in range(width):
                    a, b = top[u], bottom[u]
                    r0[base + u] = a
                    r1[base + u] = a + b
                    r2[base + u] = a - b
                    r3[base + u] = -b
            p = m * per_sample
            for i in range(4):
                r = R[i]
                o0, o1 = dM[4 * i, f, p:p + per_sample], dM[4 * i + 1, f, p:p + per_sample]
                o2, o3 = dM[4 * i + 2, f, p:p + per_sample], dM[4 * i + 3, f, p:p + per_sample]
                for q in range(per_sample):
                    e, o = r[2 * q], r[2 * q + 1]
                    o0[q] = e
                    o1[q] = e + o
                    o2[q] = e - o
                    o3[q] = -o


@kernel
def input_gradient(dV, first, count, g, dx):
    """dx[first + m] (C, H, W) = the sum of B dV B^T over the patches of the chunk's tiles
    (dV (16, C, Pc)); the parts that fall on the padding are dropped."""
    _, channels, height, width = dx.shape
    th, tw = tiles(g)
    pt, pl = g.pad_top, g.pad_left
    hb, wb = 2 * th + 2, 2 * tw + 2
    acc = np.empty((hb, wb), dx.dtype)  # one padded plane
    w = np.empty((4, 4, tw), dx.dtype)  # dV B^T: [row combo k, column s, tile]
    for m in range(count):
        for c in range(channels):
            acc[:, :] = 0
            for ty in range(th):
                p = (m * th + ty) * tw
                for k in range(4):
                    d0, d1 = dV[4 * k, c, p:p + tw], dV[4 * k + 1, c, p:p + tw]
                    d2, d3 = dV[4 * k + 2, c, p:p + tw], dV[4 * k + 3, c, p:p + tw]
                    w0, w1, w2, w3 = w[k, 0], w[k, 1], w[k, 2], w[k, 3]
                    for t in range(tw):
                        w0[t] = d0[t]
                        w1[t] = d1[t] - d2[t] + d3[t]
                        w2[t] = d1[t] + d2[t] - d0[t]
                        w3[t] = -d3[t]
                for s in range(4):
                    a, b, c2, d = w[0, s], w[1, s], w[2, s], w[3, s]
                    # rows 2ty..2ty+3 of the patch: B applied down the row combos
                    r0, r1 = acc[2 * ty, s:s + 2 * tw:2], acc[2 * ty + 1, s:s + 2 * tw:2]
                    r2, r3 = acc[2 * ty + 2, s:s + 2 * tw:2], acc[2 * ty + 3, s:s + 2 * tw:2]
                    for t in range(tw):
                        r0[t] += a[t]
                        r1[t] += b[t] - c2[t] + d[t]
                        r2[t] += b[t] + c2[t] - a[t]
                        r3[t] -= d[t]
            out = dx[first + m, c]
            for h in range(height):
                src, dst = acc[h + pt, pl:pl + width], out[h]
                for u in range(width):
                    dst[u] = src[u]


@kernel
def _products(U, V, v_start, Mc, tiles_in_chunk):
    """Mc[xi][:, :Pc] (F, Pc) = U[xi] (F, C) @ V[xi][:, v_start:v_start + Pc] for the 16 xi."""
    xi_count, filters, channels = U.shape
    v_pitch, m_pitch = V.shape[2], Mc.shape[2]
    flat_u, flat_v, flat_m = U.reshape(U.size), V.reshape(V.size), Mc.reshape(Mc.size)
    for xi in range(xi_count):
        gemm(flat_u, (xi * filters * channels, channels, False), flat_v,
             (xi * channels * v_pitch + v_start, v_pitch, False), flat_m,
             (xi * filters * m_pitch, m_pitch, False), (filters, tiles_in_chunk, channels),
             1.0, 0.0)


@kernel
def _chunking(g, out, chunk_tiles):
    """(filters, Ho*Wo, tiles per sample, samples per chunk) for outputs `out` (N, F, Ho, Wo)
    and chunk buffers of `chunk_tiles` tiles."""
    th, tw = tiles(g)
    return out.shape[1], out.shape[2] * out.shape[3], th * tw, chunk_tiles // (th * tw)


@kernel
def winograd_forward(x, U, b, g, code, work, z, y, first, stop):
    """Samples first..stop-1 of x (N, C, H, W) -> z = conv(x, W) + b and y = act(z), both
    (N, F, Ho, Wo), with U (16, F, C) = filter_transform(W) and b (F,) or empty; y may be
    z, and z may be empty (with no samples) when only y is wanted. Element-wise activations.

    work = (V, Mc (16, F, Pc)), Pc the tiles of a chunk of samples: V (16, C, N * tiles)
    keeps every tile of the batch for backward (training), or V (16, C, Pc) holds one
    chunk's (inference)."""
    V, Mc = work
    filters, plane, per_sample, chunk = _chunking(g, y, Mc.shape[2])
    keep_all = V.shape[2] == y.shape[0] * per_sample
    keep_z = z.shape[0] > 0
    scratch = np.empty((chunk, filters, y.shape[2], y.shape[3]), y.dtype)  # z, when not kept
    for start in range(first, stop, chunk):
        count = min(chunk, stop - start)
        v_start = start * per_sample if keep_all else 0
        input_transform(x, start, count, g, V, v_start)
        _products(U, V, v_start, Mc, count * per_sample)
        target = z[start:start + count] if keep_z else scratch[:count]
        output_transform(Mc, count, g, b, target)
        for m in range(count):
            activate(target[m].reshape(filters, plane), code,
                     y[start + m].reshape(filters, plane))


@kernel
def winograd_backward(g, code, saved, dy, grads, scratch, first, stop):
    """Gradients of y = act(z), z = conv(x, W) + b (winograd_forward) from the samples
    first..stop-1 of dy (N, F, Ho, Wo): their share of dU and db, and their rows of dx.

    saved = (U, V, y, z) of the forward (V with the tiles of the whole batch; z may be y
    for every activation but gelu); grads = (dU (16, F, C): filter_gradient makes dW of
    the sum over the parts, db (F,) or empty, dx (N, C, H, W) or empty: the first layer of
    a model needs none); scratch = (dM (16, F, Pc), dV (16, C, Pc) or empty with dx)."""
    U, V, y, z = saved
    dU, db, dx = grads
    dM, dV = scratch
    filters, plane, per_sample, chunk = _chunking(g, dy, dM.shape[2])
    channels = U.shape[2]
    tiles_all, m_pitch = V.shape[2], dM.shape[2]
    flat_u, flat_v = U.reshape(U.size), V.reshape(V.size)
    flat_dm, flat_du = dM.reshape(dM.size), dU.reshape(dU.size)
    has_bias = db.shape[0] > 0
    if has_bias:
        db[:] = 0
    dz = np.empty((chunk, filters, dy.shape[2], dy.shape[3]), dy.dtype)
    for start in range(first, stop, chunk):
        count = min(chunk, stop - start)
        pc = count * per_sample
        for m in range(count):
            d = dz[m].reshape(filters, plane)
            activation_grad(dy[start + m].reshape(filters, plane),
                            y[start + m].reshape(filters, plane),
                            z[start + m].reshape(filters, plane), code, d)
            if has_bias:
                for f in range(filters):
                    row = d[f]
                    total = row.dtype.type(0.0)
                    for q in range(plane):
                        total += row[q]
                    db[f] += total
        output_gradient(dz, 0, count, g, dM)
        for xi in range(16):  # dU[xi] += dM[xi] V[xi]^T over this chunk's tiles
            gemm(flat_dm, (xi * filters * m_pitch, m_pitch, False), flat_v,
                 (xi * channels * tiles_all + start * per_sample, tiles_all, True), flat_du,
                 (xi * filters * channels, channels, False), (filters, channels, pc), 1.0,
                 0.0 if start == first else 1.0)
        if dx.shape[0] > 0:
            flat_dv = dV.reshape(dV.size)
            for xi in range(16):  # dV[xi] = U[xi]^T dM[xi]
                gemm(flat_u, (xi * filters * channels, channels, True), flat_dm,
                     (xi * filters * m_pitch, m_pitch, False), flat_dv,
                     (xi * channels * m_pitch, m_pitch, False), (channels, pc, filters), 1.0,
                     0.0)
            input_gradient(dV, start, count, g, dx)

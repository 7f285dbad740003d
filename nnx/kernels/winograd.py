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
tiles are taken a few samples at a time (`chunk`: 100-256 tiles), so that each product runs
in cache at BLAS's small-matrix speed and no column matrix is written (V is 16/9 of the
input, against im2col's 9x). Training keeps the tiles of a small batch for backward; a large
batch's are transformed again there (nnx/layers/conv.py, KEPT_ELEMENTS): written out whole,
they left the caches and made forward 1.5x slower. The transforms are a handful of additions
per value. The numbers are the convolution's up to float rounding (the transforms' constants
are 1 and 0.5).

Layouts: U (16, F, C); V (16, C, P) with tile p = (sample, tile row, tile column); the outputs
M and the gradients dM (16, F, Pc), dV (16, C, Pc) are per chunk of Pc tiles. The output size
may be odd: the last tile row or column then covers one output, and the other is dropped.
`g` is the layer's ConvGeometry (its window is 3x3, stride and dilation 1).

Runs are written through slices (`dst = L[k, base:base + pitch]`, then `dst[u]`), as in
nnx/kernels/columns.py: indexed as `L[k, base + u]` the stores did not vectorize (the output
gradient took 1.4x as long).
"""

import numpy as np

from nnx.kernels.activations import activate, activation_grad
from nnx.kernels.blas import gemm
from nnx.kernels.conv import add_row_sums
from nnx.kernels.jit import kernel
from nnx.kernels.threads import mark_start


@kernel
def tiles(g):
    """(tile rows, tile columns) that cover the (Ho, Wo) output."""
    return (g.out_h + 1) // 2, (g.out_w + 1) // 2


@kernel
def filter_transform(W, U):
    """U (16, F, C) = G g G^T for every 3x3 filter g = W[f, c] of W (F, C, 3, 3)."""
    half = W.dtype.type(0.5)
    t = np.empty((4, 3), W.dtype)  # G g (one allocation per filter took 9/10 of the time)
    for f in range(W.shape[0]):
        for c in range(W.shape[1]):
            g = W[f, c]
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
    t = np.empty((4, 3), dW.dtype)  # dU G, row by row
    for f in range(dW.shape[0]):
        for c in range(dW.shape[1]):
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
    first..first+count-1 of x (N, C, H, W); rows and columns outside the input read 0.

    A plane at a time, in long loops over the whole plane: the plane is copied into a
    zero-padded one stored as its even and its odd rows of pitch 2tw, twice: from padded
    column 0 (lo) and from column 2 (hi), so that a tile's four columns are lo[2t], lo[2t + 1],
    hi[2t] and hi[2t + 1]. B^T's combinations of every tile row's four input rows (even[i],
    odd[i], even[i + pitch], odd[i + pitch]) run over each copy into L, then B's across
    each tile's columns straight into the plane's run of tiles in V. With one padded copy,
    its second pass a loop of tw per tile row, it took 2.4x as long (32 samples of 16
    channels, 14x14: 417 against 172 us; 8 of 32 channels, 16x16: 213 against 100)."""
    _, channels, height, width = x.shape
    th, tw = tiles(g)
    pt, pl = g.pad_top, g.pad_left
    per_sample, pitch = th * tw, 2 * tw
    size = th * pitch
    rows = np.zeros((4, size + pitch), x.dtype)  # lo even, lo odd, hi even, hi odd
    L = np.empty((8, size), x.dtype)
    bottom, right = min(height, 2 * th + 2 - pt), min(width, pitch + 2 - pl)
    for m in range(count):
        for c in range(channels):
            plane = x[first + m, c]
            for h in range(max(0, -pt), bottom):
                at, parity, src = (h + pt) // 2 * pitch, (h + pt) % 2, plane[h]
                for shift in (0, 2):  # lo, then hi: rows shift + parity, from column shift
                    start, stop = max(0, shift - pl), min(right, pitch + shift - pl)
                    dst = rows[shift + parity, at + start + pl - shift:at + stop + pl - shift]
                    for u in range(stop - start):
                        dst[u] = src[start + u]
            for s in range(2):
                even, odd = rows[2 * s], rows[2 * s + 1]
                below_even, below_odd = even[pitch:], odd[pitch:]
                l0, l1, l2, l3 = L[4 * s], L[4 * s + 1], L[4 * s + 2], L[4 * s + 3]
                for i in range(size):
                    r0, r1, r2, r3 = even[i], odd[i], below_even[i], below_odd[i]
                    l0[i] = r0 - r2
                    l1[i] = r1 + r2
                    l2[i] = r2 - r1
                    l3[i] = r1 - r3
            q0 = p0 + m * per_sample
            for k in range(4):
                lo, hi = L[k], L[4 + k]
                v0, v1 = V[4 * k, c, q0:q0 + per_sample], V[4 * k + 1, c, q0:q0 + per_sample]
                v2, v3 = V[4 * k + 2, c, q0:q0 + per_sample], V[4 * k + 3, c, q0:q0 + per_sample]
                for q in range(per_sample):
                    a0, a1, a2, a3 = lo[2 * q], lo[2 * q + 1], hi[2 * q], hi[2 * q + 1]
                    v0[q] = a0 - a2
                    v1[q] = a1 + a2
                    v2[q] = a2 - a1
                    v3[q] = a1 - a3


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
    difference, -bottom of each tile's two rows) into R (4, th * 2tw), one loop over the
    plane kept as its even and its odd rows, then the same combinations of each R's column
    pairs straight into the plane's run of tiles in dM. Tile row by tile row instead (loops
    of 2tw, a slice per row and combination), the first pass took 3-4x as long."""
    th, tw = tiles(g)
    ho, wo = g.out_h, g.out_w
    filters = dM.shape[1]
    per_sample, width = th * tw, 2 * tw
    size = th * width
    rows = np.zeros((2, size), dz.dtype)  # the plane's even and odd rows; odd edges stay 0
    top, bottom = rows[0], rows[1]
    R = np.empty((4, size), dz.dtype)
    r0, r1, r2, r3 = R[0], R[1], R[2], R[3]
    for m in range(count):
        for f in range(filters):
            plane = dz[first + m, f]
            for h in range(ho):
                at = h // 2 * width
                dst, src = rows[h % 2, at:at + wo], plane[h]
                for w in range(wo):
                    dst[w] = src[w]
            for u in range(size):
                a, b = top[u], bottom[u]
                r0[u] = a
                r1[u] = a + b
                r2[u] = a - b
                r3[u] = -b
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
    (dV (16, C, Pc)); the parts that fall on the padding are dropped.

    The adjoint of input_transform's arithmetic, on one padded plane of pitch 2tw + 2: B
    across each tile's columns from the plane's run of tiles in dV into L and R (patch
    columns 2t, 2t+1 and 2t+2, 2t+3), their sum per tile row into S, then B down the rows
    in long loops over the plane, into its even and odd rows, cropped into dx. (Kept as two
    copies like input_transform's, it ran 20-30% faster alone and no faster in a backward.)"""
    _, channels, height, width = dx.shape
    th, tw = tiles(g)
    pt, pl = g.pad_top, g.pad_left
    per_sample, pitch = th * tw, 2 * tw
    wide = pitch + 2
    size = th * wide
    L = np.empty((4, th * pitch), dx.dtype)
    R = np.empty((4, th * pitch), dx.dtype)
    S = np.empty((4, size), dx.dtype)
    s0, s1, s2, s3 = S[0], S[1], S[2], S[3]
    rows = np.empty((2, size + wide), dx.dtype)  # the padded plane's even and odd rows
    even, odd = rows[0], rows[1]
    below_even, below_odd = even[wide:], odd[wide:]
    for m in range(count):
        p = m * per_sample
        for c in range(channels):
            for k in range(4):
                lo, hi = L[k], R[k]
                d0, d1 = dV[4 * k, c, p:p + per_sample], dV[4 * k + 1, c, p:p + per_sample]
                d2, d3 = dV[4 * k + 2, c, p:p + per_sample], dV[4 * k + 3, c, p:p + per_sample]
                for q in range(per_sample):
                    lo[2 * q] = d0[q]
                    lo[2 * q + 1] = d1[q] - d2[q] + d3[q]
                    hi[2 * q] = d1[q] + d2[q] - d0[q]
                    hi[2 * q + 1] = -d3[q]
                for ty in range(th):
                    w = S[k, ty * wide:(ty + 1) * wide]
                    lo, hi = L[k, ty * pitch:(ty + 1) * pitch], R[k, ty * pitch:(ty + 1) * pitch]
                    w[0], w[1] = lo[0], lo[1]
                    for u in range(2, pitch):
                        w[u] = lo[u] + hi[u - 2]
                    w[pitch], w[pitch + 1] = hi[pitch - 2], hi[pitch - 1]
            for i in range(size):
                even[i] = s0[i]
                odd[i] = s1[i] - s2[i] + s3[i]
            even[size:] = 0
            odd[size:] = 0
            for i in range(size):
                below_even[i] += s1[i] + s2[i] - s0[i]
                below_odd[i] -= s3[i]
            out = dx[first + m, c]
            for h in range(height):
                at = (h + pt) // 2 * wide + pl
                src, dst = rows[(h + pt) % 2, at:at + width], out[h]
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
def winograd_forward(x, U, b, g, code, work, z, y, first, stop, mark):
    """Samples first..stop-1 of x (N, C, H, W) -> z = conv(x, W) + b and y = act(z), both
    (N, F, Ho, Wo), with U (16, F, C) = filter_transform(W) and b (F,) or empty; y may be
    z, and z may be empty (with no samples) when only y is wanted. Element-wise activations.

    work = (V, Mc (16, F, Pc)), Pc the tiles of a chunk of samples: V (16, C, N * tiles)
    keeps every tile of the batch for backward (training), or V (16, C, Pc) holds one
    chunk's (inference)."""
    mark_start(mark)
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
def winograd_backward(g, code, saved, dy, grads, scratch, first, stop, mark):
    """Gradients of y = act(z), z = conv(x, W) + b (winograd_forward) from the samples
    first..stop-1 of dy (N, F, Ho, Wo): their share of dU and db, and their rows of dx.

    saved = (x, U, V, y, z) of the forward (z may be y for every activation but gelu): V
    holds the tiles of the whole batch, x empty, or V (16, C, Pc) takes each chunk's tiles
    transformed again from x (N, C, H, W); grads = (dU (16, F, C): filter_gradient makes dW
    of the sum over the parts, db (F,) or empty, dx (N, C, H, W) or empty: the first layer
    of a model needs none); scratch = (dM (16, F, Pc), dV (16, C, Pc) or empty with dx)."""
    mark_start(mark)
    x, U, V, y, z = saved
    dU, db, dx = grads
    dM, dV = scratch
    filters, plane, per_sample, chunk = _chunking(g, dy, dM.shape[2])
    channels = U.shape[2]
    tiles_all, m_pitch = V.shape[2], dM.shape[2]
    again = x.shape[0] > 0
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
                add_row_sums(d, db)
        output_gradient(dz, 0, count, g, dM)
        v_start = 0 if again else start * per_sample
        if again:
            input_transform(x, start, count, g, V, 0)
        for xi in range(16):  # dU[xi] += dM[xi] V[xi]^T over this chunk's tiles
            gemm(flat_dm, (xi * filters * m_pitch, m_pitch, False), flat_v,
                 (xi * channels * tiles_all + v_start, tiles_all, True), flat_du,
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

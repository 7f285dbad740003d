"""Convolution kernels, channels first, by im2col + one BLAS GEMM per pass and chunk.

Why im2col + GEMM: a convolution's time goes into three products (forward, dW, dx).
Gathered into a column matrix, each is a GEMM that BLAS (numba's np.dot, with SciPy
installed) runs near peak. Direct loops measured 5-12x slower even on the small 1-D
reference layers (100 x 32 x 18, k=3: 1.7-2.0 ms direct vs 0.16 ms). No prange: a prange
im2col was 2.5x faster alone but many times slower whenever another thread pool (BLAS
spinning, PyTorch, a second job) competed for the cores, and each parallel kernel adds
~0.45 s to load from the cache (docs/architecture.md, numba).

Chunks: the samples go B at a time (the layer picks B). A small layer takes the whole batch
in one GEMM, which OpenBLAS may spread over its own threads; a large one takes chunks whose
GEMMs stay below 10^6 multiply-adds, which OpenBLAS runs on the calling thread, with parts
of the batch on Python threads (nnx/kernels/threads.py): each chunk's gather, product and
pass run in cache, and no OpenBLAS thread spins against the other parts of a model.

Layout: cols (blocks, K, B*S) with K = C*kh*kw and S columns per sample, so per chunk
    forward  zT (F, B*S) = W (F, K) @ cols[chunk]
    backward dW (F, K)  += dzT @ cols[chunk].T,   dcols (K, B*S) = W.T @ dzT -> col2im -> dx.
Training keeps a block per chunk for backward where the batch's columns are few; otherwise
backward makes each chunk's columns again from x in one block (nnx/layers/conv.py,
KEPT_ELEMENTS).
The transposes between (F, B*S) and the channels-first (N, F, Ho, Wo) add the bias on the
way (forward) and leave rows whose sums are the bias gradient (backward); the activation
and its gradient run over a chunk's block at once, while it is in cache. 1-D convolutions
run through the same kernels with height 1.

The column matrices of both layouts (gathered, any stride; flat, stride 1) are made and
summed back by nnx/kernels/columns.py.

`g` is a ConvGeometry (nnx/kernels/geometry.py): window, stride, dilation, the top/left
padding, the output size Ho, Wo and the layout.
"""


import numpy as np

from nnx.kernels.activations import activate, activation_grad
from nnx.kernels.blas import gemm
from nnx.kernels.codes import LINEAR
from nnx.kernels.columns import from_columns, pitch, to_columns
from nnx.kernels.jit import kernel, reassociating_kernel
from nnx.kernels.threads import mark_start


@reassociating_kernel
def add_row_sums(a, out):
    """out (n,) += the sums of the rows of a (n, m): a bias gradient from dL/dz. In any order
    (reassoc), so that the sums vectorize: in order, a float32 sum runs one addition at a
    time (32 filters of 14x14, 32 samples: 0.1 ms of a 1.24 ms Winograd backward)."""
    for i in range(a.shape[0]):
        row, total = a[i], a.dtype.type(0.0)
        for j in range(a.shape[1]):
            total += row[j]
        out[i] += total


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
def conv_forward(x, W, b, g, code, scratch, z, y, first, stop, mark):
    """Samples first..stop-1 of x (N, C, H, W), W (F, C, kh, kw), b (F,) or empty ->
    z = conv(x, W) + b and y = act(z), both (N, F, Ho, Wo); y may be z, and z may be empty
    (with no samples) when only y is wanted. Element-wise activations only.

    The samples go B at a time (a chunk; `first` is a multiple of B), each chunk through
    one GEMM. scratch = (xp, cols, zT): cols (blocks, C*kh*kw, B*S) and zT (F, B*S), S
    columns per sample by layout. With a block per chunk of the whole batch, block
    first // B + i holds the i-th chunk's columns (backward reads them); with one block,
    every chunk reuses it (inference). xp holds the flat layout's padded planes of B
    samples (empty for the gathered layout)."""
    mark_start(mark)
    xp, cols, zT = scratch
    filters = y.shape[1]
    plane = y.shape[2] * y.shape[3]
    rows, width, step = _output_rows(g)
    span = rows * step
    k = cols.shape[1]
    chunk = max(1, cols.shape[2] // span)
    keep_all = cols.shape[0] > 1
    W2 = W.reshape(filters, k)
    keep_z = z.shape[0] > 0
    # z + b goes to z where it is kept, else straight to y, which act then overwrites
    target = z.reshape(z.shape[0], filters, plane) if keep_z else y.reshape(
        y.shape[0], filters, plane)
    has_bias = b.shape[0] > 0
    for start in range(first, stop, chunk):
        count = min(chunk, stop - start)
        part = _leading(cols[start // chunk if keep_all else 0], k, count * span)
        out = _leading(zT, filters, count * span)
        to_columns(x, start, count, g, xp, part)
        np.dot(W2, part, out)
        for f in range(filters):
            bias, row = b[f] if has_bias else zT.dtype.type(0.0), out[f]
            for m in range(count):
                dst = target[start + m, f]
                for r in range(rows):
                    src = row[m * span + r * step:]
                    for p in range(width):
                        dst[r * width + p] = src[p] + bias
        # over the chunk at once, so that the loop runs long, on cache-hot z; a no-op for
        # a linear layer that wrote y
        block = (1, count * filters * plane)
        activate(target[start:start + count].reshape(block), code,
                 y[start:start + count].reshape(block))


@kernel
def conv_backward(W, g, code, saved, dy, grads, scratch, first, stop, mark):
    """Gradients of y = act(conv(x, W) + b) from the samples first..stop-1 of dy
    (N, F, Ho, Wo), chunk by chunk as conv_forward made them: their share of dW and db,
    and their rows of dx.

    saved = (x, cols, y, z) of the forward pass: cols with a block per chunk, x empty, or
    one block that takes each chunk's columns made again from x (N, C, H, W); grads = (dWT
    (C*kh*kw, F): the share of dW transposed, db (F,) or empty, dx (N, C, H, W) or empty:
    the first layer of a model needs none); scratch = (dzT (F, B*S), dcols (C*kh*kw, B*S),
    or empty with dx, dxp and xp (like forward's xp, or empty: without dx, with x empty))."""
    mark_start(mark)
    x, cols, y, z = saved
    dWT, db, dx = grads
    dzT, dcols, dxp, xp = scratch
    filters = dy.shape[1]
    plane = dy.shape[2] * dy.shape[3]
    rows, width, step = _output_rows(g)
    span = rows * step
    k = cols.shape[1]
    chunk = max(1, cols.shape[2] // span)
    has_bias, again = db.shape[0] > 0, x.shape[0] > 0
    if has_bias:
        db[:] = 0
    zero = dzT.dtype.type(0.0)
    # dL/dz of a chunk, contiguous: the activation gradient runs as one long loop
    dz = dy.reshape(dy.shape[0], filters, plane) if code == LINEAR else np.empty(
        (chunk, filters, plane), dtype=dy.dtype)
    flat_dwt = dWT.reshape(dWT.size)
    for start in range(first, stop, chunk):
        count = min(chunk, stop - start)
        part = _leading(cols[0 if again else start // chunk], k, count * span)
        if again:
            to_columns(x, start, count, g, xp, part)
        dzc = _leading(dzT, filters, count * span)
        if code == LINEAR:
            dz_chunk = dz[start:start + count]  # dy itself
        else:
            dz_chunk, block = dz[:count], (1, count * filters * plane)
            activation_grad(dy[start:start + count].reshape(block),
                            y[start:start + count].reshape(block),
                            z[start:start + count].reshape(block), code,
                            dz_chunk.reshape(block))
        for f in range(filters):
            row = dzc[f]
            for m in range(count):
                src = dz_chunk[m, f]
                for r in range(rows):
                    dst = row[m * span + r * step:m * span + (r + 1) * step]
                    for p in range(width):
                        dst[p] = src[r * width + p]
                    for p in range(width, step):  # the flat layout's dropped columns
                        dst[p] = zero
        if has_bias:
            add_row_sums(dzc, db)
        # dW.T += cols @ dzT.T: BLAS runs this orientation 10-25% faster than dzT @ cols.T
        # (0.73 vs 1.00 ms for the 144 x 14336 columns of a 16->32 3x3 layer on 64 14x14
        # images).
        columns = count * span
        gemm(part.reshape(part.size), (0, columns, False), dzc.reshape(dzc.size),
             (0, columns, True), flat_dwt, (0, filters, False), (k, filters, columns), 1.0,
             0.0 if start == first else 1.0)
        if dx.shape[0] > 0:
            dpart = _leading(dcols, k, columns)
            np.dot(W.reshape(filters, k).T, dzc, dpart)
            from_columns(dpart, g, dxp, dx, start)

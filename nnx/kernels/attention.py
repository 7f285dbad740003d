"""Multi-head self-attention: projections, scaled dot-product attention and its gradients.

`qkv` (N*T, 3I), I = H*dk, holds the query, key and value projections side by side (columns
[q heads | k heads | v heads], each head's dk columns together), as one GEMM of the input
with the stacked weights gives them. The queries come out scaled by 1/sqrt(dk): the caller
folds the scale into the query weights and bias (`params` below). Per (sample, head) the
products are BLAS calls on the head's columns in place (nnx.kernels.blas.gemm: start
offset and row pitch), so nothing is gathered into per-head blocks or scattered back; the
softmax and its gradient are row passes over one (T, T) block, with sums reassociated
(vectorized), except the exp (nnx.kernels.scalar, vectorized in float32): the rows are
shifted by their max first, so it runs as one flat pass over the whole block.

Masks: `mask` (N, T) bool, True = a real key (empty (0, 0): none); `causal` hides the keys
after each query. A query that sees no key gets zero probabilities (output b_o) instead of
NaN. What backward needs: the probabilities (N, H, T, T) when the caller keeps them, else
they are recomputed from Q, K and the per-row log-sum-exp `lse` (N, H, T), always kept.

The layer runs a step as `project` (one GEMM, on BLAS's threads), `heads_forward` over
parts of the batch (on nnx.kernels.threads), `project` again; backward as `output_backward`,
`heads_backward` over parts, `input_backward`. The weights W (D, 3I) and b (3I,) of the
projections side by side have the query block already times 1/sqrt(dk); so do their
gradients (the caller scales them back to its unscaled weights).
"""

import numpy as np

from nnx.kernels.blas import gemm
from nnx.kernels.jit import reassociating_kernel as kernel
from nnx.kernels.scalar import exp
from nnx.kernels.threads import mark_start


@kernel
def _hide(mask, n, causal, i, row):
    """Set the scores of the keys that query i of sample n must not see to -inf; returns
    how many leading keys can be visible (i + 1 when causal, else all)."""
    steps = row.shape[0]
    stop = i + 1 if causal else steps
    for j in range(stop, steps):
        row[j] = -np.inf
    if mask.shape[0] > 0:
        for j in range(stop):
            if not mask[n, j]:
                row[j] = -np.inf
    return stop


@kernel
def _max_of(row, stop):
    """max(row[:stop]) (-inf when stop is 0) in four interleaved chains: LLVM does not
    vectorize a max reduction, and one chain waits on each comparison (0.24 against 0.15 ns
    per value)."""
    a = b = c = d = row.dtype.type(-np.inf)
    whole = stop - stop % 4
    for j in range(0, whole, 4):
        a, b = max(a, row[j]), max(b, row[j + 1])
        c, d = max(c, row[j + 2]), max(d, row[j + 3])
    for j in range(whole, stop):
        a = max(a, row[j])
    return max(max(a, b), max(c, d))


@kernel
def _shift_rows(mask, n, causal, p, shift, keep_max):
    """Per query row i of the (T, T) scores p: hide the keys it must not see, then subtract
    its max (keep_max: stored into shift[i]; -inf when every key is hidden) or shift[i]."""
    for i in range(p.shape[0]):
        row = p[i]
        stop = _hide(mask, n, causal, i, row)
        if keep_max:
            shift[i] = _max_of(row, stop)
        by = shift[i]
        if by == -np.inf or by == np.inf:
            row[:] = -np.inf  # every key hidden: all exps 0
        else:
            for j in range(row.shape[0]):
                row[j] -= by


@kernel
def _exp_block(p):
    """p (T, T) -> exp(p) in place as one flat loop: SIMD lanes over the whole block, where
    row loops of T = 40 keys left most of each row to scalar remainder iterations."""
    flat = p.reshape(p.size)
    for k in range(flat.shape[0]):
        flat[k] = exp(flat[k])


@kernel
def _softmax_block(mask, n, causal, p, lse):
    """p (T, T) of scores -> their masked softmax rows in place (hidden keys 0), lse (T,)
    the rows' log-sum-exps (inf for a row that sees no key: it is then all 0)."""
    _shift_rows(mask, n, causal, p, lse, True)
    _exp_block(p)
    for i in range(p.shape[0]):
        row = p[i]
        if lse[i] == -np.inf:
            lse[i] = np.inf
            continue
        total = row.dtype.type(0.0)
        for j in range(row.shape[0]):
            total += row[j]
        inv = row.dtype.type(1.0) / total
        for j in range(row.shape[0]):
            row[j] *= inv
        lse[i] += np.log(total)


@kernel
def project(x, W, b, y):
    """y (M, F) = x (M, K) @ W (K, F) + b: the input and output projections."""
    np.dot(x, W, y)
    for m in range(y.shape[0]):
        row = y[m]
        for f in range(row.shape[0]):
            row[f] += b[f]


@kernel
def _column_sums(a, out):
    """out (F,) = the sum of the rows of a (M, F)."""
    out[:] = 0
    for m in range(a.shape[0]):
        row = a[m]
        for f in range(out.shape[0]):
            out[f] += row[f]


@kernel
def _transposed(qkv, row, column, steps, dk, out):
    """out (dk, T) = qkv[row:row + T, column:column + dk] transposed: one head's keys or
    values as the right factor of a product with K = dk, which BLAS runs 1.6x faster
    untransposed (40x40x16: 0.66 against 1.04 us)."""
    for t in range(steps):
        source = qkv[row + t]
        for d in range(dk):
            out[d, t] = source[column + d]


@kernel
def _scores(qkv, n, h, steps, dk, keys, s):
    """s (T, T) = Qs K^T of head h of sample n (Qs: the scaled queries); keys (dk, T) is
    scratch for K^T."""
    width = qkv.shape[1]
    inner = width // 3
    first = n * steps * width + h * dk
    _transposed(qkv, n * steps, inner + h * dk, steps, dk, keys)
    gemm(qkv.reshape(qkv.size), (first, width, False), keys.reshape(keys.size),
         (0, steps, False), s.reshape(s.size), (0, steps, False), (steps, steps, dk), 1.0, 0.0)


@kernel
def heads_forward(qkv, heads, steps, causal, mask, saved, first, stop, mark):
    """mixed[n] = softmax(Qs K^T, masked) V of every head, for the samples first..stop-1
    (qkv (N*T, 3I) from `project`). saved = (probs (N, H, T, T) or empty (0, 0, 0, 0), lse
    (N, H, T), mixed (N*T, I): the heads' outputs side by side): what backward reads."""
    mark_start(mark)
    probs, lse, mixed = saved
    width = qkv.shape[1]
    inner = width // 3
    dk = inner // heads
    keep = probs.shape[0] > 0
    scratch = np.empty((steps, steps), qkv.dtype)
    keys = np.empty((dk, steps), qkv.dtype)
    flat_qkv, flat_mixed = qkv.reshape(qkv.size), mixed.reshape(mixed.size)
    for n in range(first, stop):
        for h in range(heads):
            p = probs[n, h] if keep else scratch
            _scores(qkv, n, h, steps, dk, keys, p)
            _softmax_block(mask, n, causal, p, lse[n, h])
            # mixed[n, :, head h] = P V
            gemm(p.reshape(p.size), (0, steps, False), flat_qkv,
                 (n * steps * width + 2 * inner + h * dk, width, False), flat_mixed,
                 (n * steps * inner + h * dk, inner, False), (steps, dk, steps), 1.0, 0.0)


@kernel
def _head_backward(qkv, dmixed, n, h, steps, dk, p, dp, values, dqkv):
    """The head's columns of dqkv from dO = dmixed's: with P = softmax(S), S = Qs K^T,
    dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(P * dP)), dQs = dS K, dK = dS^T Qs;
    dp (T, T) and values (dk, T), for V^T, are scratch."""
    width = qkv.shape[1]
    inner = width // 3
    base = n * steps * width + h * dk
    do_start = n * steps * inner + h * dk
    flat_qkv, flat_dqkv = qkv.reshape(qkv.size), dqkv.reshape(dqkv.size)
    flat_p, flat_dp, flat_do = p.reshape(p.size), dp.reshape(dp.size), dmixed.reshape(dmixed.size)
    square = (0, steps, False)
    gemm(flat_p, (0, steps, True), flat_do, (do_start, inner, False), flat_dqkv,
         (base + 2 * inner, width, False), (steps, dk, steps), 1.0, 0.0)
    _transposed(qkv, n * steps, 2 * inner + h * dk, steps, dk, values)
    gemm(flat_do, (do_start, inner, False), values.reshape(values.size), square, flat_dp,
         square, (steps, steps, dk), 1.0, 0.0)
    for i in range(steps):
        prow, drow = p[i], dp[i]
        dot = prow.dtype.type(0.0)
        for j in range(steps):
            dot += prow[j] * drow[j]
        for j in range(steps):
            drow[j] = prow[j] * (drow[j] - dot)  # dp now holds dS
    gemm(flat_dp, square, flat_qkv, (base + inner, width, False), flat_dqkv,
         (base, width, False), (steps, dk, steps), 1.0, 0.0)
    gemm(flat_dp, (0, steps, True), flat_qkv, (base, width, False), flat_dqkv,
         (base + inner, width, False), (steps, dk, steps), 1.0, 0.0)


@kernel
def output_backward(mixed, W_o, dy, dW_o, db_o, dmixed):
    """From dy (N*T, D) = dL/d(mixed W_o + b_o): dW_o, db_o and dmixed (N*T, I)."""
    np.dot(mixed.T, dy, dW_o)
    _column_sums(dy, db_o)
    np.dot(dy, W_o.T, dmixed)


@kernel
def heads_backward(qkv, dmixed, heads, steps, causal, mask, saved, dqkv, first, stop, mark):
    """dqkv rows of the samples first..stop-1: the gradients of their q, k, v from dmixed,
    with saved = (probs, lse, mixed) as heads_forward left them (P recomputed from the
    log-sum-exps when probs is empty)."""
    mark_start(mark)
    probs, lse, _ = saved
    inner = qkv.shape[1] // 3
    dk = inner // heads
    keep = probs.shape[0] > 0
    recomputed = np.empty((steps, steps), qkv.dtype)
    dp = np.empty((steps, steps), qkv.dtype)
    transposed = np.empty((dk, steps), qkv.dtype)  # K^T, then V^T
    for n in range(first, stop):
        for h in range(heads):
            if keep:
                p = probs[n, h]
            else:
                p = recomputed
                _scores(qkv, n, h, steps, dk, transposed, p)
                _shift_rows(mask, n, causal, p, lse[n, h], False)
                _exp_block(p)
            _head_backward(qkv, dmixed, n, h, steps, dk, p, dp, transposed, dqkv)


@kernel
def input_backward(x, W, dqkv, dW, db, dx):
    """From dqkv (M, 3I) = dL/d(x W + b): dW (D, 3I), db and dx (M, D) or empty (0, 0)."""
    np.dot(x.T, dqkv, dW)
    _column_sums(dqkv, db)
    if dx.shape[0] > 0:
        np.dot(dqkv, W.T, dx)

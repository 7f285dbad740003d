"""Scaled dot-product attention over packed projections, one (batch, head) block at a time.

`qkv` (N, T, 3 * H * dk) holds the query, key and value projections side by side (columns
[q heads | k heads | v heads], each head's dk columns together), as one GEMM of the input
with the stacked W_q, W_k, W_v gives them. Per (n, h) the kernels copy the head's Q, K, V into
contiguous (T, dk) scratch, so the score and weighted-sum products are BLAS calls, and work on
one (T, T) block: scores, masked softmax, weighted sum (backward: the probabilities and their
gradient, two blocks).

Masks: `mask` (N, T) bool, True = a real key (empty (0, 0): none); `causal` hides keys after
the query. A query that sees no key at all gets zero probabilities (output 0) instead of NaN.
What backward needs: the probabilities (N, H, T, T) when the caller keeps them, else they are
recomputed from Q, K and the per-row log-sum-exp `lse` (N, H, T), which is always kept.
"""

import numpy as np

from nnx.kernels.jit import kernel


@kernel
def _gather_heads(qkv, n, col, scale, q, k, v):
    """q = scale * Q, k = K, v = V (T, dk) of the head whose query columns start at col."""
    steps, width = q.shape
    inner = qkv.shape[2] // 3
    for t in range(steps):
        for d in range(width):
            q[t, d] = qkv[n, t, col + d] * scale
            k[t, d] = qkv[n, t, inner + col + d]
            v[t, d] = qkv[n, t, 2 * inner + col + d]


@kernel
def _gather_head(a, n, col, block):
    """block (T, dk) = a[n, :, col:col + dk]."""
    steps, width = block.shape
    for t in range(steps):
        for d in range(width):
            block[t, d] = a[n, t, col + d]


@kernel
def _scatter_head(block, n, col, out):
    """out[n, :, col:col + dk] = block (T, dk)."""
    steps, width = block.shape
    for t in range(steps):
        for d in range(width):
            out[n, t, col + d] = block[t, d]


@kernel
def _key_bias(mask, n, bias):
    """bias (T,) = 0 for the real keys of sample n, -inf for padding (all 0 without a mask)."""
    if mask.shape[0] > 0:
        for j in range(bias.shape[0]):
            bias[j] = 0 if mask[n, j] else -np.inf


@kernel
def attention_forward(qkv, mask, heads, causal, scale, probs, lse, out):
    """out (N, T, H*dk) = softmax(scale * Q K^T, masked) V for every (n, h) head.

    probs (N, H, T, T) receives the probabilities when it is not empty (0, 0, 0, 0);
    lse (N, H, T) receives each row's log-sum-exp of the masked, scaled scores.
    """
    n_batch, steps = qkv.shape[0], qkv.shape[1]
    dk = qkv.shape[2] // 3 // heads
    keep = probs.shape[0] > 0
    zero = qkv.dtype.type(0.0)
    lowest = qkv.dtype.type(-np.inf)
    q = np.empty((steps, dk), qkv.dtype)
    k = np.empty((steps, dk), qkv.dtype)
    v = np.empty((steps, dk), qkv.dtype)
    o = np.empty((steps, dk), qkv.dtype)
    scratch = np.empty((steps, steps), qkv.dtype)
    bias = np.zeros(steps, qkv.dtype)
    for n in range(n_batch):
        _key_bias(mask, n, bias)
        for h in range(heads):
            _gather_heads(qkv, n, h * dk, scale, q, k, v)
            p = probs[n, h] if keep else scratch
            np.dot(q, k.T, p)
            for i in range(steps):
                stop = i + 1 if causal else steps  # keys after `stop` are hidden
                top = lowest
                for j in range(stop):
                    s = p[i, j] + bias[j]
                    p[i, j] = s
                    top = max(top, s)
                for j in range(stop, steps):
                    p[i, j] = zero
                if top == lowest:  # no visible key: a zero row; lse = inf keeps it zero
                    for j in range(stop):
                        p[i, j] = zero
                    lse[n, h, i] = np.inf
                    continue
                total = zero
                for j in range(stop):
                    e = np.exp(p[i, j] - top)
                    p[i, j] = e
                    total += e
                inv = qkv.dtype.type(1.0) / total
                for j in range(stop):
                    p[i, j] *= inv
                lse[n, h, i] = top + np.log(total)
            np.dot(p, v, o)
            _scatter_head(o, n, h * dk, out)


@kernel
def attention_backward(qkv, mask, heads, causal, scale, probs, lse, dout, dqkv):
    """dqkv (N, T, 3*H*dk): the gradients of Q, K, V from dout (N, T, H*dk) = dL/d out.

    With P = softmax(S), S = scale * Q K^T: dV = P^T dO, dP = dO V^T,
    dS = P * (dP - rowsum(P * dP)), dQ = scale * dS K, dK = scale * dS^T Q.
    probs as kept by attention_forward, or empty: then P = exp(S - lse) is recomputed.
    """
    n_batch, steps = qkv.shape[0], qkv.shape[1]
    inner = qkv.shape[2] // 3
    dk = inner // heads
    keep = probs.shape[0] > 0
    zero = qkv.dtype.type(0.0)
    q = np.empty((steps, dk), qkv.dtype)
    k = np.empty((steps, dk), qkv.dtype)
    v = np.empty((steps, dk), qkv.dtype)
    do = np.empty((steps, dk), qkv.dtype)
    grad = np.empty((steps, dk), qkv.dtype)
    scratch = np.empty((steps, steps), qkv.dtype)
    dp = np.empty((steps, steps), qkv.dtype)
    bias = np.zeros(steps, qkv.dtype)
    for n in range(n_batch):
        _key_bias(mask, n, bias)
        for h in range(heads):
            col = h * dk
            _gather_heads(qkv, n, col, scale, q, k, v)  # q holds scale * Q
            _gather_head(dout, n, col, do)
            if keep:
                p = probs[n, h]
            else:
                p = scratch
                np.dot(q, k.T, p)
                for i in range(steps):
                    stop = i + 1 if causal else steps
                    m = lse[n, h, i]
                    for j in range(stop):
                        p[i, j] = np.exp(p[i, j] + bias[j] - m)
                    for j in range(stop, steps):
                        p[i, j] = zero
            np.dot(p.T, do, grad)
            _scatter_head(grad, n, 2 * inner + col, dqkv)  # dV
            np.dot(do, v.T, dp)
            for i in range(steps):
                dot = zero
                for j in range(steps):
                    dot += p[i, j] * dp[i, j]
                for j in range(steps):
                    dp[i, j] = p[i, j] * (dp[i, j] - dot)  # dp now holds dS
            np.dot(dp.T, q, grad)  # dK = dS^T (scale Q)
            _scatter_head(grad, n, inner + col, dqkv)
            np.dot(dp, k, grad)
            for t in range(steps):
                for d in range(dk):
                    grad[t, d] *= scale  # dQ = scale * dS K
            _scatter_head(grad, n, col, dqkv)

"""Layer normalization over the last axis of (M, D) rows, PyTorch's conventions (biased
variance, eps inside the square root). Row sums are accumulated in float64 whatever the input
dtype; every stored array keeps the caller's dtype. The sums are reassociated, so LLVM
vectorizes them (in order, each row's two sums took 1.6 ns per element: 0.26 ms of a
transformer block's 164k-element norm).

A transformer block normalizes a residual sum, norm(x + r): the forward takes r and adds it
in its first pass (no separate sum array).
"""

import numpy as np

from nnx.kernels.jit import reassociating_kernel as kernel


@kernel
def layer_norm_forward(x, residual, gamma, beta, eps, xhat, invstd, y):
    """s = x + residual (M, D) (residual may be empty (0, 0): s = x) -> xhat = (s - mean) *
    invstd per row (xhat (M, D), invstd (M,) kept for backward) and y = gamma * xhat + beta
    (M, D); gamma, beta (D,)."""
    rows, size = x.shape
    summed = residual.shape[0] > 0
    for i in range(rows):
        xs, h = x[i], xhat[i]
        total = 0.0  # summed in the loop that writes the row: 0.6 against 1 ns per element
        if summed:
            r = residual[i]
            for j in range(size):
                s = xs[j] + r[j]
                h[j] = s
                total += s
        else:
            for j in range(size):
                h[j] = xs[j]
                total += xs[j]
        mean = total / size
        sq = 0.0
        for j in range(size):
            d = h[j] - mean
            sq += d * d
        inv = 1.0 / np.sqrt(sq / size + eps)
        invstd[i] = inv
        mean_t, inv_t = x.dtype.type(mean), x.dtype.type(inv)
        out = y[i]
        for j in range(size):
            v = (h[j] - mean_t) * inv_t
            h[j] = v
            out[j] = gamma[j] * v + beta[j]


@kernel
def layer_norm_backward(dy, xhat, gamma, invstd, dgamma, dbeta, dx):
    """Gradients of y = gamma * xhat + beta: dgamma, dbeta (D,) and
    dx = invstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma, all (M, D)."""
    rows, size = dy.shape
    dgamma[:] = 0
    dbeta[:] = 0
    for i in range(rows):
        d, h = dy[i], xhat[i]
        sum_g = 0.0
        sum_gx = 0.0
        for j in range(size):
            g = d[j] * gamma[j]
            sum_g += g
            sum_gx += g * h[j]
            dgamma[j] += d[j] * h[j]
            dbeta[j] += d[j]
        mean_g = dy.dtype.type(sum_g / size)
        mean_gx = dy.dtype.type(sum_gx / size)
        inv = invstd[i]
        out = dx[i]
        for j in range(size):
            out[j] = inv * (d[j] * gamma[j] - mean_g - h[j] * mean_gx)

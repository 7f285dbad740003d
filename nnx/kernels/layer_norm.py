"""Layer normalization over the last axis of (M, D) rows, PyTorch's conventions (biased
variance, eps inside the square root). Row sums are accumulated in float64 whatever the input
dtype; every stored array keeps the caller's dtype."""

import numpy as np

from nnx.kernels.jit import kernel


@kernel
def layer_norm_forward(x, gamma, beta, eps, xhat, invstd, y):
    """x (M, D) -> xhat = (x - mean) * invstd per row (xhat (M, D), invstd (M,) kept for
    backward) and y = gamma * xhat + beta (M, D); gamma, beta (D,)."""
    rows, size = x.shape
    for i in range(rows):
        total = 0.0
        for j in range(size):
            total += x[i, j]
        mean = total / size
        sq = 0.0
        for j in range(size):
            d = x[i, j] - mean
            sq += d * d
        inv = 1.0 / np.sqrt(sq / size + eps)
        invstd[i] = inv
        mean_t, inv_t = x.dtype.type(mean), x.dtype.type(inv)
        for j in range(size):
            h = (x[i, j] - mean_t) * inv_t
            xhat[i, j] = h
            y[i, j] = gamma[j] * h + beta[j]


@kernel
def layer_norm_backward(dy, xhat, gamma, invstd, dgamma, dbeta, dx):
    """Gradients of y = gamma * xhat + beta: dgamma, dbeta (D,) and
    dx = invstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma, all (M, D)."""
    rows, size = dy.shape
    dgamma[:] = 0
    dbeta[:] = 0
    for i in range(rows):
        sum_g = 0.0
        sum_gx = 0.0
        for j in range(size):
            g = dy[i, j] * gamma[j]
            sum_g += g
            sum_gx += g * xhat[i, j]
            dgamma[j] += dy[i, j] * xhat[i, j]
            dbeta[j] += dy[i, j]
        mean_g = dy.dtype.type(sum_g / size)
        mean_gx = dy.dtype.type(sum_gx / size)
        inv = invstd[i]
        for j in range(size):
            dx[i, j] = inv * (dy[i, j] * gamma[j] - mean_g - xhat[i, j] * mean_gx)

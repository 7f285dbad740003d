"""Batch normalization over (N, C, S): per channel c, statistics over the batch and S
(S = 1 after a dense layer, the flattened spatial axes after a convolution).

PyTorch's conventions: training normalizes with the batch mean and the biased variance and
moves the running variance towards the unbiased one. Statistics are summed in float64
(two passes: mean, then squared deviations) whatever the input dtype, so large float32
batches keep their digits; every stored array keeps the caller's dtype.
"""

import numpy as np

from nnx.kernels.jit import kernel


@kernel
def batch_norm_train(x, gamma, beta, eps, momentum, running_mean, running_var, xhat, invstd,
                     y):
    """x (N, C, S) -> xhat = (x - mean) * invstd and y = gamma * xhat + beta (N, C, S), with
    the batch mean and invstd = 1/sqrt(var + eps) per channel (invstd (C,) is kept for
    backward); running_mean/var (C,) move by `momentum` towards mean and var * n/(n-1)."""
    n_batch, channels, size = x.shape
    count = n_batch * size
    for c in range(channels):
        total = 0.0
        for n in range(n_batch):
            for s in range(size):
                total += x[n, c, s]
        mean = total / count
        sq = 0.0
        for n in range(n_batch):
            for s in range(size):
                d = x[n, c, s] - mean
                sq += d * d
        var = sq / count
        inv = 1.0 / np.sqrt(var + eps)
        invstd[c] = inv
        g, bt = gamma[c], beta[c]
        for n in range(n_batch):
            for s in range(size):
                h = (x[n, c, s] - mean) * inv
                xhat[n, c, s] = h
                y[n, c, s] = g * xhat[n, c, s] + bt
        running_mean[c] = (1.0 - momentum) * running_mean[c] + momentum * mean
        running_var[c] = (1.0 - momentum) * running_var[c] + momentum * sq / (count - 1)


@kernel
def batch_norm_infer(x, gamma, beta, eps, running_mean, running_var, y):
    """x (N, C, S) -> y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta."""
    n_batch, channels, size = x.shape
    for c in range(channels):
        scale = gamma[c] / np.sqrt(running_var[c] + eps)
        shift = beta[c] - running_mean[c] * scale
        scale_t, shift_t = y.dtype.type(scale), y.dtype.type(shift)
        for n in range(n_batch):
            for s in range(size):
                y[n, c, s] = x[n, c, s] * scale_t + shift_t


@kernel
def batch_norm_backward(dy, xhat, gamma, invstd, dgamma, dbeta, dx):
    """Gradients of training-mode batch norm from dy (N, C, S): dgamma, dbeta (C,) and
    dx = invstd * gamma * (dy - mean(dy) - xhat * mean(dy * xhat)) (N, C, S)."""
    n_batch, channels, size = dy.shape
    count = n_batch * size
    for c in range(channels):
        sum_dy = 0.0
        sum_dy_xhat = 0.0
        for n in range(n_batch):
            for s in range(size):
                sum_dy += dy[n, c, s]
                sum_dy_xhat += dy[n, c, s] * xhat[n, c, s]
        dgamma[c] = sum_dy_xhat
        dbeta[c] = sum_dy
        scale = gamma[c] * invstd[c]
        mean_dy = dx.dtype.type(sum_dy / count)
        mean_dy_xhat = dx.dtype.type(sum_dy_xhat / count)
        scale_t = dx.dtype.type(scale)
        for n in range(n_batch):
            for s in range(size):
                dx[n, c, s] = scale_t * (dy[n, c, s] - mean_dy - xhat[n, c, s] * mean_dy_xhat)

"""Activations and their derivatives over (n, m) arrays, selected by integer code.

Every kernel works in the dtype of its input: constants are made with `x.dtype.type`
so float32 stays float32 (numba would otherwise promote to float64).
"""

import math

import numpy as np

from nnx.kernels import codes
from nnx.kernels.jit import kernel


@kernel
def sigmoid(v):
    """Stable logistic of one scalar, in its own dtype."""
    one = type(v)(1.0)
    if v >= 0:
        return one / (one + np.exp(-v))
    e = np.exp(v)
    return e / (one + e)


@kernel
def bias_activate(z, b, code, y):
    """z: (n, m) pre-activation, updated in place to z + b (b: (m,) or empty); y = act(z).

    y may be z itself (linear activation, or when z is not needed for backward).
    """
    n, m = z.shape
    if code == codes.RELU:
        bias_relu(z, b, y)
        return
    if b.shape[0] > 0:
        for i in range(n):
            for j in range(m):
                z[i, j] += b[j]
    activate(z, code, y)


@kernel
def bias_relu(z, b, y):
    """bias_activate for relu in one pass over 1-D rows, which LLVM vectorizes (a bias pass
    and a relu pass over the 2-D arrays, not vectorized when y is z: 87 us for the benchmark
    MLP's 1024 x 256 at inference, 27 us so)."""
    zero = z.dtype.type(0.0)
    biased = b.shape[0] > 0
    for i in range(z.shape[0]):
        row, out = z[i], y[i]
        if y is z:
            for j in range(row.shape[0]):
                v = row[j] + b[j] if biased else row[j]
                row[j] = v if v > zero else zero
        else:
            for j in range(row.shape[0]):
                v = row[j] + b[j] if biased else row[j]
                row[j] = v
                out[j] = v if v > zero else zero


@kernel
def activate(z, code, y):
    """y = act(z) for (n, m) arrays; softmax runs over the last axis; y may be z."""
    n, m = z.shape
    zero = z.dtype.type(0.0)
    one = z.dtype.type(1.0)
    if code == codes.LINEAR:
        if y is not z:
            y[:, :] = z
    elif code == codes.RELU:
        for i in range(n):
            for j in range(m):
                y[i, j] = z[i, j] if z[i, j] > zero else zero
    elif code == codes.LEAKY_RELU:
        slope = z.dtype.type(codes.LEAKY_RELU_SLOPE)
        for i in range(n):
            for j in range(m):
                v = z[i, j]
                y[i, j] = v if v > zero else slope * v
    elif code == codes.ELU:
        alpha = z.dtype.type(codes.ELU_ALPHA)
        for i in range(n):
            for j in range(m):
                v = z[i, j]
                y[i, j] = v if v > zero else alpha * (np.exp(v) - one)
    elif code == codes.SIGMOID:
        for i in range(n):
            for j in range(m):
                y[i, j] = sigmoid(z[i, j])
    elif code == codes.TANH:
        for i in range(n):
            for j in range(m):
                y[i, j] = np.tanh(z[i, j])
    elif code == codes.GELU:
        half = z.dtype.type(0.5)
        inv_sqrt2 = z.dtype.type(1.0 / math.sqrt(2.0))
        for i in range(n):
            for j in range(m):
                v = z[i, j]
                y[i, j] = half * v * (one + math.erf(v * inv_sqrt2))
    elif code == codes.SOFTMAX:
        for i in range(n):
            top = z[i, 0]
            for j in range(1, m):
                top = max(top, z[i, j])
            total = zero
            for j in range(m):
                e = np.exp(z[i, j] - top)
                y[i, j] = e
                total += e
            for j in range(m):
                y[i, j] /= total


@kernel
def activation_grad(dy, y, z, code, dz):
    """dz = dL/dz from dy = dL/dy, the output y and (for gelu) the pre-activation z; all (n, m).

    dz may be dy itself for element-wise activations.
    """
    n, m = dy.shape
    zero = dy.dtype.type(0.0)
    one = dy.dtype.type(1.0)
    if code == codes.LINEAR:
        if dz is not dy:
            dz[:, :] = dy
    elif code == codes.RELU:
        for i in range(n):
            for j in range(m):
                dz[i, j] = dy[i, j] if y[i, j] > zero else zero
    elif code == codes.LEAKY_RELU:
        slope = dy.dtype.type(codes.LEAKY_RELU_SLOPE)
        for i in range(n):
            for j in range(m):
                dz[i, j] = dy[i, j] if y[i, j] > zero else slope * dy[i, j]
    elif code == codes.ELU:
        alpha = dy.dtype.type(codes.ELU_ALPHA)
        for i in range(n):
            for j in range(m):
                dz[i, j] = dy[i, j] if y[i, j] > zero else dy[i, j] * (y[i, j] + alpha)
    elif code == codes.SIGMOID:
        for i in range(n):
            for j in range(m):
                dz[i, j] = dy[i, j] * y[i, j] * (one - y[i, j])
    elif code == codes.TANH:
        for i in range(n):
            for j in range(m):
                dz[i, j] = dy[i, j] * (one - y[i, j] * y[i, j])
    elif code == codes.GELU:
        half = dy.dtype.type(0.5)
        inv_sqrt2 = dy.dtype.type(1.0 / math.sqrt(2.0))
        inv_sqrt2pi = dy.dtype.type(1.0 / math.sqrt(2.0 * math.pi))
        for i in range(n):
            for j in range(m):
                v = z[i, j]
                cdf = half * (one + math.erf(v * inv_sqrt2))
                dz[i, j] = dy[i, j] * (cdf + v * inv_sqrt2pi * np.exp(-half * v * v))
    elif code == codes.SOFTMAX:
        for i in range(n):
            dot = zero
            for j in range(m):
                dot += dy[i, j] * y[i, j]
            for j in range(m):
                dz[i, j] = y[i, j] * (dy[i, j] - dot)


@kernel
def mark_alive(y, alive):
    """alive[c] |= any(y[:, c, :] > 0) for y (n, c, s): which units fired in this batch.
    Returns whether every unit is alive now (a caller may then stop asking this epoch).

    A unit already alive costs one read: after the first batches of an epoch most are."""
    n, c, m = y.shape
    zero = y.dtype.type(0.0)
    every = True
    for j in range(c):
        if alive[j]:
            continue
        for i in range(n):
            for k in range(m):
                if y[i, j, k] > zero:
                    alive[j] = True
                    break
            if alive[j]:
                break
        every = every and alive[j]
    return every

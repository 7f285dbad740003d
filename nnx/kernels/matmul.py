"""Dense layer kernels: GEMM through BLAS (numba's np.dot with SciPy) fused with bias and
activation passes, and the backward for dW, db and dx."""

import numpy as np

from nnx.kernels.activations import activation_grad, bias_activate
from nnx.kernels.jit import kernel


@kernel
def gemm(a, b, out):
    """out (n, m) = a (n, k) @ b (k, m)."""
    np.dot(a, b, out)


@kernel
def dense_forward(x, W, b, code, z, y):
    """x (n, k), W (k, m), b (m,) or empty -> z = x @ W + b, y = act(z); y may be z."""
    np.dot(x, W, z)
    bias_activate(z, b, code, y)


@kernel
def dense_backward(x, W, y, z, dy, code, dz, dW, db, dx):
    """Gradients of y = act(x @ W + b): dW (k, m), db (m,) or empty, dx (n, k) or empty.

    dz (n, m) is scratch for dL/dz (may be dy: dy is then overwritten). An empty dx skips the
    input gradient (the first layer of a model needs none).
    """
    activation_grad(dy, y, z, code, dz)
    np.dot(x.T, dz, dW)
    if db.shape[0] > 0:
        n, m = dz.shape
        db[:] = 0
        for i in range(n):
            for j in range(m):
                db[j] += dz[i, j]
    if dx.shape[0] > 0:
        np.dot(dz, W.T, dx)

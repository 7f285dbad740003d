"""Embedding kernels: gather rows of a table, and scatter-add row gradients back into it."""

from nnx.kernels.jit import kernel


@kernel
def gather_rows(W, ids, out):
    """out (n, D) = W (V, D) [ids (n,)]."""
    for i in range(ids.shape[0]):
        out[i, :] = W[ids[i], :]


@kernel
def scatter_add_rows(dy, ids, dW):
    """dW (V, D) = sum of the rows of dy (n, D) that each id (n,) picked (repeated ids add up)."""
    dW[:, :] = 0
    for i in range(ids.shape[0]):
        row = ids[i]
        for j in range(dy.shape[1]):
            dW[row, j] += dy[i, j]

"""GEMM throughput: nnx's kernel (BLAS through numba) against numpy's BLAS and torch.mm."""

import numpy as np

from benchmarks.protocol import compare
from nnx.kernels import matmul

SIZES = (256, 512, 1024, 2048)


def gemm_rows(torch, pairs):
    return [gemm_row(torch, n, pairs) for n in SIZES]


def gemm_row(torch, n, pairs):
    """GFLOP/s of C = A @ B for n x n float32 matrices, nnx against numpy (and torch)."""
    rng = np.random.default_rng(n)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    out = np.empty((n, n), np.float32)
    reps = max(1, int(2e9 // (2 * n**3)))  # about a second of work per timing at 100 GFLOP/s

    def repeat(fn):
        def timed():
            for _ in range(reps):
                fn()
            return reps
        return timed

    ours = repeat(lambda: matmul.gemm(a, b, out))
    flops = 2.0 * n**3
    vs_numpy = compare(ours, repeat(lambda: np.matmul(a, b, out=out)), pairs=pairs)
    row = {"n": n, "nnx_gflops": flops / vs_numpy["nnx_s"] / 1e9,
           "numpy_gflops": flops / vs_numpy["peer_s"] / 1e9,
           "ratio_vs_numpy": 1.0 / vs_numpy["ratio"]}
    if torch is not None:
        at, bt = torch.from_numpy(a), torch.from_numpy(b)
        vs_torch = compare(ours, repeat(lambda: torch.mm(at, bt)), pairs=pairs)
        row["torch_gflops"] = flops / vs_torch["peer_s"] / 1e9
    return row

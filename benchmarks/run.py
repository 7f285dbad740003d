"""`make bench`: nnx against PyTorch CPU (2 threads) and numpy's BLAS; a table and JSON.

Usage: python -m benchmarks.run [--only NAME ...] [--pairs 7] [--json FILE]
"""

import argparse
import json
import os
import platform
import sys

from rich.console import Console
from rich.table import Table

THREADS = 2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="workloads to run (default: all, and gemm)")
    parser.add_argument("--pairs", type=int, default=7, help="A/B pairs per workload (>= 5)")
    parser.add_argument("--json", default="benchmarks/results.json", help="where to write JSON")
    args = parser.parse_args(argv)

    import numba
    import torch

    from benchmarks.gemm import gemm_rows
    from benchmarks.protocol import compare
    from benchmarks.workloads import WORKLOADS

    torch.set_num_threads(THREADS)
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    selected = args.only or [*WORKLOADS, "gemm"]
    unknown = [name for name in selected if name not in WORKLOADS and name != "gemm"]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; known: {', '.join([*WORKLOADS, 'gemm'])}")

    console = Console()
    report = {"environment": {"python": platform.python_version(), "torch": torch.__version__,
                              "numba": numba.__version__, "threads": THREADS,
                              "cpus": os.cpu_count(), "machine": platform.machine()},
              "workloads": {}, "gemm": []}
    table = Table(title="nnx vs PyTorch CPU: time per step (median of A/B pairs)")
    for column in ("workload", "nnx ms", "torch ms", "ratio nnx/torch", "ratio range"):
        table.add_column(column, justify="right" if column != "workload" else "left")
    for name in selected:
        if name == "gemm":
            continue
        console.print(f"timing {name} ...", style="dim")
        result = compare(*WORKLOADS[name](torch), pairs=args.pairs)
        report["workloads"][name] = result
        table.add_row(name, f"{result['nnx_s'] * 1e3:.3f}", f"{result['peer_s'] * 1e3:.3f}",
                      f"{result['ratio']:.2f}",
                      f"{result['ratio_min']:.2f}-{result['ratio_max']:.2f}")
    if table.rows:
        console.print(table)
    if "gemm" in selected:
        console.print("timing gemm ...", style="dim")
        report["gemm"] = gemm_rows(torch, max(3, args.pairs // 2))
        gemm_table = Table(title="GEMM float32, GFLOP/s")
        for column in ("n", "nnx", "numpy BLAS", "torch", "nnx/numpy"):
            gemm_table.add_column(column, justify="right")
        for row in report["gemm"]:
            gemm_table.add_row(str(row["n"]), f"{row['nnx_gflops']:.1f}",
                               f"{row['numpy_gflops']:.1f}", f"{row.get('torch_gflops', 0):.1f}",
                               f"{row['ratio_vs_numpy']:.2f}")
        console.print(gemm_table)
    with open(args.json, "w") as handle:
        json.dump(report, handle, indent=2)
    console.print(f"JSON written to {args.json}")
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

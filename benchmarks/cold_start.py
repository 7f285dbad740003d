"""Cold start: how long a first run waits for numba. `python -m benchmarks.cold_start`.

Each figure is the wall time of a fresh `nnx` process, with a fresh, empty kernel cache
(a temporary NUMBA_CACHE_DIR) so that no earlier run helps:

1. without warmup: `nnx train` of `make run`'s experiment on the empty cache, to its
   first epoch line (every kernel compiles on the way);
2. `nnx warmup` on the empty cache (what `make install` adds after pip);
3. after it, the same `nnx train` to its first epoch line (target: <= 3 s);
4. after it, every shipped experiment (`--set train.epochs=E`, default 3) twice: the
   first run and a warm one (targets: first <= 2x warm).

Prints a table and the figures as one JSON line (`--json FILE` also writes them).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAKE_RUN = ROOT / "experiments" / "digits_mlp.yaml"
NNX = [sys.executable, "-m", "nnx.cli"]
FIRST_EPOCH = re.compile(rb"\bepoch 1/")


def _env(cache):
    return {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONUNBUFFERED": "1"}


def to_first_epoch(cache, results):
    """Seconds from starting `nnx train` (make run's experiment) to its first epoch line."""
    started = time.perf_counter()
    with subprocess.Popen([*NNX, "train", str(MAKE_RUN), "--results-dir", str(results)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_env(cache),
                          cwd=tempfile.gettempdir()) as process:
        for line in process.stdout:
            if FIRST_EPOCH.search(line):
                seconds = time.perf_counter() - started
                process.kill()
                return seconds
        process.wait()
    raise RuntimeError(f"nnx train printed no epoch line (exit {process.returncode})")


def timed(command, cache):
    started = time.perf_counter()
    subprocess.run(command, env=_env(cache), check=True, stdout=subprocess.DEVNULL,
                   cwd=tempfile.gettempdir())
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each experiment run")
    parser.add_argument("--only", nargs="*", help="experiment file names (default: all)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    files = sorted((ROOT / "experiments").glob("*.yaml"))
    if args.only:
        files = [f for f in files if f.stem in args.only or f.name in args.only]
    report = {"cpus": os.cpu_count(), "epochs": args.epochs, "experiments": {}}
    with tempfile.TemporaryDirectory(prefix="nnx-cold-") as scratch:
        scratch = Path(scratch)
        results = scratch / "results"
        report["first_epoch_without_warmup_s"] = to_first_epoch(scratch / "cold", results)
        cache = scratch / "cache"
        report["warmup_s"] = timed([*NNX, "warmup", "--quiet"], cache)
        report["first_epoch_after_warmup_s"] = to_first_epoch(cache, results)
        for path in files:
            command = [*NNX, "train", str(path), "--set", f"train.epochs={args.epochs}", "-q",
                       "--results-dir", str(results)]
            first, warm = timed(command, cache), timed(command, cache)
            report["experiments"][path.name] = {"first_s": first, "warm_s": warm,
                                                "ratio": first / warm}
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    print(json.dumps(report))


def print_report(report):
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"make run's first epoch line: {report['first_epoch_without_warmup_s']:.1f} s "
                  f"on an empty cache; `nnx warmup` {report['warmup_s']:.0f} s; after it "
                  f"{report['first_epoch_after_warmup_s']:.1f} s ({report['cpus']} cores)")
    table = Table(title=f"nnx train --set train.epochs={report['epochs']}, after nnx warmup")
    for column in ("experiment", "first run s", "warm run s", "first / warm"):
        table.add_column(column, justify="left" if column == "experiment" else "right")
    for name, row in report["experiments"].items():
        table.add_row(name, f"{row['first_s']:.2f}", f"{row['warm_s']:.2f}",
                      f"{row['ratio']:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()

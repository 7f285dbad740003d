"""Reading a user's table: `nnx train` (one epoch of a tiny MLP, the whole process) against
pyarrow's own read of the same file, CSV and Parquet; wall time and peak RSS, as ratios,
and the CPU time (user + system) of each process, steadier than wall time on a shared machine.

The table is generated into a temporary folder: ROWS rows of 40 numeric features, one
categorical column of 5 levels and a binary label. Each command runs as its own process
under `/usr/bin/time -v`; the two run in pairs, and the figure is the median of the
pairs. Which of the two goes first alternates from pair to pair, and each starts after an
idle PAUSE_S, so that neither always runs in the other's wake (pyarrow's read, mostly page
faults on a VM, was timed straight after `nnx train` every time).
`nnx train` loads its kernels from the installation's cache, as a user's command does
(`NUMBA_CACHE_DIR` only when the caller set it).

    python -m benchmarks.data_load [--rows 1000000] [--pairs 3] [--json FILE]
    python -m benchmarks.data_load --npy-gb 8      # a .npy folder: peak RssAnon of training

With --npy-gb the folder (x.npy float32 of about that size, y.npy) is trained on for one
epoch, and the peak RssAnon / RssFile of the `nnx train` process are sampled from
/proc/PID/status every 0.2 s (the memory-mapped file counts as RssFile, not RssAnon).
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_NUMERIC, LEVELS = 40, ("red", "green", "blue", "amber", "violet")
NNX = str(Path(sys.executable).with_name("nnx"))
PAUSE_S = 1.0


def write_table(folder, n_rows, seed=0):
    """(csv path, parquet path) of the generated table, written in slices of 1M rows."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    csv_path, parquet_path = folder / "table.csv", folder / "table.parquet"
    csv_writer = parquet_writer = None
    for start in range(0, n_rows, 1_000_000):
        n = min(1_000_000, n_rows - start)
        columns = {f"f{i}": rng.normal(size=n).round(4) for i in range(N_NUMERIC)}
        columns["color"] = np.array(LEVELS)[rng.integers(0, len(LEVELS), n)]
        columns["label"] = (columns["f0"] + rng.normal(size=n) > 0).astype(np.int64)
        table = pa.table(columns)
        if csv_writer is None:
            csv_writer = pa_csv.CSVWriter(csv_path, table.schema, write_options=pa_csv.WriteOptions(
                quoting_style="none"))
            parquet_writer = pq.ParquetWriter(parquet_path, table.schema)
        csv_writer.write_table(table)
        parquet_writer.write_table(table)
    csv_writer.close()
    parquet_writer.close()
    return csv_path, parquet_path


def experiment(folder, data, name="load"):
    """An experiment file for one epoch of a tiny MLP on `data` (a mapping)."""
    import yaml

    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "seed": 0, "data": data, "diagnostics": "off",
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"},
                             {"type": "dense", "units": 1, "activation": "sigmoid"}]},
        "train": {"loss": "binary_crossentropy", "epochs": 1, "batch_size": 512,
                  "metrics": ["accuracy"]}}))
    return path


def timed(command):
    """(wall seconds, peak RSS bytes, CPU seconds) of `command` under /usr/bin/time -v."""
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", result.stderr)
    hours, minutes, seconds = (float(g or 0) for g in wall.groups())
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", result.stderr).group(1))
              for kind in ("User", "System"))
    return hours * 3600 + minutes * 60 + seconds, peak * 1024, cpu


def timed_pair(first, second, swapped):
    """(timed(first), timed(second)), run in the other order when `swapped`, each after an
    idle PAUSE_S."""
    results = []
    for command in (second, first) if swapped else (first, second):
        time.sleep(PAUSE_S)
        results.append(timed(command))
    return tuple(reversed(results)) if swapped else tuple(results)


def pyarrow_read(path):
    reader = "csv.read_csv" if path.suffix == ".csv" else "parquet.read_table"
    module = reader.split(".")[0]
    return [sys.executable, "-c", f"import pyarrow.{module} as m; "
                                  f"m.{reader.split('.')[1]}({str(path)!r})"]


def compare_formats(folder, n_rows, pairs):
    csv_path, parquet_path = write_table(folder, n_rows)
    matrix = n_rows * (N_NUMERIC + len(LEVELS)) * 4  # float32 features after one-hot
    report = {"rows": n_rows, "pairs": pairs, "float32_matrix_bytes": matrix, "formats": {}}
    for path in (csv_path, parquet_path):
        config = experiment(folder, {"path": str(path), "target": "label",
                                     "categorical": ["color"]}, path.suffix[1:])
        train = [NNX, "train", str(config), "-q", "--results-dir", str(folder / "results")]
        runs = [timed_pair(train, pyarrow_read(path), swapped=i % 2 == 1)
                for i in range(pairs)]
        wall = statistics.median(a[0] / b[0] for a, b in runs)
        nnx_peak = statistics.median(a[1] for a, _ in runs)
        report["formats"][path.suffix[1:]] = {
            "file_bytes": path.stat().st_size,
            "nnx_train_s": statistics.median(a[0] for a, _ in runs),
            "pyarrow_read_s": statistics.median(b[0] for _, b in runs),
            "nnx_train_cpu_s": statistics.median(a[2] for a, _ in runs),
            "pyarrow_read_cpu_s": statistics.median(b[2] for _, b in runs),
            "nnx_peak_rss_bytes": nnx_peak,
            "pyarrow_peak_rss_bytes": statistics.median(b[1] for _, b in runs),
            "wall_ratio": wall, "peak_rss_over_matrix": nnx_peak / matrix}
    return report


def npy_run(folder, gigabytes):
    """Peak RssAnon and RssFile of one epoch on a .npy folder of about `gigabytes`."""
    n_features = 100
    n_rows = int(gigabytes * 2**30 // (4 * n_features))
    data = folder / "npy"
    data.mkdir()
    x = np.lib.format.open_memmap(data / "x.npy", mode="w+", dtype=np.float32,
                                  shape=(n_rows, n_features))
    rng = np.random.default_rng(0)
    labels = np.empty(n_rows, dtype=np.int64)
    for start in range(0, n_rows, 1_000_000):
        block = rng.normal(size=(min(1_000_000, n_rows - start), n_features)).astype(np.float32)
        x[start:start + len(block)] = block
        labels[start:start + len(block)] = block[:, 0] + block[:, 1] > 0
    x.flush()
    del x
    np.save(data / "y.npy", labels)
    config = experiment(folder, {"path": str(data)}, "npy")
    started = time.perf_counter()
    process = subprocess.Popen([NNX, "train", str(config), "-q", "--results-dir",
                                str(folder / "results")])
    peaks = {"RssAnon": 0, "RssFile": 0, "VmHWM": 0}
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except OSError:
            break
        for key in peaks:
            found = re.search(rf"^{key}:\s+(\d+) kB", status, re.M)
            if found:
                peaks[key] = max(peaks[key], int(found.group(1)) * 1024)
        time.sleep(0.2)
    if process.wait() != 0:
        raise SystemExit("nnx train on the .npy folder failed")
    return {"x_bytes": n_rows * n_features * 4, "rows": n_rows,
            "wall_s": time.perf_counter() - started,
            **{f"peak_{k}_bytes": v for k, v in peaks.items()}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--npy-gb", type=float, default=None,
                        help="instead: train on a .npy folder of this many GB")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nnx-data-load-") as tmp:
        folder = Path(tmp)
        if args.npy_gb:
            report = {"npy": npy_run(folder, args.npy_gb)}
        else:
            report = compare_formats(folder, args.rows, args.pairs)
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return report


def print_report(report):
    mib = 2**20
    if "npy" in report:
        npy = report["npy"]
        print(f".npy folder: x {npy['x_bytes'] / mib:,.0f} MiB ({npy['rows']:,} rows), "
              f"one epoch {npy['wall_s']:.1f} s, peak RssAnon "
              f"{npy['peak_RssAnon_bytes'] / mib:,.0f} MiB, peak RssFile "
              f"{npy['peak_RssFile_bytes'] / mib:,.0f} MiB, VmHWM "
              f"{npy['peak_VmHWM_bytes'] / mib:,.0f} MiB")
        return
    print(f"{report['rows']:,} rows; float32 feature matrix "
          f"{report['float32_matrix_bytes'] / mib:,.0f} MiB")
    print(f"{'format':8} {'file MiB':>9} {'nnx train s':>12} {'pyarrow s':>10} {'ratio':>6} "
          f"{'nnx peak MiB':>13} {'/ matrix':>9} {'pyarrow peak MiB':>17} {'CPU s nnx':>10} "
          f"{'pyarrow':>8}")
    for name, row in report["formats"].items():
        print(f"{name:8} {row['file_bytes'] / mib:9,.0f} {row['nnx_train_s']:12.2f} "
              f"{row['pyarrow_read_s']:10.2f} {row['wall_ratio']:6.2f} "
              f"{row['nnx_peak_rss_bytes'] / mib:13,.0f} {row['peak_rss_over_matrix']:9.2f} "
              f"{row['pyarrow_peak_rss_bytes'] / mib:17,.0f} {row['nnx_train_cpu_s']:10.2f} "
              f"{row['pyarrow_read_cpu_s']:8.2f}")


if __name__ == "__main__":
    main()

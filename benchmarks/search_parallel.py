"""`nnx search --n-jobs 2` against `--n-jobs 1`: wall time of a fixed 12-trial budget.

The budget is a 12-point grid (3 learning rates x 4 widths of a one-hidden-layer MLP on
digits, batch 8, a fixed number of epochs, no pruning), so every run trains exactly the same
12 networks, ~2 s each. Small networks are what most searches train: their steps are short,
so a second thread barely speeds one trial up, while a second process runs a second. Each
run is a fresh study through the public CLI (`nnx search ... --method grid --pruner none
--save-model none`), timed from process start to exit (start-up and worker spawning
included). `--n-jobs 1` runs as a user would run it (its trials use every core); the
`--n-jobs 1 --threads 1` row shows what the processes alone gain. Runs alternate (A B C A B
C ...); the figure is the median of the per-round ratios n-jobs 2 / n-jobs 1 (target
<= 0.6 on 2 cores). The load average is printed with each run: other work on the machine
skews the figures (multithreaded trials suffer most from a busy machine).

    python -m benchmarks.search_parallel [--rounds 3] [--epochs 300] [--cores 0,1]

`--cores` pins the runs to those CPUs (taskset), e.g. 2 cores of a larger machine.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

EXPERIMENT = {
    "name": "parallel-bench",
    "seed": 0,
    "data": {"dataset": "digits", "validation_split": 0.2, "test_split": 0.0,
             "standardize": True},
    "model": {"layers": [
        {"type": "dense", "units": 128, "activation": "relu"},
        {"type": "dense", "units": 10, "activation": "softmax"}]},
    "train": {"loss": "categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.001},
              "batch_size": 8, "epochs": 300, "metrics": ["accuracy"]},
    "search": {"metric": "val_accuracy", "space": {
        "train.optimizer.lr": {"type": "categorical", "choices": [0.0003, 0.001, 0.003]},
        "model.layers.0.units": {"type": "categorical", "choices": [64, 96, 128, 160]}}},
}
VARIANTS = {"n_jobs_1": ["--n-jobs", "1"], "n_jobs_1_threads_1": ["--n-jobs", "1",
                                                                   "--threads", "1"],
            "n_jobs_2": ["--n-jobs", "2"]}


def run(folder, name, args, epochs, cores):
    command = [sys.executable, "-m", "nnx.cli", "search", "experiment.yaml", "--method", "grid",
               "--pruner", "none", "--save-model", "none", "--n-trials", "12",
               "--set", f"train.epochs={epochs}", "--study", name,
               "--results-dir", str(folder / name), *args]
    if cores:
        command = ["taskset", "-c", cores, *command]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    trials = json.loads((folder / name / "studies" / f"{name}.json").read_text())["trials"]
    assert len(trials) == 12, f"{name}: {len(trials)} trials"
    return wall, load


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--cores", default=None, help="taskset CPU list, e.g. 0,1")
    options = parser.parse_args()
    cores = len(options.cores.split(",")) if options.cores else len(os.sched_getaffinity(0))
    rows = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="nnx-parallel-") as tmp:
        folder = Path(tmp)
        (folder / "experiment.yaml").write_text(yaml.safe_dump(EXPERIMENT, sort_keys=False))
        run(folder, "warm-up", ["--n-jobs", "2"], 1, options.cores)  # kernel cache, datasets
        for index in range(options.rounds):
            for name, args in VARIANTS.items():
                wall, load = run(folder, f"{name}-{index}", args, options.epochs, options.cores)
                rows[name].append((wall, load))
                print(f"round {index}  {name:<20} {wall:7.1f} s   load {load:.2f}", flush=True)
    ratios = [two[0] / one[0] for one, two in zip(rows["n_jobs_1"], rows["n_jobs_2"])]
    ratios_t1 = [two[0] / one[0] for one, two in zip(rows["n_jobs_1_threads_1"],
                                                    rows["n_jobs_2"])]
    summary = {
        "cores": cores, "trials": 12, "epochs": options.epochs, "rounds": options.rounds,
        "wall_s": {name: [round(w, 2) for w, _ in values] for name, values in rows.items()},
        "load_avg_1min": {name: [round(lo, 2) for _, lo in values]
                          for name, values in rows.items()},
        "ratio_n_jobs_2_vs_1": round(statistics.median(ratios), 3),
        "ratio_n_jobs_2_vs_1_threads_1": round(statistics.median(ratios_t1), 3),
    }
    print(f"n-jobs 2 / n-jobs 1: median {summary['ratio_n_jobs_2_vs_1']:.2f} "
          f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}); against n-jobs 1 with one "
          f"thread: {summary['ratio_n_jobs_2_vs_1_threads_1']:.2f}; target <= 0.6")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

"""How long `nnx report` takes over a large results folder: 1,000 runs and 20 studies.

Writes synthetic but realistically sized JSON (through nnx.results.write_json, as `nnx train`
and `nnx search` do): each run has a 30-epoch history (loss, accuracy, val_loss,
val_accuracy, lr), basic diagnostics for 3 layers (grad_norm, weight_norm, update_ratio,
dead_fraction per epoch), a 10 x 10 confusion matrix and a resolved config; each study has 30
trials with per-epoch intermediate values, whose runs are 600 of the 1,000. Then times, as
real processes writing to a pipe (start-up included), the median of `--repeat` runs of:

- `nnx report`        (the overview: 400 runs and 20 studies listed, trial runs folded)
- `nnx report --all`  (all 1,000 runs and 20 studies listed)

    python -m benchmarks.report_overview [--runs 1000] [--studies 20] [--repeat 5] [--keep DIR]

Target: under 2 s.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nnx.results import write_json

EPOCHS, LAYERS, TRIALS = 30, 3, 30


def curve(rng, start, end, n=EPOCHS):
    return [end + (start - end) * (0.85 ** i) + rng.gauss(0, 0.01) for i in range(n)]


def run_record(rng, run_id, name, created, lr, units):
    layers = [{"type": "dense", "units": units, "activation": "relu", "init": "he_normal",
               "bias_init": "zeros", "use_bias": True, "kernel_regularizer": None}
              for _ in range(LAYERS - 1)]
    layers.append({"type": "dense", "units": 10, "activation": "softmax",
                   "init": "glorot_uniform", "bias_init": "zeros", "use_bias": True,
                   "kernel_regularizer": None})
    final = rng.uniform(0.85, 0.98)
    history = {"loss": curve(rng, 2.3, 0.1), "accuracy": curve(rng, 0.2, final + 0.02),
               "val_loss": curve(rng, 2.2, 0.2), "val_accuracy": curve(rng, 0.2, final),
               "lr": [lr] * EPOCHS}
    per_epoch = {}
    for i in range(LAYERS):
        per_epoch[f"{i}.dense"] = {
            "grad_norm": curve(rng, 1.0, 0.1), "weight_norm": curve(rng, 5.0, 9.0),
            "update_ratio": curve(rng, 0.01, 0.001)}
        if i < LAYERS - 1:
            per_epoch[f"{i}.dense"]["dead_fraction"] = curve(rng, 0.0, 0.05)
    matrix = [[rng.randint(0, 3) if i != j else rng.randint(30, 40) for j in range(10)]
              for i in range(10)]
    return {
        "schema": "nnx.run/1", "run_id": run_id, "name": name, "status": "completed",
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round(rng.uniform(5, 120), 3),
        "config": {"name": name, "seed": 0, "diagnostics": "basic",
                   "data": {"dataset": "digits", "validation_split": 0.2, "test_split": 0.2,
                            "standardize": True, "task": None},
                   "model": {"layers": layers, "dtype": "float32"},
                   "train": {"loss": {"type": "categorical_crossentropy",
                                      "from_logits": False},
                             "optimizer": {"type": "adam", "lr": lr, "beta1": 0.9,
                                           "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
                             "batch_size": 32, "epochs": EPOCHS, "metrics": ["accuracy"],
                             "early_stopping": None, "schedule": None, "shuffle": True,
                             "threads": 2},
                   "search": None},
        "environment": {"nnx": "0.1.0", "python": "3.11.7", "numpy": "2.4.6",
                        "numba": "0.68.1", "platform": "Linux", "machine": "x86_64",
                        "host": "bench", "cpu_count": 16, "threads": 2, "blas_threads": 2},
        "history": history,
        "metrics": {s: {"loss": history["val_loss"][-1], "accuracy": final}
                    for s in ("train", "val", "test")},
        "diagnostics": {"level": "basic", "thresholds": {}, "per_epoch": per_epoch,
                        "flags": [], "confusion_matrix": matrix},
        "model_path": None, "error": None, "stop_reason": None,
    }


def generate(root, n_runs, n_studies, seed=0):
    rng = random.Random(seed)
    studies = {}  # study index -> its trials
    start = datetime(2026, 1, 1, tzinfo=UTC)
    trial_runs = n_studies * TRIALS
    for i in range(n_runs):
        study = i // TRIALS if i < trial_runs else None
        name = f"study{study:02d}" if study is not None else f"exp{i % 17:02d}"
        created = start + timedelta(minutes=3 * i)
        run_id = f"{name}-{created.strftime('%Y%m%dT%H%M%S')}-{i:06x}"
        lr, units = 10 ** rng.uniform(-4, -1), rng.choice([32, 64, 128, 256])
        record = run_record(rng, run_id, name, created, lr, units)
        write_json(Path(root) / "runs" / f"{run_id}.json", record)
        if study is not None:
            trials = studies.setdefault(study, [])
            trials.append({
                "number": len(trials), "state": "complete",
                "params": {"train.optimizer.lr": lr, "model.layers.0.units": units},
                "value": record["metrics"]["val"]["accuracy"],
                "intermediate": {str(e + 1): v for e, v in
                                 enumerate(record["history"]["val_accuracy"])},
                "duration_s": record["duration_s"], "seed": 0, "run_id": run_id,
                "host": "bench", "pid": 1, "error": None, "command": "nnx train x.yaml",
                "started": created.isoformat()})
    for study, trials in studies.items():
        best = max(trials, key=lambda t: t["value"])
        write_json(Path(root) / "studies" / f"study{study:02d}.json", {
            "schema": "nnx.study/1", "study": f"study{study:02d}", "method": "bayes",
            "storage": "journal", "metric": "val_accuracy", "direction": "maximize",
            "space": {"train.optimizer.lr": {"type": "float", "low": 1e-4, "high": 0.1,
                                             "log": True},
                      "model.layers.0.units": {"type": "categorical",
                                               "choices": [32, 64, 128, 256]}},
            "fingerprint": "0" * 16, "experiment": "x.yaml", "overrides": [],
            "created": trials[0]["started"],
            "best": {"trial": best["number"], "value": best["value"],
                     "params": best["params"], "run_id": best["run_id"],
                     "command": best["command"]},
            "trials": trials, "counts": {"complete": len(trials), "pruned": 0, "diverged": 0,
                                         "failed": 0, "running": 0, "waiting": 0}})


def time_report(root, args, repeat):
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "nnx.cli", "report", "--results-dir",
                               str(root), *args], capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
    return statistics.median(times), len(done.stdout.splitlines())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the results folder here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "results"
        generate(root, args.runs, args.studies)
        size = sum(p.stat().st_size for p in root.rglob("*.json"))
        print(f"{args.runs} runs, {args.studies} studies: {size / 1e6:.1f} MB of JSON "
              f"({size / (args.runs + args.studies) / 1e3:.1f} kB a file)")
        for label, extra in (("nnx report", []), ("nnx report --all", ["--all"])):
            seconds, lines = time_report(root, extra, args.repeat)
            print(f"{label:<18} {seconds:.2f} s  (median of {args.repeat}, {lines} lines "
                  f"of output)")


if __name__ == "__main__":
    main()

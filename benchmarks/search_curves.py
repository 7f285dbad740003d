"""Search quality, not speed: mean best-so-far validation accuracy vs trial number for
`random` and `bayes` (TPE) on a wide MLP space over the digits dataset.

Each (method, seed) is one study run through the public CLI (`nnx search ... --pruner none
--save-model none`); the seed names the study, so each gets its own sampler seed. The
base experiment (data split, initialization) is the same for every study, so the curves
differ only by how the sampler explores. Two studies run at a time, one thread each.

    python -m benchmarks.search_curves [--trials 30] [--seeds 5] [--epochs 5] [--out FILE]

Prints a table (trial: mean best-so-far per method, with the spread over seeds) and writes
the curves as JSON (default benchmarks/search_curves.json).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

METHODS = ("random", "bayes")

# Wide on purpose: the learning rate spans five decades, SGD without momentum is slow, depth
# and width vary, and sigmoid units train badly in few epochs, so most of the space is poor
# and a sampler that learns where the good region is should pull ahead.
EXPERIMENT = {
    "name": "digits-wide-mlp",
    "seed": 0,
    "data": {"dataset": "digits", "validation_split": 0.2, "test_split": 0.2,
             "standardize": True},
    "model": {"layers": [
        {"type": "dense", "units": 64, "activation": "relu", "init": "he_normal"},
        {"type": "dropout", "rate": 0.1},
        {"type": "dense", "units": 10, "activation": "softmax"}]},
    "train": {"loss": "categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.001},
              "batch_size": 32, "epochs": 5, "metrics": ["accuracy"]},
    "search": {"metric": "val_accuracy", "direction": "maximize", "space": {
        "train.optimizer.type": {"type": "categorical", "choices": ["adam", "sgd", "rmsprop"]},
        "train.optimizer.lr": {"type": "float", "low": 1.0e-5, "high": 1.0, "log": True},
        "train.optimizer.momentum": {"type": "float", "low": 0.0, "high": 0.95,
                                     "when": {"train.optimizer.type": "sgd"}},
        "train.batch_size": {"type": "categorical", "choices": [16, 32, 64, 128, 256]},
        "model.layers.0.units": {"type": "int", "low": 8, "high": 512, "log": True},
        "model.layers.0.activation": {"type": "categorical",
                                      "choices": ["relu", "tanh", "sigmoid", "gelu"]},
        "model.layers.0.repeat": {"type": "int", "low": 1, "high": 3},
        "model.layers.1.rate": {"type": "float", "low": 0.0, "high": 0.6},
    }},
}


def run_study(folder, method, seed, trials):
    study = f"{method}-s{seed}"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "NUMBA_NUM_THREADS": "1"}
    command = [sys.executable, "-c", "from nnx.cli import main; main()", "search",
               str(folder / "exp.yaml"),
               "--method", method, "--study", study, "--n-trials", str(trials),
               "--pruner", "none", "--save-model", "none", "--threads", "1",
               "--results-dir", str(folder / "results")]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{study} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    document = json.loads((folder / "results" / "studies" / f"{study}.json").read_text())
    values = [t["value"] if t["state"] == "complete" and t["value"] is not None else 0.0
              for t in sorted(document["trials"], key=lambda t: t["number"])]
    best, curve = 0.0, []
    for value in values:
        best = max(best, value)
        curve.append(best)
    return method, seed, curve, document["counts"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).with_name("search_curves.json")))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        experiment = {**EXPERIMENT, "train": {**EXPERIMENT["train"], "epochs": args.epochs}}
        (folder / "exp.yaml").write_text(yaml.safe_dump(experiment, sort_keys=False))
        jobs = [(m, s) for s in range(args.seeds) for m in METHODS]
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda job: run_study(folder, *job, args.trials), jobs))
    curves = {m: [c for method, _, c, _ in results if method == m] for m in METHODS}
    counts = {m: [n for method, _, _, n in results if method == m] for m in METHODS}
    summary = {m: {"mean": [statistics.fmean(c[i] for c in curves[m])
                            for i in range(args.trials)],
                   "min": [min(c[i] for c in curves[m]) for i in range(args.trials)],
                   "max": [max(c[i] for c in curves[m]) for i in range(args.trials)]}
               for m in METHODS}
    print(f"mean best-so-far val_accuracy over {args.seeds} seeds ({args.epochs} epochs per "
          f"trial, digits, wide MLP space); [min, max] over seeds")
    print(f"{'trial':>5}  " + "  ".join(f"{m:>22}" for m in METHODS))
    for i in range(args.trials):
        cells = [f"{summary[m]['mean'][i]:.4f} [{summary[m]['min'][i]:.3f}, "
                 f"{summary[m]['max'][i]:.3f}]" for m in METHODS]
        print(f"{i + 1:>5}  " + "  ".join(f"{c:>22}" for c in cells))
    diverged = {m: sum(n.get("diverged", 0) for n in counts[m]) for m in METHODS}
    print(f"diverged trials: {diverged}; wall time {time.perf_counter() - started:.0f} s")
    Path(args.out).write_text(json.dumps({
        "trials": args.trials, "seeds": args.seeds, "epochs": args.epochs,
        "space": EXPERIMENT["search"]["space"], "curves": curves, "summary": summary,
        "counts": counts}, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""Regenerate docs/report.md: run a tiny `nnx train` and `nnx search` into a temporary
results folder, then capture each `nnx report` view as text (`make docs`).

The commands run as real processes off a terminal, 100 columns wide, exactly as a user
would type them in a folder holding the experiment file.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

DOCS = Path(__file__).resolve().parent
WIDTH = 100

EXPERIMENT = {
    "name": "iris-demo",
    "seed": 0,
    "data": {"dataset": "iris"},
    "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"},
                         {"type": "dense", "units": 3, "activation": "softmax"}]},
    "train": {"loss": "categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.05},
              "epochs": 8, "batch_size": 16, "metrics": ["accuracy"]},
    "search": {"metric": "val_accuracy", "direction": "maximize", "method": "random",
               "n_trials": 12, "pruner": "median", "space": {
                   "train.optimizer.lr": {"type": "float", "low": 1.0e-3, "high": 0.3,
                                          "log": True},
                   "model.layers.0.units": {"type": "int", "low": 2, "high": 32},
                   "model.layers.0.activation": {"type": "categorical",
                                                 "choices": ["relu", "tanh"]}}},
}


def nnx(folder, *args, ok=(0, 1)):
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NNX_RESULTS_DIR")}
    env["COLUMNS"] = str(WIDTH)
    done = subprocess.run([sys.executable, "-m", "nnx.cli", *args], cwd=folder, env=env,
                          capture_output=True, text=True)
    if done.returncode not in ok:
        raise SystemExit(f"nnx {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    text = done.stdout.rstrip() + ("\n" + done.stderr.rstrip() if done.stderr.strip() else "")
    return "\n".join(line.rstrip() for line in text.splitlines())


def capture(folder, *args):
    command = " ".join(["nnx", *args])
    output = nnx(folder, *args, ok=(0,))
    fence = "````" if "```" in output else "```"  # markdown output holds fences itself
    return f"{fence}text\n$ {command}\n{output}\n{fence}\n"


def produce(folder):
    (folder / "iris.yaml").write_text(yaml.safe_dump(EXPERIMENT, sort_keys=False))
    nnx(folder, "train", "iris.yaml", "--quiet")
    nnx(folder, "train", "iris.yaml", "--quiet", "--set", "train.optimizer.type=sgd",
        "--set", "train.optimizer.lr=1000000")
    nnx(folder, "train", "iris.yaml", "--quiet", "--set", "model.layers.0.units=32",
        "--set", "train.epochs=12",
        "--set", "model.layers.0.bias_init={type: constant, value: -3}")
    nnx(folder, "search", "iris.yaml", ok=(0,))
    grid = {**EXPERIMENT, "name": "iris-grid",
            "search": {**EXPERIMENT["search"], "method": "grid", "space": {
                "train.optimizer.lr": {"type": "categorical", "choices": [0.01, 0.1]},
                "model.layers.0.activation": {"type": "categorical",
                                              "choices": ["relu", "tanh"]}}}}
    (folder / "iris-grid.yaml").write_text(yaml.safe_dump(grid, sort_keys=False))
    nnx(folder, "search", "iris-grid.yaml", ok=(0,))
    runs = sorted((folder / "results" / "runs").glob("*.json"), key=os.path.getmtime)
    return [p.stem for p in runs]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run_ids = produce(folder)
        plain, diverged, wide = run_ids[:3]
        damaged = folder / "results" / "runs" / "half-written.json"
        damaged.write_text('{"schema": "nnx.run/1", "run_id": "half-')
        (folder / "results" / "runs" / "notes.json").write_text('{"todo": "tune lr"}')
        captures = {
            "overview": capture(folder, "report"),
            "sorted": capture(folder, "report", "--all", "--sort", "val_accuracy",
                              "--top", "5"),
            "study": capture(folder, "report", "iris-demo"),
            "run": capture(folder, "report", plain),
            "flags": capture(folder, "report", wide),
            "diverged": capture(folder, "report", "--format", "markdown", diverged),
            "compare_runs": capture(folder, "report", "--compare", plain, wide),
            "compare_studies": capture(folder, "report", "--compare", "iris-demo",
                                       "iris-grid"),
            "csv": capture(folder, "report", "--format", "csv", "iris-grid"),
            "json": capture(folder, "report", "--format", "json", "--status", "diverged"),
        }
    text = (DOCS / "report.template.md").read_text()
    for key, value in captures.items():
        text = text.replace("{{" + key + "}}", value.rstrip("\n"))
    (DOCS / "report.md").write_text(text)
    print(f"wrote {DOCS / 'report.md'}")


if __name__ == "__main__":
    main()

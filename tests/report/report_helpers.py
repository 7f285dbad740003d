"""Helpers of the report tests: the tiny experiments, what they produced, rendering
through rich's recording console."""

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from experiment_configs import tiny_moons
from rich.console import Console
from typer.testing import CliRunner

IRIS = {
    "name": "iris-tiny",
    "seed": 0,
    "data": {"dataset": "iris"},
    "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"},
                         {"type": "dense", "units": 3, "activation": "softmax"}]},
    "train": {"loss": "categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.05},
              "epochs": 3, "batch_size": 16, "metrics": ["accuracy"]},
    "search": {"metric": "val_accuracy", "direction": "maximize", "method": "random",
               "n_trials": 6, "pruner": "none", "space": {
                   "train.optimizer.lr": {"type": "float", "low": 1.0e-3, "high": 0.1,
                                          "log": True},
                   "model.layers.0.units": {"type": "int", "low": 2, "high": 16},
                   "model.layers.0.activation": {"type": "categorical",
                                                 "choices": ["relu", "tanh"]}}},
}

MOONS = {
    **tiny_moons("moons-tiny", seed=1, epochs=2),
    "search": {"metric": "val_loss", "direction": "minimize", "method": "grid",
               "pruner": "none", "space": {
                   "train.optimizer.lr": {"type": "categorical", "choices": [0.01, 0.1]},
                   "model.layers.0.activation": {"type": "categorical",
                                                 "choices": ["relu", "tanh"]}}},
}


@dataclass
class Produced:
    """The results folder and what made it: run ids by role, study names."""

    root: Path
    runs: dict = field(default_factory=dict)  # role -> run id
    studies: tuple = ("iris-tiny", "moons-tiny")

    def run_path(self, role):
        return self.root / "runs" / f"{self.runs[role]}.json"

    def run_json(self, role):
        return json.loads(self.run_path(role).read_text())

    def study_path(self, name):
        return self.root / "studies" / f"{name}.json"

    def study_json(self, name):
        return json.loads(self.study_path(name).read_text())

    def all_runs(self):
        return [json.loads(p.read_text()) for p in sorted((self.root / "runs").glob("*.json"))]


def nnx(*args):
    from nnx.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    return result


def train(folder, root, config, filename, *sets):
    path = folder / filename
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    before = {p.stem for p in (root / "runs").glob("*.json")} if (root / "runs").exists() \
        else set()
    result = nnx("train", path, "--results-dir", root, "--quiet",
                  *[w for s in sets for w in ("--set", s)])
    assert result.exit_code in (0, 1), result.output
    (new,) = {p.stem for p in (root / "runs").glob("*.json")} - before
    return new


def render(request_or_views, width=160):
    """The text a report prints on a recording console `width` wide."""
    from nnx.report import ReportRequest, build_views
    from nnx.report.formats import print_views

    views = (build_views(request_or_views) if isinstance(request_or_views, ReportRequest)
             else request_or_views)
    console = Console(record=True, width=width, file=io.StringIO())
    print_views(views, console)
    return console.export_text()


def block(text, title):
    """The lines of the section headed `title`, up to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(title))
    out = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        out.append(line)
    return out


def damage(root):
    """Seven damaged or foreign files in the results folder `root`; returns {file name: what
    the report says of it}."""
    runs, studies = root / "runs", root / "studies"
    (runs / "truncated.json").write_text('{"schema": "nnx.run/1", "run_id": "x", ')
    (runs / "foreign.json").write_text(json.dumps({"schema": "other/1", "a": 1}))
    (runs / "a-list.json").write_text("[1, 2, 3]")
    (runs / "no-config.json").write_text(json.dumps(
        {"schema": "nnx.run/1", "run_id": "no-config", "status": "completed"}))
    (runs / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (studies / "broken.json").write_text(json.dumps({"schema": "nnx.study/1", "study": "b",
                                                     "trials": "many"}))
    (studies / "empty.json").write_text("")
    return {"truncated.json": "damaged JSON", "foreign.json": "not a 'nnx.run/1' document",
            "a-list.json": "expected a JSON object", "no-config.json": "'config' is missing",
            "binary.json": "cannot read it", "broken.json": "'trials' is not a list",
            "empty.json": "damaged JSON"}

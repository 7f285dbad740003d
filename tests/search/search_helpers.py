"""Helpers of the search tests: tiny experiments (iris, Dense 8, 3 epochs) written to a
temporary folder, and the CLI run in-process with the results folder there."""

import copy
import json
import os

import yaml
from typer.testing import CliRunner

BASE = {
    "name": "tiny",
    "seed": 0,
    "data": {"dataset": "iris", "validation_split": 0.3, "test_split": 0.0},
    "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"},
                         {"type": "dense", "units": 3, "activation": "softmax"}]},
    "train": {"loss": "categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.01},
              "epochs": 3, "batch_size": 16, "metrics": ["accuracy"]},
    "search": {"metric": "val_accuracy", "n_trials": 3, "space": {
        "train.optimizer.lr": {"type": "float", "low": 1.0e-3, "high": 0.1, "log": True},
        "model.layers.0.units": {"type": "categorical", "choices": [4, 8]}}},
}


class Workspace:
    """A temporary folder with experiment files and a results folder."""

    def __init__(self, root):
        self.root = root
        self.results = root / "results"
        self.runner = CliRunner()

    def experiment(self, filename="exp.yaml", space=None, search=None, **sections):
        """Write BASE with `sections` replaced (and `search.space` / search keys changed);
        returns the file name, relative to the workspace."""
        config = copy.deepcopy(BASE)
        config.update(copy.deepcopy(sections))
        if search is not None:
            config["search"].update(search)
        if space is not None:
            config["search"]["space"] = space
        (self.root / filename).write_text(yaml.safe_dump(config, sort_keys=False))
        return filename  # relative: commands run in the workspace

    def nnx(self, *args):
        """Run `nnx ARGS` in-process from the workspace; returns the click Result."""
        from nnx.cli import app

        args = [str(a) for a in args]
        if args and args[0] in ("search", "train", "studies"):
            args += ["--results-dir", str(self.results)]
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            return self.runner.invoke(app, args, catch_exceptions=False)
        finally:
            os.chdir(cwd)

    def study(self, name="tiny"):
        return json.loads((self.results / "studies" / f"{name}.json").read_text())

    def journal(self, name="tiny"):
        path = self.results / "studies" / f"{name}.journal"
        return path.read_bytes() if path.exists() else None

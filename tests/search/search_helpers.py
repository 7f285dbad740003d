"""Helpers of the search tests: tiny experiments (iris, Dense 8, 3 epochs) written to a
temporary folder, and the CLI run in-process with the results folder there."""

import copy
import json
import os
import subprocess
import sys
import time

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


class PruneAtStep:
    """A stand-in for an Optuna trial whose pruner says 'prune' from `step` on."""

    def __init__(self, step):
        self.step, self.reports = step, {}

    def report(self, value, step):
        self.reports[step] = value

    def should_prune(self):
        return max(self.reports) >= self.step


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
        if args and args[0] in ("search", "train", "studies") and "--results-dir" not in args:
            args += ["--results-dir", str(self.results)]
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            return self.runner.invoke(app, args, catch_exceptions=False)
        finally:
            os.chdir(cwd)

    def study(self, name="tiny"):
        return json.loads((self.results / "studies" / f"{name}.json").read_text())

    def run_record(self, run_id):
        return json.loads((self.results / "runs" / f"{run_id}.json").read_text())

    def journal(self, name="tiny"):
        path = self.results / "studies" / f"{name}.journal"
        return path.read_bytes() if path.exists() else None

    def spawn(self, *args, results=None):
        """Start `nnx ARGS` as a real process from the workspace (for kills and overlaps);
        returns the Popen (stdout and stderr together, as text)."""
        args = [str(a) for a in args]
        if args and args[0] in ("search", "train", "studies") and "--results-dir" not in args:
            args += ["--results-dir", str(results or self.results)]
        return subprocess.Popen([sys.executable, "-m", "nnx.cli", *args], cwd=self.root,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def trials(self, name="tiny"):
        """The study's trials as Optuna has them now (read from its journal)."""
        import optuna

        from nnx.search.storage import journal_path, open_journal

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        path = journal_path(self.results, name)
        if not path.exists():
            return []
        try:
            study = optuna.load_study(study_name=name, storage=open_journal(path).optuna)
        except KeyError:  # the file exists, the study not yet
            return []
        return study.get_trials(deepcopy=False)


def wait_for(condition, timeout=60.0, every=0.05, what="the condition"):
    """Poll `condition()` until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def finish(process, timeout=120):
    """Wait for a spawned process; returns (exit code, output)."""
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output

"""Shared setup of the CLI tests: tiny experiments in a temporary folder, the app run
in-process (CliRunner) or as a real `python -m nnx.cli` process."""

import copy
import json
import os
import re
import subprocess
import sys
import time

import pytest
import yaml
from experiment_configs import tiny_moons
from typer.testing import CliRunner

TIMEOUT = 120

TINY = tiny_moons(epochs=3)

# Slow enough to interrupt: one sample per batch, many epochs.
SLOW = {
    "name": "slow",
    "seed": 0,
    "data": {"dataset": "digits"},
    "model": {"layers": [{"type": "dense", "units": 64, "activation": "relu"},
                         {"type": "dense", "units": 10, "activation": "softmax"}]},
    "train": {"loss": "categorical_crossentropy", "batch_size": 1, "epochs": 500,
              "metrics": ["accuracy"]},
}


class Workspace:
    """A temporary folder with experiment files and a results folder."""

    TINY, SLOW = TINY, SLOW

    def __init__(self, root):
        self.root = root
        self.results = root / "results"
        self.runner = CliRunner()

    def experiment(self, config=None, filename="exp.yaml", **sections):
        """Write `config` (TINY by default) with top-level `sections` replaced."""
        config = copy.deepcopy(TINY if config is None else config)
        config.update(copy.deepcopy(sections))
        path = self.root / filename
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def text(self, content, filename="exp.yaml"):
        path = self.root / filename
        path.write_text(content)
        return path

    def nnx(self, *args, results=True):
        """`nnx ARGS` in-process; train/evaluate/predict get `--results-dir` here."""
        from nnx.cli import app

        args = [str(a) for a in args]
        if results and args and args[0] in ("train", "evaluate", "predict"):
            args += ["--results-dir", str(self.results)]
        return self.runner.invoke(app, args)

    def process(self, *args, **popen):
        """A real `python -m nnx.cli ARGS` process (stdout and stderr piped)."""
        env = {**os.environ, "NNX_RESULTS_DIR": str(self.results)}  # nnx's own kernel cache
        env.pop("NNX_DEBUG", None)
        return subprocess.Popen([sys.executable, "-m", "nnx.cli", *map(str, args)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, cwd=self.root, **popen)

    @staticmethod
    def wait_for_line(process, pattern, timeout=TIMEOUT):
        """Read a process's stdout until a line matches; returns the lines read."""
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if re.search(pattern, line):
                return lines
        process.kill()
        raise AssertionError(f"no line matching {pattern!r}; got {lines!r}, stderr "
                             f"{process.stderr.read()!r}")

    def runs(self):
        folder = self.results / "runs"
        return sorted(folder.glob("*.json")) if folder.exists() else []

    def record(self):
        (path,) = self.runs()
        return json.loads(path.read_text())


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path)

"""`nnx warmup`: the curriculum validates, the command reports each step and compiles into
the cache that a later process loads from; a step that fails is named (exit 1). The whole
curriculum, with a check that each shipped experiment then compiles nothing, is slow."""

import glob
import json
import os
import subprocess
import sys

import pytest

from nnx import warmup
from nnx.config import resolve_config

EXPERIMENTS = os.path.join(os.path.dirname(__file__), "..", "..", "experiments")
SHIPPED = sorted(glob.glob(os.path.join(EXPERIMENTS, "*.yaml")))
COMPILED = """
import json, sys
from nnx.config import load_experiment
from nnx.experiment import run_experiment
run_experiment(load_experiment(sys.argv[1], ["train.epochs=1"]), sys.argv[2], save_model=False)
counts = {}
for name, module in list(sys.modules.items()):
    if name.startswith("nnx.kernels."):
        for attr, fn in vars(module).items():
            if hasattr(fn, "stats") and getattr(fn, "signatures", None):
                counts[f"{name}.{attr}"] = sum(fn.stats.cache_misses.values())
print(json.dumps(counts))
"""
# `nnx warmup --jobs 1` over the one step that trains digits' MLP.
ONE_STEP_WARMUP = """
import sys
from nnx import warmup
from nnx.cli import main
small = [step for step in warmup.curriculum() if "without diagnostics" in step[0]]
warmup.curriculum = lambda: small
sys.argv = ["nnx", "warmup", "--jobs", "1"]
main()
"""


def test_every_curriculum_experiment_is_valid():
    steps = warmup.curriculum()
    assert len({raw["name"] for _, raw in steps}) == len(steps)
    for _, raw in steps:
        config = resolve_config(raw)
        assert config["train"]["epochs"] == 1 and config["model"]["dtype"] == "float32"


def test_warmup_reports_each_step_and_fills_the_cache(tmp_path):
    # A process of its own: numba reads its cache folder once, when it is first imported.
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", ONE_STEP_WARMUP], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"compiling nnx's float32 kernels into {tmp_path / 'cache'}"
    assert lines[1] == "  1/1 the same without diagnostics"
    assert lines[2].startswith("kernels compiled in ")
    assert any(name.endswith(".nbc") for _, _, files in os.walk(tmp_path / "cache")
               for name in files)


def test_a_failed_step_is_named(ws, monkeypatch):
    description, raw = warmup.curriculum()[0]
    diverging = {**raw, "train": {**raw["train"], "optimizer": {"type": "sgd", "lr": 1e30}}}
    monkeypatch.setattr(warmup, "curriculum", lambda: [(description, diverging)])
    result = ws.nnx("warmup", "--jobs", "1", "--quiet")
    assert result.exit_code == 1
    assert "warm-up run 'warmup-mlp' diverged" in result.stderr
    assert result.stdout == ""


@pytest.fixture(scope="module")
def warmed_cache(tmp_path_factory):
    """A kernel cache that `nnx warmup` filled, shared by the checks below."""
    cache = tmp_path_factory.mktemp("cache")
    subprocess.run([sys.executable, "-m", "nnx.cli", "warmup", "--quiet"], check=True,
                   env={**os.environ, "NUMBA_CACHE_DIR": str(cache)}, timeout=1800)
    return cache


@pytest.mark.slow
@pytest.mark.parametrize("experiment", SHIPPED, ids=lambda path: os.path.basename(path))
def test_after_warmup_each_shipped_experiment_compiles_nothing(warmed_cache, experiment,
                                                               tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(warmed_cache)}
    done = subprocess.run([sys.executable, "-c", COMPILED, experiment, str(tmp_path)],
                          env=env, check=True, capture_output=True, text=True, timeout=600)
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts and not {name: n for name, n in counts.items() if n}

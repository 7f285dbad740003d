"""Each search method runs a few trials through the CLI; the grid prints its size, stops
when exhausted (exit 0, saying so) and a rerun adds nothing."""

import importlib.util
import subprocess
import sys

import pytest

from nnx.config.search_names import METHODS, PRUNERS
from nnx.search import pruners, samplers
from nnx.search.samplers import sampler_seed

GRID_SPACE = {
    "train.optimizer.type": {"type": "categorical", "choices": ["adam", "sgd"]},
    "train.optimizer.momentum": {"type": "float", "low": 0.0, "high": 0.9, "step": 0.9,
                                 "when": {"train.optimizer.type": "sgd"}},
    "model.layers.0.units": {"type": "categorical", "choices": [4, 8]},
}


def check_study(ws, n, method):
    study = ws.study()
    assert study["schema"] == "nnx.study/1" and study["method"] == method
    assert [t["number"] for t in study["trials"]] == list(range(n))
    assert all(t["state"] in ("complete", "pruned") for t in study["trials"])
    assert study["best"]["value"] == max(t["value"] for t in study["trials"]
                                         if t["state"] == "complete")
    return study


@pytest.mark.parametrize("method", ["random", "bayes", "qmc"])
def test_method_runs_trials(ws, method):
    result = ws.nnx("search", ws.experiment(), "--method", method, "--n-trials", 3)
    assert result.exit_code == 0, result.output
    assert "trial   2" in result.output and "reproduce: nnx train exp.yaml" in result.output
    study = check_study(ws, 3, method)
    lrs = [t["params"]["train.optimizer.lr"] for t in study["trials"]]
    assert len(set(lrs)) == 3 and all(1e-3 <= lr <= 0.1 for lr in lrs)


@pytest.mark.slow
def test_gp_method_runs_trials(ws):  # imports torch: slow to start
    if importlib.util.find_spec("torch") is None:
        result = ws.nnx("search", ws.experiment(), "--method", "gp", "--n-trials", 2)
        assert result.exit_code == 2 and "needs the 'torch' package" in result.output
        return
    result = ws.nnx("search", ws.experiment(), "--method", "gp", "--n-trials", 2)
    assert result.exit_code == 0, result.output
    check_study(ws, 2, "gp")


@pytest.mark.parametrize("pruner", ["hyperband", "none"])
def test_pruners_run(ws, pruner):
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--n-trials", 4,
                    "--pruner", pruner)
    assert result.exit_code == 0, result.output
    assert f"pruner {pruner}" in result.output
    states = [t["state"] for t in ws.study()["trials"]]
    assert len(states) == 4 and set(states) <= {"complete", "pruned"}
    if pruner == "none":
        assert set(states) == {"complete"}


def test_cmaes_method_runs_or_names_its_missing_package(ws):
    result = ws.nnx("search", ws.experiment(), "--method", "cmaes", "--n-trials", 2)
    if importlib.util.find_spec("cmaes") is None:
        assert result.exit_code == 2
        assert "--method cmaes needs the 'cmaes' package" in result.output
        assert "pip install cmaes" in result.output
        assert ws.journal() is None  # nothing created
    else:
        assert result.exit_code == 0, result.output
        check_study(ws, 2, "cmaes")


def test_unknown_method_lists_the_known_ones(ws):
    result = ws.nnx("search", ws.experiment(), "--method", "bayse")
    assert result.exit_code == 2
    assert "did you mean 'bayes'" in result.output
    for name in METHODS.names():
        assert name in result.output


def test_grid_prints_its_size_first_runs_every_point_once_and_stops(ws):
    path = ws.experiment(space=GRID_SPACE)
    first = ws.nnx("search", path, "--method", "grid", "--n-trials", 4)
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[0].endswith("grid: 6 points, 6 not yet run")
    second = ws.nnx("search", path, "--method", "grid", "--n-trials", 50)
    assert second.exit_code == 0, second.output
    assert "grid: 6 points, 2 not yet run" in second.output
    assert "grid exhausted: all 6 points have run" in second.output
    study = ws.study()
    points = [tuple(sorted(t["params"].items())) for t in study["trials"]]
    assert len(points) == 6 and len(set(points)) == 6  # adam x2, sgd x2 momenta x2 units
    journal = ws.journal()
    third = ws.nnx("search", path, "--method", "grid")
    assert third.exit_code == 0, third.output
    assert "nothing to do: grid exhausted" in third.output
    assert len(ws.study()["trials"]) == 6
    assert ws.journal().startswith(journal)


def test_every_method_and_pruner_name_has_an_optuna_builder():
    assert set(samplers.BUILDERS) == set(METHODS.names())
    assert set(pruners.BUILDERS) == set(PRUNERS.names())


def test_sampler_seeds_change_with_trials_and_worker_not_only_the_name():
    seeds = {sampler_seed("s", n, w) for n in (0, 5) for w in (0, 1)}
    assert len(seeds) == 4
    assert sampler_seed("s", 5, 0) == sampler_seed("s", 5, 0)


def test_resumed_random_search_proposes_new_parameters(ws):
    path = ws.experiment()
    ws.nnx("search", path, "--method", "random", "--n-trials", 2)
    ws.nnx("search", path, "--method", "random", "--n-trials", 2)
    lrs = [t["params"]["train.optimizer.lr"] for t in ws.study()["trials"]]
    assert len(lrs) == 4 and len(set(lrs)) == 4


def test_help_does_not_import_optuna_or_numba():
    code = ("import sys; from typer.testing import CliRunner; from nnx.cli import app; "
            "r = CliRunner().invoke(app, ['search', '--help']); assert r.exit_code == 0; "
            "assert 'optuna' not in sys.modules and 'numba' not in sys.modules, "
            "[m for m in sys.modules if m.startswith(('optuna', 'numba'))]; print(r.output)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "--max-trials" in out.stdout and "grid | random | bayes" in out.stdout

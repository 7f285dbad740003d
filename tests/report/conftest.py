"""Results made by the real `nnx train` and `nnx search` (tiny experiments, once per test
session); helpers in report_helpers.py, importable from the tests."""

import shutil

import pytest
from report_helpers import IRIS, MOONS, Produced, nnx, train


@pytest.fixture(scope="session")
def produced(tmp_path_factory):
    """Four runs (a plain one, one with dead ReLU units, a diverged one, a binary one) and
    two studies (random search over iris, grid over moons), all tiny."""
    folder = tmp_path_factory.mktemp("report")
    root = folder / "results"
    out = Produced(root)
    out.runs["iris"] = train(folder, root, IRIS, "iris.yaml")
    out.runs["dead"] = train(folder, root, IRIS, "iris.yaml",
                              "model.layers.0.bias_init={type: constant, value: -20}",
                              "model.layers.0.init={type: constant, value: -1}")
    out.runs["diverged"] = train(folder, root, IRIS, "iris.yaml",
                                  "train.optimizer.type=sgd", "train.optimizer.lr=1000000")
    out.runs["moons"] = train(folder, root, MOONS, "moons.yaml")
    for name in ("iris", "moons"):
        result = nnx("search", folder / f"{name}.yaml", "--results-dir", root)
        assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def copy_of(produced, tmp_path):
    """A private copy of the produced results folder (for tests that damage files)."""
    root = tmp_path / "results"
    shutil.copytree(produced.root, root)
    return root

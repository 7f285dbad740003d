"""Values a run cannot use, refused before anything runs (exit 2, one line): regression
targets beyond float32 for a float32 model, and `train.threads` checked alike wherever it
is given."""

import numpy as np
import pytest
import yaml

from nnx.data import load_data

ROWS = [f"{i},{i % 3},{i * 0.5 + 0.25}" for i in range(1, 30)]


def regression_experiment(ws, big_row="7,1,1e39", units=1, **data):
    """A CSV of 30 rows (a, b -> y) with `big_row` as its 7th."""
    path = ws.root / "big.csv"
    path.write_text("\n".join(["a,b,y", *ROWS[:6], big_row, *ROWS[6:]]) + "\n")
    return ws.experiment(data={"path": str(path), "target": "y", **data},
                         model={"layers": [{"type": "dense", "units": units}]},
                         train={"loss": "mse", "epochs": 1, "batch_size": 8})


@pytest.mark.parametrize("command", ["validate", "train"])
def test_a_regression_target_beyond_float32_is_refused(ws, command):
    result = ws.nnx(command, regression_experiment(ws))
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "target 'y' of big.csv holds 1e+39 (row 7)" in line and "float64" in line
    assert not ws.results.exists()


def test_a_float64_model_takes_such_targets(ws):
    path = regression_experiment(ws)
    result = ws.nnx("validate", path, "--set", "model.dtype=float64")
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(path.read_text())
    data = load_data(config["data"], 0, dtype="float64")
    ys = np.concatenate([data.y_train, data.y_val, data.y_test])
    assert ys.dtype == np.float64 and ys.max() == 1e39


def test_an_autoencoder_feature_beyond_float32_is_refused(ws):
    path = regression_experiment(ws, "7,1e39,0.5", units=2, autoencoder=True)
    result = ws.nnx("validate", path)
    assert result.exit_code == 2, result.output
    assert "feature 'b' of big.csv holds 1e+39 (row 7)" in result.stderr


def test_an_npz_target_beyond_float32_is_refused(ws):
    path = ws.root / "big.npz"
    y = np.linspace(0.5, 3.5, 40)
    y[3] = -2e40
    np.savez(path, x=np.arange(80.0).reshape(40, 2), y=y)
    result = ws.nnx("validate", ws.experiment(
        data={"path": str(path)}, model={"layers": [{"type": "dense", "units": 1}]},
        train={"loss": "mse"}))
    assert result.exit_code == 2, result.output
    assert "target 'y' of big.npz holds -2e+40 (row 4)" in result.stderr


@pytest.mark.parametrize("value", ["0", "-2", "2.5", "'3'", "true", "[2]"])
def test_train_threads_in_the_file_is_checked_as_threads_on_the_command_line(ws, value):
    """The file, --set and --threads refuse the same values, with exit 2 and one line."""
    config = {**ws.TINY, "train": {**ws.TINY["train"], "threads": yaml.safe_load(value)}}
    from_file = ws.nnx("train", ws.experiment(config))
    from_set = ws.nnx("train", ws.experiment(), "--set", f"train.threads={value}")
    for result in (from_file, from_set):
        assert result.exit_code == 2, result.output
        assert "train.threads: must be an integer >= 1" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    if value.lstrip("-").isdigit():
        assert ws.nnx("train", ws.experiment(), "--threads", value).exit_code == 2
    assert not ws.results.exists()

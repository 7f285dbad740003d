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


@pytest.mark.parametrize("how", ["file", "set", "option"])
def test_threads_far_above_the_cores_are_refused_wherever_given(ws, monkeypatch, how):
    """Above 4 x the cores (as for --n-jobs) a thread count is a typo: exit 2, one line."""
    monkeypatch.setattr("nnx.cores.available_cores", lambda: 2)
    config = {**ws.TINY, "train": {**ws.TINY["train"], "threads": 9 if how == "file" else None}}
    args = [ws.experiment(config), *{"file": [], "set": ["--set", "train.threads=9"],
                                     "option": ["--threads", "9"]}[how]]
    result = ws.nnx("train", *args)
    assert result.exit_code == 2, result.output
    assert ("9 is more than 4 x the 2 cores this process may use: give at most 8 (any number "
            "above 2 runs 2 threads)") in result.stderr
    assert "train.threads" in result.stderr if how != "option" else "--threads" in result.stderr
    assert not ws.results.exists()
    if how != "option":  # validate has no --threads
        assert ws.nnx("validate", *args).exit_code == 2


@pytest.mark.parametrize("how", ["file", "option"])
def test_threads_above_the_cores_run_on_the_cores_with_a_warning(ws, monkeypatch, how):
    monkeypatch.setattr("nnx.cores.available_cores", lambda: 1)
    config = {**ws.TINY, "train": {**ws.TINY["train"], "threads": 3}}
    args = [ws.experiment(config)] if how == "file" else [ws.experiment(), "--threads", "3"]
    result = ws.nnx("train", *args, "--quiet")
    assert result.exit_code == 0, result.output
    name = "train.threads" if how == "file" else "--threads"
    assert (f"warning: {name} 3 is more than the 1 core this process may use: running 1 "
            "thread") in result.stderr
    assert ws.record()["environment"]["threads"] == 1

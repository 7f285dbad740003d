"""Absurd sizes are refused in one line with exit 2, before anything is allocated.

Each case that would allocate if the check were missing runs as a real `nnx` process
under an address-space limit (RLIMIT_AS), so that a regression ends in a MemoryError of
that process instead of exhausting the machine; the parsing cases run in-process.
"""

import io
import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from experiment_configs import tiny_moons
from typer.testing import CliRunner

import nnx
from nnx import limits, nesting
from nnx.cli import app
from nnx.config import load_experiment
from nnx.experiment import prepare

REPO = Path(__file__).resolve().parents[1]
ADDRESS_SPACE = 4 << 30  # enough for a tiny training run, far below any refused model
HUGE = 10**12


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_limited(tmp_path, *args):
    """`python ARGS` under the address-space limit, from `tmp_path`; a hang fails the test."""
    env = {**os.environ, "NNX_RESULTS_DIR": str(tmp_path / "results"),
           "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))}
    env.pop("NNX_DEBUG", None)
    try:
        return subprocess.run([sys.executable, *map(str, args)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120,
                              preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(map(str, args))} was still running after 120 s")


def nnx_limited(tmp_path, *args):
    return run_limited(tmp_path, "-m", "nnx.cli", *args)


def assert_refused(result, *fragments):
    """Exit 2 with exactly one line on stderr holding every fragment, and no traceback."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1, result.stderr[-2000:]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def write_experiment(tmp_path, layers=None, name="exp.yaml", **train):
    config = tiny_moons()
    if layers is not None:
        config["model"]["layers"] = layers
    config["train"].update(train)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def wide_first_layer(units=HUGE, **extra):
    return [{"type": "dense", "units": units, "activation": "tanh", **extra},
            {"type": "dense", "units": 1, "activation": "sigmoid"}]


# -- repeat ------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["validate", "train"])
def test_a_hundred_million_repeats_are_refused(tmp_path, command):
    path = write_experiment(tmp_path, wide_first_layer(8, repeat=100_000_000))
    message = assert_refused(nnx_limited(tmp_path, command, path), "model.layers.0.repeat",
                             f"{limits.MAX_REPEAT:,}")
    assert "100000000" in message


def test_repeat_at_the_cap_still_validates(tmp_path):
    layers = [{"type": "dense", "units": 2, "activation": "tanh",
               "repeat": limits.MAX_REPEAT - 1},
              {"type": "dense", "units": 1, "activation": "sigmoid"}]
    config = load_experiment(write_experiment(tmp_path, layers))
    assert len(prepare(config).model.layers) == limits.MAX_REPEAT


# -- model sizes -------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["validate", "train"])
def test_a_trillion_units_are_refused_at_validation(tmp_path, command):
    path = write_experiment(tmp_path, wide_first_layer())
    message = assert_refused(nnx_limited(tmp_path, command, path), f"{path}: model.layers.0:",
                             "TiB", "W (2, 1000000000000)", "adam")
    assert "internal error" not in message
    assert not (tmp_path / "results" / "runs").exists()  # nothing written


def test_an_integer_beyond_any_machine_is_refused(tmp_path):
    path = write_experiment(tmp_path, wide_first_layer(10**300))
    assert_refused(nnx_limited(tmp_path, "validate", path), "model.layers.0: needs",
                   "W (2, 1e300)")


def test_layers_that_fit_one_by_one_but_not_together_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "machine_memory",
                        lambda: (64 << 20, "this machine has 64.0 MiB of memory"))
    # Each dense 1000 -> 1000 layer holds 4 MB x 4 (value, gradient, adam's 2 slots).
    layers = [{"type": "dense", "units": 1000, "activation": "relu", "repeat": 6},
              {"type": "dense", "units": 1, "activation": "sigmoid"}]
    message = raises_config(write_experiment(tmp_path, layers))
    assert message.startswith(f"{tmp_path / 'exp.yaml'}: model: ")
    assert "MiB in all" in message and "this machine has 64.0 MiB" in message


def test_the_activations_of_one_batch_count(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "machine_memory",
                        lambda: (64 << 20, "this machine has 64.0 MiB of memory"))
    layers = [{"type": "dense", "units": 100_000, "activation": "relu", "use_bias": False},
              {"type": "dense", "units": 1, "activation": "sigmoid"}]
    path = write_experiment(tmp_path, layers, batch_size=200)
    assert "to train on batches of 120" in raises_config(path)  # 200 samples, 40% held out
    prepare(load_experiment(write_experiment(tmp_path, layers, batch_size=8)))


def test_the_attention_scores_count(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "machine_memory",
                        lambda: (256 << 20, "this machine has 256.0 MiB of memory"))
    # 20,000 steps: each (T, T) score block of the one head is 1.6 GB in float32.
    config = {"name": "long", "data": {"dataset": "sequence_sum", "length": 20_000,
                                       "n_samples": 20},
              "model": {"layers": [{"type": "multi_head_attention", "num_heads": 1},
                                   {"type": "sequence_pooling", "mode": "mean"},
                                   {"type": "dense", "units": 1}]},
              "train": {"loss": "mse", "batch_size": 4}}
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(config))
    assert "attention scores" in raises_config(path)


def raises_config(path):
    with pytest.raises(nnx.NnxError) as err:
        prepare(load_experiment(path), source=str(path))
    return str(err.value)


def test_a_search_on_a_model_too_big_is_refused_before_any_trial(tmp_path):
    """The base experiment cannot be built whatever the searched values (here the learning
    rate): bad input, refused as `nnx validate` refuses it, before the study is created."""
    config = tiny_moons()
    config["model"]["layers"] = wide_first_layer()
    config["search"] = {"method": "random", "space": {
        "train.optimizer.lr": {"type": "float", "low": 0.001, "high": 0.1, "log": True}}}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(config))
    assert_refused(nnx_limited(tmp_path, "search", path, "--n-trials", "2", "--results-dir",
                               tmp_path / "results"), f"{path}: model.layers.0:", "TiB")
    assert not (tmp_path / "results" / "studies").exists()


def test_a_search_trial_too_big_to_build_fails_fast_as_invalid(tmp_path):
    config = tiny_moons()
    config["search"] = {"method": "grid", "metric": "val_accuracy", "space": {
        "model.layers.0.units": {"type": "categorical", "choices": [4, HUGE]}}}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(config))
    result = nnx_limited(tmp_path, "search", path, "--n-trials", "2", "--results-dir",
                         tmp_path / "results")
    assert result.returncode == 0, result.stderr[-2000:]
    study = json.loads((tmp_path / "results" / "studies" / "tiny.json").read_text())
    by_units = {t["params"]["model.layers.0.units"]: t for t in study["trials"]}
    assert by_units[4]["state"] == "complete"
    failed = by_units[HUGE]
    assert failed["state"] == "failed"
    assert failed["error"].startswith("invalid parameters: model.layers.0: ")
    assert "TiB" in failed["error"]
    assert len(study["trials"]) == 2  # an invalid combination is not retried


# -- model files -------------------------------------------------------------------------
def model_file(path, layers, arrays=None, input_shape=(2,)):
    """An .npz in nnx's format whose config and arrays are given (not built)."""
    meta = {"format": "nnx.model/1", "preprocessing": None,
            "model": {"class": "Sequential", "seed": 0, "dtype": "float32",
                      "input_shape": list(input_shape), "layers": layers,
                      "compile": {"optimizer": {"type": "adam"}, "loss": {"type": "mse"},
                                  "metrics": []}}}
    entries = {"__nnx__": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
               **(arrays or {})}
    np.savez(path, **entries)
    return path


def claimed_array(path, member, shape):
    """Add to the .npz at `path` an array member whose header claims `shape` (float32) but
    that holds no data: reading it would allocate the whole shape first."""
    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": shape})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(f"{member}.npy", np.lib.format.magic(2, 0) + header.getvalue()[8:])


@pytest.fixture
def rows(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("x0,x1,y\n0.5,0.25,1\n")
    return path


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_a_model_file_whose_config_is_absurd_is_refused(tmp_path, rows, command):
    path = model_file(tmp_path / "crafted.npz", [{"type": "dense", "units": HUGE}])
    args = [path, rows] if command == "predict" else [path, "--data", rows]
    assert_refused(nnx_limited(tmp_path, command, *args), "crafted.npz", "layer 0 (dense)",
                   "TiB")


def test_load_model_refuses_an_absurd_config_with_an_nnx_error(tmp_path):
    path = model_file(tmp_path / "crafted.npz", [{"type": "dense", "units": HUGE}])
    script = ("import sys, nnx\ntry:\n    nnx.load_model(sys.argv[1])\n"
              "except nnx.NnxError as err:\n    print(err)\n    sys.exit(2)\n")
    result = run_limited(tmp_path, "-c", script, path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "layer 0 (dense)" in result.stdout and "TiB" in result.stdout


def test_a_model_file_whose_arrays_claim_absurd_shapes_is_refused(tmp_path, rows):
    path = model_file(tmp_path / "crafted.npz", [{"type": "dense", "units": 1}],
                      {"layers/0.dense/b": np.zeros(1, np.float32)})
    claimed_array(path, "layers/0.dense/W", (HUGE, 1))
    assert_refused(nnx_limited(tmp_path, "predict", path, rows), "crafted.npz",
                   "layers/0.dense/W", "TiB")


def test_a_model_file_with_deeply_nested_json_is_refused(tmp_path, rows):
    path = tmp_path / "deep.npz"
    text = '{"format": "nnx.model/1", "model": ' + "[" * 5000 + "]" * 5000 + "}"
    np.savez(path, __nnx__=np.frombuffer(text.encode(), dtype=np.uint8))
    assert_refused(nnx_limited(tmp_path, "predict", path, rows), "deep.npz", "nested")


# -- nesting -----------------------------------------------------------------------------
def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize("style", ["block", "flow"])
def test_yaml_nested_five_thousand_deep_is_refused(tmp_path, style):
    path = tmp_path / "deep.yaml"
    nested = "[" * 5000 + "]" * 5000 if style == "flow" else "- " * 5000 + "leaf"
    path.write_text(f"name: deep\nextra:\n  {nested}\n")
    message = invoke("validate", path)
    assert str(path) in message and f"nested more than {nesting.MAX_DEPTH} deep" in message
    assert "line" in message


def test_an_integer_too_long_to_read_is_refused(tmp_path):
    path = write_experiment(tmp_path, wide_first_layer(7))
    path.write_text(path.read_text().replace("units: 7", f"units: {'1' * 5000}"))
    assert "integer of 5,000 characters is too long to read" in invoke("validate", path)


def test_a_set_value_nested_deep_is_refused(tmp_path):
    path = write_experiment(tmp_path)
    message = invoke("validate", path, "--set", "seed=" + "[" * 5000 + "]" * 5000)
    assert f"nested more than {nesting.MAX_DEPTH} deep" in message


def test_yaml_nested_at_the_cap_is_read(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("extra: " + "[" * (nesting.MAX_DEPTH - 1) + "]" * (nesting.MAX_DEPTH - 1))
    from nnx.config.yaml_io import read_yaml_file

    value, depth = read_yaml_file(path)["extra"], 1
    while value:
        value, depth = value[0], depth + 1
    assert depth == nesting.MAX_DEPTH - 1


def deep_run(tmp_path, depth=5000):
    folder = tmp_path / "results" / "runs"
    folder.mkdir(parents=True)
    path = folder / "deep-20240101T000000-abcdef.json"
    path.write_text('{"schema": "nnx.run/1", "run_id": "deep", "status": "completed", '
                    '"config": {"extra": ' + "[" * depth + "]" * depth + "}}")
    return path


@pytest.mark.parametrize("depth", [500, 5000])
def test_a_run_record_nested_deep_is_refused(tmp_path, depth):
    path = deep_run(tmp_path, depth)
    assert "nested" in invoke("report", path, "--results-dir", tmp_path / "results")
    assert "nested" in invoke("evaluate", path, "--results-dir", tmp_path / "results")


def test_the_overview_lists_a_deep_run_record_as_skipped(tmp_path):
    path = deep_run(tmp_path)
    result = CliRunner().invoke(app, ["report", "--results-dir", str(tmp_path / "results"),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    skipped = json.loads(result.stdout)["skipped"]
    assert [Path(s["path"]).name for s in skipped] == [path.name]
    assert "nested" in skipped[0]["reason"]

"""`nnx train`, `nnx validate`, `nnx datasets` in-process: exit codes, output, documents."""

import json
import re
from pathlib import Path

from nnx import __version__
from nnx.results import RUN_KEYS

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def test_train_writes_a_run_and_prints_plain_lines_without_a_terminal(ws):
    result = ws.nnx("train", ws.experiment())
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    epochs = [line for line in lines if re.match(rf"{STAMP} epoch \d+/3 ", line)]
    assert len(epochs) == 3 and "val_accuracy" in epochs[0]
    assert re.match(rf"{STAMP} run tiny-\d{{8}}T\d{{6}}-[0-9a-f]{{6}}: moons", lines[0])
    assert "\x1b[" not in result.stdout  # no escape codes in logs
    record = ws.record()
    assert list(record)[:len(RUN_KEYS)] == list(RUN_KEYS)
    assert record["status"] == "completed" and len(record["history"]["loss"]) == 3
    assert f"run record: {ws.runs()[0]}" in result.stdout
    assert "accuracy" in result.stdout and "test" in result.stdout  # the final table
    assert record["model_path"].endswith(f"{record['run_id']}.npz")
    assert result.stderr == ""


def test_json_prints_only_the_document_on_stdout(ws):
    result = ws.nnx("train", ws.experiment(), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document == ws.record()
    assert document["schema"] == "nnx.run/1"
    assert set(document["metrics"]) == {"train", "val", "test"}
    assert "epoch 1/3" in result.stderr  # progress went to stderr


def test_quiet_prints_no_progress(ws):
    result = ws.nnx("train", ws.experiment(), "--quiet")
    assert result.exit_code == 0
    assert "epoch" not in result.output and "run record:" in result.stdout


def test_set_overrides_are_applied_and_recorded(ws):
    result = ws.nnx("train", ws.experiment(), "--set", "train.epochs=2", "-s",
                    "model.layers.0.units=4", "--set", "train.early_stopping.patience=1",
                    "--quiet")
    assert result.exit_code == 0, result.output
    record = ws.record()
    assert len(record["history"]["loss"]) <= 2
    assert record["config"]["train"]["epochs"] == 2
    assert record["config"]["model"]["layers"][0]["units"] == 4
    assert record["config"]["train"]["early_stopping"]["patience"] == 1


def test_results_dir_from_the_environment(ws):
    target = ws.root / "elsewhere"
    from nnx.cli import app

    result = ws.runner.invoke(app, ["train", str(ws.experiment()), "-q"],
                              env={"NNX_RESULTS_DIR": str(target)})
    assert result.exit_code == 0, result.output
    assert len(list((target / "runs").glob("*.json"))) == 1


def test_diverged_run_exits_1_with_the_reason(ws):
    config = {"name": "boom", "data": {"dataset": "diabetes"},
              "model": {"layers": [{"type": "dense", "units": 16, "activation": "relu"},
                                   {"type": "dense", "units": 1}]},
              "train": {"loss": "mse", "optimizer": {"type": "sgd", "lr": 1.0e6}, "epochs": 5}}
    result = ws.nnx("train", ws.experiment(config), "-q")
    assert result.exit_code == 1
    assert "run diverged" in result.stderr and "became" in result.stderr
    assert "Traceback" not in result.output
    assert ws.record()["status"] == "diverged"


def test_validate_prints_the_model_and_writes_nothing(ws):
    result = ws.nnx("validate", ws.experiment())
    assert result.exit_code == 0, result.output
    assert "is valid" in result.stdout and "moons (binary" in result.stdout
    assert "33" in result.stdout  # 2*8+8 + 8*1+1 parameters
    assert not ws.results.exists()
    result = ws.nnx("validate", ws.experiment(), "--json", "--set", "model.layers.0.units=4")
    document = json.loads(result.stdout)
    assert document["model"]["params"] == 17 and document["data"]["output_units"] == 1
    assert document["config"]["train"]["optimizer"]["type"] == "adam"


def test_validate_the_shipped_experiments(ws):
    for path in sorted(EXPERIMENTS.glob("*.yaml")):
        result = ws.nnx("validate", path)
        assert result.exit_code == 0, (path, result.output)


def test_datasets_lists_the_builtin_datasets(ws):
    result = ws.nnx("datasets")
    assert result.exit_code == 0
    for name in ("digits", "iris", "moons", "multilabel", "mnist1d"):
        assert name in result.stdout
    rows = {row["name"]: row for row in json.loads(ws.nnx("datasets", "--json").stdout)}
    assert rows["digits"]["task"] == "multiclass" and rows["digits"]["n_samples"] == 1797
    assert {name: (rows[name]["shape"], rows[name]["n_samples"]) for name in (
        "mnist1d", "mnist1d_channels", "mnist1d_sequence")} == {
        "mnist1d": ([40], 5000), "mnist1d_channels": ([1, 40], 5000),
        "mnist1d_sequence": ([40, 1], 5000)}


def test_version_and_help(ws):
    assert ws.nnx("--version").stdout.strip() == f"nnx {__version__}"
    result = ws.nnx("train", "--help")
    assert result.exit_code == 0
    for option in ("--set", "--results-dir", "--threads", "--quiet", "--json"):
        assert option in result.stdout

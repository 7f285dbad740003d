"""`nnx evaluate` and `nnx predict` on a CSV with a categorical column and text labels:
predictions on raw rows equal the model's outputs on the preprocessed split."""

import csv
import json

import numpy as np
import pytest

import nnx
from nnx.data import Preprocessor, load_data

LABELS = ("bird", "cat", "dog")


@pytest.fixture
def trained(ws):
    """(workspace, run record, raw rows) of a run on `animals.csv`."""
    rng = np.random.default_rng(3)
    rows = []
    for _ in range(240):
        x1, x2 = rng.normal(), rng.normal()
        color = rng.choice(["red", "green", "blue"])
        label = "cat" if x1 + 1.5 * (color == "red") > 0.5 else "dog" if x2 > 0 else "bird"
        rows.append({"x1": f"{x1:.6f}", "x2": f"{x2:.6f}", "color": color, "animal": label})
    write_csv(ws.root / "animals.csv", rows)
    config = {"name": "animals", "seed": 1,
              "data": {"path": "animals.csv", "target": "animal", "categorical": ["color"]},
              "model": {"layers": [{"type": "dense", "units": 16, "activation": "relu"},
                                   {"type": "dense", "units": 3, "activation": "softmax"}]},
              "train": {"loss": "categorical_crossentropy", "epochs": 30, "batch_size": 16,
                        "optimizer": {"type": "adam", "lr": 0.02}, "metrics": ["accuracy"]}}
    result = ws.nnx("train", ws.experiment(config), "-q")
    assert result.exit_code == 0, result.output
    return ws, ws.record(), rows


def write_csv(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_predict_on_raw_rows_equals_the_preprocessed_split(trained):
    ws, record, rows = trained
    model = nnx.load_model(record["model_path"])
    pre = Preprocessor.from_dict(model.preprocessing)
    assert pre.classes == list(LABELS) and pre.categorical == {"color": ["blue", "green", "red"]}
    data = load_data(record["config"]["data"], record["config"]["seed"])
    expected = pre.decode_predictions(model.predict(data.x_test))
    # Find the raw rows of the test split through x1, the first (standardized) feature.
    raw_x1 = np.array([float(r["x1"]) for r in rows])
    x1 = data.x_test[:, 0] * pre.std[0] + pre.mean[0]
    order = [int(np.argmin(np.abs(raw_x1 - v))) for v in x1]
    assert np.allclose(raw_x1[order], x1, atol=1e-4)
    write_csv(ws.root / "test.csv", [rows[i] for i in order])

    result = ws.nnx("predict", record["run_id"], ws.root / "test.csv")
    assert result.exit_code == 0, result.output
    lines = list(csv.reader(result.stdout.splitlines()))
    assert lines[0] == ["prediction"]
    assert [line[0] for line in lines[1:]] == expected

    # The same labels scored against the truth give the run's test accuracy ...
    truth = [rows[i]["animal"] for i in order]
    accuracy = np.mean([p == t for p, t in zip(expected, truth)])
    assert accuracy == pytest.approx(record["metrics"]["test"]["accuracy"])
    # ... and so does `nnx evaluate --data` on those raw rows.
    result = ws.nnx("evaluate", record["run_id"], "--data", ws.root / "test.csv", "--json")
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    assert scored["n"] == len(order)
    assert scored["metrics"]["accuracy"] == pytest.approx(record["metrics"]["test"]["accuracy"])
    assert scored["metrics"]["loss"] == pytest.approx(record["metrics"]["test"]["loss"],
                                                      rel=1e-5)


def test_predict_writes_a_file_and_ignores_extra_columns(trained):
    ws, record, rows = trained
    out = ws.root / "out" / "pred.csv"
    result = ws.nnx("predict", ws.runs()[0], ws.root / "animals.csv", "--output", out)
    assert result.exit_code == 0, result.output
    with open(out) as handle:
        predicted = list(csv.DictReader(handle))
    assert len(predicted) == len(rows) and set(p["prediction"] for p in predicted) <= set(LABELS)


def test_evaluate_reloads_the_runs_split(trained):
    ws, record, _ = trained
    for reference in (record["run_id"], record["run_id"][:-3], ws.runs()[0],
                      record["model_path"]):
        result = ws.nnx("evaluate", reference, "--json")
        assert result.exit_code == 0, result.output
        scored = json.loads(result.stdout)
        assert scored["split"] == "test" and scored["run_id"] == record["run_id"]
        assert scored["metrics"] == pytest.approx(record["metrics"]["test"], rel=1e-6)
    result = ws.nnx("evaluate", record["run_id"], "--split", "val")
    assert result.exit_code == 0
    assert "val" in result.stdout and "accuracy" in result.stdout


def test_predict_regression_and_multilabel_columns(ws):
    config = {"name": "ml", "data": {"dataset": "multilabel", "n_samples": 300},
              "model": {"layers": [{"type": "dense", "units": 5, "activation": "sigmoid"}]},
              "train": {"loss": "binary_crossentropy", "epochs": 1}}
    assert ws.nnx("train", ws.experiment(config), "-q").exit_code == 0
    header = ",".join(f"x{i}" for i in range(20))
    (ws.root / "in.csv").write_text(header + "\n" + ",".join(["0.5"] * 20) + "\n")
    result = ws.nnx("predict", ws.record()["run_id"], ws.root / "in.csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].count("prediction_") == 5 and len(lines) == 2
    assert set(lines[1].split(",")) <= {"0", "1"}

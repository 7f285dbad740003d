"""`nnx predict --layer NAME`: the values of an inner layer for raw CSV rows."""

import csv

import numpy as np

from nnx.experiment import open_saved, preprocessor_of


def _raw_rows(ws, n=5):
    path = ws.root / "rows.csv"
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x0", "x1"])
        writer.writerows(rng.standard_normal((n, 2)).round(4).tolist())
    return path


def test_layer_values_equal_the_models_inner_output(ws):
    assert ws.nnx("train", ws.experiment()).exit_code == 0
    run_id = ws.record()["run_id"]
    rows = _raw_rows(ws)
    out = ws.root / "code.csv"
    result = ws.nnx("predict", run_id, rows, "--layer", "0", "--output", out)
    assert result.exit_code == 0, result.output
    with open(out, newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == [f"0_{i}" for i in range(8)]  # the first Dense has 8 units
    saved = open_saved(run_id, ws.results)
    x = preprocessor_of(saved).transform_rows(str(rows))
    expected = np.tanh(x @ saved.model.layers[0].params["W"] + saved.model.layers[0].params["b"])
    np.testing.assert_allclose(np.array(table[1:], dtype=float), expected, rtol=1e-5, atol=1e-6)


def test_unknown_layer_is_a_usage_error(ws):
    assert ws.nnx("train", ws.experiment()).exit_code == 0
    result = ws.nnx("predict", ws.record()["run_id"], _raw_rows(ws), "--layer", "encoder")
    assert result.exit_code == 2
    assert "encoder" in result.output and "Traceback" not in result.output

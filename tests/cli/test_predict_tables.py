"""`nnx train` / `nnx predict` on Parquet and gzip-compressed CSV: the same answers as on
the CSV; a bad row anywhere in the input writes nothing (exit 2, one line)."""

import csv
import gzip
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def _rows(n, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n).round(4), rng.normal(size=n).round(4)
    return {"a": a, "b": b, "color": np.array(["red", "blue"])[np.arange(n) % 2],
            "label": np.where(a + b > 0, "up", "down")}


def _write_csv(path, columns):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*columns.values()))
    path.write_text(out.getvalue())


def _train(ws, path):
    config = {"name": "tab", "seed": 0,
              "data": {"path": str(path), "target": "label", "categorical": ["color"]},
              "model": {"layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}]},
              "train": {"loss": "binary_crossentropy", "epochs": 3, "batch_size": 16,
                        "metrics": ["accuracy"]}}
    result = ws.nnx("train", ws.experiment(config, filename=f"{path.name}.yaml"), "-q",
                    "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_parquet_and_gzip_train_and_predict_as_the_csv(ws):
    columns = _rows(200)
    _write_csv(ws.root / "t.csv", columns)
    pq.write_table(pa.table(columns), ws.root / "t.parquet")
    (ws.root / "t.csv.gz").write_bytes(gzip.compress((ws.root / "t.csv").read_bytes()))
    record = _train(ws, ws.root / "t.csv")
    parquet_record = _train(ws, ws.root / "t.parquet")
    assert parquet_record["metrics"] == record["metrics"]
    outputs = []
    for name in ("t.csv", "t.parquet", "t.csv.gz"):
        result = ws.nnx("predict", record["run_id"], ws.root / name)
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    lines = outputs[0].splitlines()
    assert lines[0] == "prediction" and len(lines) == 201 and set(lines[1:]) <= {"up", "down"}


def test_a_bad_row_late_in_the_input_writes_nothing(ws):
    columns = _rows(30_000)
    _write_csv(ws.root / "t.csv", {k: v[:300] for k, v in columns.items()})
    record = _train(ws, ws.root / "t.csv")
    columns["b"] = columns["b"].astype(object)
    columns["b"][25_000] = "oops"
    _write_csv(ws.root / "big.csv", columns)
    out = ws.root / "pred.csv"
    for args in ([], ["-o", out]):
        result = ws.nnx("predict", record["run_id"], ws.root / "big.csv", *args)
        assert result.exit_code == 2, result.output
        assert result.stdout == "" and not out.exists()
        (line,) = result.stderr.strip().splitlines()
        assert "big.csv: column 'b', line 25002: 'oops' is not a number" in line

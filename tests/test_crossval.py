"""A cross-validated run (`data.folds`): the run record's contents (per-fold histories and
metrics, their means and standard deviations, no model), `nnx report RUN` showing them, and
the config's class and sample weights reaching every fold (pruning across the folds:
tests/search/test_search_folds.py)."""

import copy
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from nnx.experiment import run_experiment

IRIS = {
    "name": "cv",
    "seed": 2,
    "data": {"dataset": "iris", "validation_split": 0.2, "test_split": 0.2, "folds": 3},
    "model": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"},
                         {"type": "dense", "units": 3, "activation": "softmax"}]},
    "train": {"loss": "categorical_crossentropy", "optimizer": {"type": "adam", "lr": 0.02},
              "epochs": 4, "batch_size": 16, "metrics": ["accuracy"]},
}


def iris(**changes):
    config = copy.deepcopy(IRIS)
    for path, value in changes.items():
        section, key = path.split("__")
        config[section][key] = value
    return config


@pytest.fixture(scope="module")
def cv_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    return run_experiment(iris(), root), root


def test_record_keeps_each_fold_and_their_mean_and_std(cv_run):
    record, root = cv_run
    assert record["status"] == "completed"
    cv = record["cv"]
    assert cv["folds"] == 3 and [f["fold"] for f in cv["per_fold"]] == [1, 2, 3]
    assert [f["n_val"] for f in cv["per_fold"]] == [40, 40, 40]  # 120 rows outside the test
    assert all(f["n_train"] == 80 and f["status"] == "completed" for f in cv["per_fold"])
    for split in ("train", "val", "test"):
        for name in ("loss", "accuracy"):
            values = [f["metrics"][split][name] for f in cv["per_fold"]]
            assert record["metrics"][split][name] == pytest.approx(np.mean(values), rel=1e-12)
            assert cv["metrics_std"][split][name] == pytest.approx(np.std(values), rel=1e-12)
    for fold in cv["per_fold"]:  # each fold's own curve, ending where its metrics were taken
        assert len(fold["history"]["val_accuracy"]) == 4
        assert fold["history"]["val_accuracy"][-1] == fold["metrics"]["val"]["accuracy"]
    mean_curve = np.mean([f["history"]["val_loss"] for f in cv["per_fold"]], axis=0)
    np.testing.assert_allclose(record["history"]["val_loss"], mean_curve, rtol=1e-12)
    assert len({f["metrics"]["val"]["loss"] for f in cv["per_fold"]}) == 3  # three models
    matrix = np.array(record["diagnostics"]["confusion_matrix"])
    assert matrix.sum() == 120 and (matrix.sum(axis=1) == 40).all()  # every row once


def test_costs_are_the_folds_model_with_their_times_summed_and_averaged(cv_run):
    record, _ = cv_run
    folds = [fold["costs"] for fold in record["cv"]["per_fold"]]
    assert record["costs"]["params"] == folds[0]["params"] == folds[2]["params"]
    assert record["costs"]["train_s"] == pytest.approx(sum(f["train_s"] for f in folds),
                                                       abs=2e-3)
    assert record["costs"]["predict_ms"] == pytest.approx(
        np.mean([f["predict_ms"] for f in folds]), abs=1e-3)


def test_no_model_is_kept_and_the_record_is_on_disk(cv_run):
    record, root = cv_run
    assert record["model_path"] is None
    assert list((root / "runs").glob("*.npz")) == []
    on_disk = json.loads((root / "runs" / f"{record['run_id']}.json").read_text())
    assert on_disk["cv"]["per_fold"][2]["metrics"] == record["cv"]["per_fold"][2]["metrics"]


def test_report_shows_mean_std_and_the_folds(cv_run):
    from nnx.cli import app

    record, root = cv_run
    path = root / "runs" / f"{record['run_id']}.json"
    result = CliRunner().invoke(app, ["report", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert "final metrics: mean ± std over 3 folds" in text
    val = record["metrics"]["val"]["accuracy"]
    spread = record["cv"]["metrics_std"]["val"]["accuracy"]
    assert f"{val:.4f} ± {spread:.4f}" in text
    lines = text.splitlines()
    for fold in record["cv"]["per_fold"]:
        row = next(line for line in lines if line.split()[:3] == [str(fold["fold"]), "80",
                                                                  "40"])
        assert f"{fold['metrics']['val']['accuracy']:.4f}" in row
    data = json.loads(CliRunner().invoke(app, ["report", str(path), "--format", "json"]).output)
    assert data["cv"]["folds"] == 3


def test_config_class_weights_reach_every_fold(tmp_path):
    """Weights of 0 for every class: a zero loss, so Adam never moves and every fold's
    validation loss stays where it began."""
    record = run_experiment(iris(train__class_weight={0: 0, 1: 0.0, 2: 0}), tmp_path,
                            save_model=False)
    for fold in record["cv"]["per_fold"]:
        assert fold["history"]["loss"] == [0.0] * 4
        assert len(set(fold["history"]["val_loss"])) == 1 and fold["history"]["val_loss"][0] > 0


def test_a_csv_sample_weight_column_weights_the_training_loss(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 2))
    label = (x[:, 0] + 0.3 * rng.standard_normal(60) > 0).astype(int)
    weight = np.where(np.arange(60) % 2, 3.0, 0.0)
    rows = "".join(f"{a:.6f},{b:.6f},{w},{y}\n" for (a, b), w, y in zip(x, weight, label))
    (tmp_path / "w.csv").write_text("a,b,w,y\n" + rows)
    config = {"name": "w", "data": {"path": str(tmp_path / "w.csv"), "target": "y",
                                    "sample_weight": "w", "test_split": 0.0},
              "model": {"layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}]},
              "train": {"loss": "binary_crossentropy", "epochs": 2, "batch_size": None,
                        "shuffle": False}}
    weighted = run_experiment(config, tmp_path, save_model=False)
    config["data"].pop("sample_weight")
    plain = run_experiment(config, tmp_path, save_model=False)
    # The first epoch's loss is taken before any update: the same model, rows weighted.
    assert weighted["history"]["loss"][0] != pytest.approx(plain["history"]["loss"][0])
    assert weighted["history"]["val_loss"] != plain["history"]["val_loss"]


def test_a_fold_that_cannot_be_built_fails_the_run_and_keeps_the_folds_before(tmp_path,
                                                                              monkeypatch):
    from nnx.experiment import crossval

    def refuse(config, data):
        raise MemoryError("no room for fold 2's model")

    monkeypatch.setattr(crossval, "build_model", refuse)
    record = run_experiment(iris(), tmp_path, save_model=False)
    assert record["status"] == "failed"
    assert record["error"] == "fold 2 of 3: MemoryError: no room for fold 2's model"
    folds = record["cv"]["per_fold"]
    assert [f["status"] for f in folds] == ["completed", "failed"]
    assert record["metrics"]["val"] == folds[0]["metrics"]["val"]
    assert (tmp_path / "runs" / f"{record['run_id']}.json").is_file()

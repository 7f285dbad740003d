"""Metrics from the command line: `nnx train` records them, `nnx search` optimizes one in the
direction it knows, the report views show them; every bad metric exits 2 with one line
and writes nothing."""

import copy
import json

import numpy as np
import pytest
from experiment_configs import tiny_moons
from sklearn import metrics as sk

import nnx
from nnx.experiment.build import prepare

MOONS = tiny_moons(name="f1moons", epochs=4)
MOONS["data"].update(validation_split=0.25, test_split=0.25)
MOONS["train"]["metrics"] = ["f1", "roc_auc"]

IRIS = {"name": "iris", "data": {"dataset": "iris"},
        "model": {"layers": [{"type": "dense", "units": 3, "activation": "softmax"}]},
        "train": {"loss": "categorical_crossentropy", "epochs": 2, "metrics": ["accuracy"]}}

DIABETES = {"name": "diabetes", "data": {"dataset": "diabetes"},
            "model": {"layers": [{"type": "dense", "units": 1}]},
            "train": {"loss": "mse", "epochs": 2, "metrics": ["rmse"]}}


def with_metrics(config, metrics, **sections):
    config = copy.deepcopy(config)
    config["train"]["metrics"] = metrics
    config.update(copy.deepcopy(sections))
    return config


CASES = {
    "unknown metric": (with_metrics(MOONS, ["f1", "f1_mikro"]), (),
                       ["train.metrics.1", "unknown metric 'f1_mikro'", "'f1_micro'"]),
    "roc_auc on regression": (with_metrics(DIABETES, ["roc_auc"]), (),
                              ["train.metrics.0", "'roc_auc' does not apply to the "
                               "regression task of 'diabetes'", "rmse"]),
    "average foo": (with_metrics(MOONS, [{"type": "f1", "average": "foo"}]), (),
                    ["train.metrics.0.average", "micro, macro, weighted", "'foo'"]),
    "k 0": (with_metrics(IRIS, [{"type": "top_k_accuracy", "k": 0}]), (),
            ["train.metrics.0.k", "integer >= 1, got 0"]),
    "k as many as the classes": (with_metrics(IRIS, [{"type": "top_k_accuracy", "k": 3}]), (),
                                 ["train.metrics.0", "k below the 3 classes of 'iris', got k=3"]),
    "top_k on binary data": (with_metrics(MOONS, ["top_k_accuracy"]), (),
                             ["train.metrics.0", "binary task"]),
    "--set a misspelt metric": (MOONS, ("--set", "train.metrics=[f1, pr_uac]"),
                                ["train.metrics.1", "'pr_auc'"]),
    "search on a metric not recorded": (with_metrics(MOONS, ["f1"], search={
        "metric": "val_roc_auc"}), (), ["search.metric", "add 'roc_auc' to train.metrics"]),
}


def snapshot(ws):
    if not ws.results.exists():
        return None
    return {p: p.read_bytes() for p in ws.results.rglob("*") if p.is_file()}


@pytest.mark.parametrize("command", ["train", "search"])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_metrics_exit_2_with_one_line(ws, case, command):
    config, extra, words = CASES[case]
    if command == "search":  # something to search, so that only the metric is wrong
        config = copy.deepcopy(config)
        config.setdefault("search", {})["space"] = {
            "train.epochs": {"type": "int", "low": 1, "high": 2}}
    path = ws.experiment(config)
    before = snapshot(ws)
    args = [command, path, *extra] + (["--results-dir", ws.results] if command == "search" else [])
    result = ws.nnx(*args)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and len(message.splitlines()) == 1, message
    assert "Traceback" not in result.output
    for word in words:
        assert word in message, message
    assert snapshot(ws) == before


def test_train_records_f1_and_roc_auc_as_scikit_learn_scores_the_model(ws):
    result = ws.nnx("train", ws.experiment(MOONS), "-q")
    assert result.exit_code == 0, result.output
    record = ws.record()
    assert record["config"]["train"]["metrics"] == ["f1", "roc_auc"]
    for split in ("train", "val", "test"):
        assert set(record["metrics"][split]) == {"loss", "f1", "roc_auc"}
    for name in ("f1", "roc_auc", "val_f1", "val_roc_auc"):
        assert len(record["history"][name]) == 4
    data = prepare(record["config"]).data
    model = nnx.load_model(ws.runs()[0].with_suffix(".npz"))
    probs = model.predict(data.x_test)[:, 0]
    test = record["metrics"]["test"]
    assert abs(test["f1"] - sk.f1_score(data.y_test.ravel(), probs > 0.5)) <= 1e-9
    assert abs(test["roc_auc"] - sk.roc_auc_score(data.y_test.ravel(), probs)) <= 1e-9


def test_search_maximizes_val_f1_and_the_reports_show_it(ws):
    config = with_metrics(MOONS, ["f1", "roc_auc", "log_loss"], search={
        "metric": "val_f1", "n_trials": 3, "method": "random",
        "space": {"train.optimizer.lr": {"type": "float", "low": 1e-3, "high": 0.1,
                                         "log": True}}})
    path = ws.experiment(config)
    result = ws.nnx("search", path, "--results-dir", ws.results)
    assert result.exit_code == 0, result.output
    assert "maximize val_f1" in result.output
    study = json.loads((ws.results / "studies" / "f1moons.json").read_text())
    assert (study["metric"], study["direction"]) == ("val_f1", "maximize")
    values = {}
    for trial in study["trials"]:
        record = json.loads((ws.results / "runs" / f"{trial['run_id']}.json").read_text())
        assert trial["value"] == record["metrics"]["val"]["f1"]
        values[trial["run_id"]] = trial["value"]
    assert len(set(values.values())) > 1
    assert study["best"]["value"] == max(values.values())
    best_run = study["best"]["run_id"]

    report = ws.nnx("report", "f1moons", "--results-dir", ws.results)
    assert report.exit_code == 0 and "val_f1 (maximize)" in report.output, report.output

    run = ws.nnx("report", best_run, "--results-dir", ws.results)
    rows = {line.split()[0]: line.split()[1:] for line in run.output.splitlines()
            if line.split() and line.split()[0] in ("f1", "roc_auc", "log_loss")}
    record = json.loads((ws.results / "runs" / f"{best_run}.json").read_text())
    assert rows["f1"] == [f"{record['metrics'][s]['f1']:.4f}" for s in ("train", "val", "test")]
    assert set(rows) == {"f1", "roc_auc", "log_loss"}

    # the overview sorts by a metric in its direction: f1 and roc_auc descending,
    # log_loss ascending
    for metric, reverse in (("val_f1", True), ("val_roc_auc", True), ("val_log_loss", False)):
        listed = ws.nnx("report", "--all", "--sort", metric, "--format", "json",
                        "--results-dir", ws.results)
        assert listed.exit_code == 0, listed.output
        runs = [row for row in json.loads(listed.output)["rows"] if row["kind"] == "run"]
        shown = [row["value"] for row in runs]
        assert len(shown) == 3 and shown == sorted(shown, reverse=reverse), (metric, shown)

    compared = ws.nnx("report", "--compare", *values, "--results-dir", ws.results)
    assert compared.exit_code == 0
    assert all(f"val_{m}" in compared.output for m in ("f1", "roc_auc", "log_loss"))


def test_the_run_json_holds_metric_variants_by_their_names(ws):
    config = with_metrics(IRIS, [{"type": "f1", "average": "weighted"}, "top_k_accuracy",
                                 "balanced_accuracy", "log_loss"])
    result = ws.nnx("train", ws.experiment(config), "-q")
    assert result.exit_code == 0, result.output
    record = ws.record()
    assert record["config"]["train"]["metrics"] == ["f1_weighted", "top_2_accuracy",
                                                    "balanced_accuracy", "log_loss"]
    values = record["metrics"]["test"]
    assert all(np.isfinite(values[m]) for m in record["config"]["train"]["metrics"])

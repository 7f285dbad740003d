"""What a trial becomes: pruned before its last epoch, diverged without stopping the study,
failed with its error; its printed command reproduces its value; the best one exported
and used to warm-start another study."""

import json

import yaml
from search_helpers import BASE, PruneAtStep

from nnx.experiment import run_experiment
from nnx.format import fmt_metric
from nnx.search.trial import PruningCallback


def test_pruning_callback_stops_training_as_pruned(tmp_path):
    config = {k: v for k, v in BASE.items() if k != "search"}
    config["train"] = {**config["train"], "epochs": 5}
    trial = PruneAtStep(2)
    record = run_experiment(config, tmp_path, callbacks=[PruningCallback(trial, "val_accuracy",
                                                                         5)],
                            save_model=False)
    assert record["status"] == "pruned"
    assert len(record["history"]["val_accuracy"]) == 2
    assert sorted(trial.reports) == [1, 2]
    assert "pruned after epoch 2 of 5" in record["stop_reason"]


def test_pruning_never_stops_the_last_epoch(tmp_path):
    config = {k: v for k, v in BASE.items() if k != "search"}
    record = run_experiment(config, tmp_path, callbacks=[PruningCallback(PruneAtStep(3),
                                                                         "val_accuracy", 3)],
                            save_model=False)
    assert record["status"] == "completed"


def test_median_pruner_stops_bad_trials_before_their_last_epoch(ws):
    # A grid runs its points in order: five good learning rates set the median, then the
    # two that barely learn fall below it after their first epoch.
    good, bad = [0.05, 0.04, 0.03, 0.06, 0.07], [1.0e-6, 2.0e-6]
    path = ws.experiment(train={**BASE["train"], "epochs": 6}, space={
        "train.optimizer.lr": {"type": "categorical", "choices": good + bad}})
    result = ws.nnx("search", path, "--method", "grid", "--n-trials", 7, "--pruner", "median")
    assert result.exit_code == 0, result.output
    pruned = [t for t in ws.study()["trials"] if t["state"] == "pruned"]
    assert {t["params"]["train.optimizer.lr"] for t in pruned} == set(bad), result.output
    for trial in pruned:
        assert len(trial["intermediate"]) < 6
        record = json.loads((ws.results / "runs" / f"{trial['run_id']}.json").read_text())
        assert record["status"] == "pruned"
        assert len(record["history"]["val_accuracy"]) == len(trial["intermediate"])


def test_a_diverging_trial_is_recorded_and_the_study_goes_on(ws):
    path = ws.experiment(
        train={**BASE["train"], "optimizer": {"type": "sgd", "lr": 0.01}},
        search={"metric": "val_loss"},
        space={"train.optimizer.lr": {"type": "categorical", "choices": [1000.0, 0.1, 0.05]}})
    result = ws.nnx("search", path, "--method", "grid", "--pruner", "none")
    assert result.exit_code == 0, result.output
    trials = {t["params"]["train.optimizer.lr"]: t for t in ws.study()["trials"]}
    assert len(trials) == 3
    assert trials[1000.0]["state"] == "diverged"
    assert "nan" in trials[1000.0]["error"] or "inf" in trials[1000.0]["error"]
    assert trials[0.1]["state"] == trials[0.05]["state"] == "complete"
    assert ws.study()["counts"]["diverged"] == 1
    record = json.loads((ws.results / "runs" / f"{trials[1000.0]['run_id']}.json").read_text())
    assert record["status"] == "diverged"


def test_every_trial_failing_exits_1_with_the_error(ws):
    # 5 or 6 output units cannot fit iris's 3 classes: each trial fails, none is retried
    path = ws.experiment(space={"model.layers.1.units": {"type": "categorical",
                                                         "choices": [5, 6]}})
    result = ws.nnx("search", path, "--method", "grid")
    assert result.exit_code == 1, result.output
    assert "every trial of this run failed" in result.output
    study = ws.study()
    assert [t["state"] for t in study["trials"]] == ["failed", "failed"]
    assert "invalid parameters" in study["trials"][0]["error"]
    assert "model.layers.1.units" in study["trials"][0]["error"]


def test_the_reproduce_command_gives_the_trials_value_again(ws):
    path = ws.experiment()
    result = ws.nnx("search", path, "--method", "random", "--n-trials", 3, "--pruner", "none",
                    "--set", "train.epochs=4")
    assert result.exit_code == 0, result.output
    best = ws.study()["best"]
    command = best["command"].split()
    assert command[:3] == ["nnx", "train", "exp.yaml"]
    assert "train.epochs=4" in command
    again = ws.nnx(*command[1:], "--json", "--quiet")
    assert again.exit_code == 0, again.output
    record = json.loads(again.stdout)
    assert record["metrics"]["val"]["accuracy"] == best["value"]
    assert record["config"]["train"]["optimizer"]["lr"] == best["params"]["train.optimizer.lr"]


def test_save_model_best_keeps_only_the_best_trials_model(ws):
    ws.nnx("search", ws.experiment(), "--method", "random", "--n-trials", 3, "--pruner", "none")
    study = ws.study()
    models = sorted(p.stem for p in (ws.results / "runs").glob("*.npz"))
    assert models == [study["best"]["run_id"]]
    for trial in study["trials"]:
        record = json.loads((ws.results / "runs" / f"{trial['run_id']}.json").read_text())
        assert (record["model_path"] is not None) == (trial["run_id"] == models[0])


def test_export_best_writes_a_ready_experiment(ws):
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--n-trials", 3,
                    "--pruner", "none", "--export-best", "best.yaml")
    assert result.exit_code == 0, result.output
    best = ws.study()["best"]
    exported = yaml.safe_load((ws.root / "best.yaml").read_text())
    assert "search" not in exported
    assert exported["train"]["optimizer"]["lr"] == best["params"]["train.optimizer.lr"]
    assert exported["model"]["layers"][0]["units"] == best["params"]["model.layers.0.units"]
    again = ws.nnx("train", "best.yaml", "--json", "--quiet", "--threads", "2")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["metrics"]["val"]["accuracy"] == best["value"]


def test_train_search_and_report_write_the_best_value_alike(ws):
    """The best value reads the same in the search's lines, in the table of its reproduced
    run and in the report of the study."""
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--n-trials", 2,
                    "--pruner", "none", "--export-best", "best.yaml")
    assert result.exit_code == 0, result.output
    shown = fmt_metric(ws.study()["best"]["value"])
    assert f"val_accuracy {shown}" in result.output
    assert f"best: trial {ws.study()['best']['trial']}  val_accuracy {shown}" in result.output
    again = ws.nnx("train", "best.yaml", "--quiet", "--threads", "2")
    assert again.exit_code == 0, again.output
    (line,) = [line for line in again.stdout.splitlines() if line.startswith("accuracy")]
    assert line.split() == ["accuracy", line.split()[1], shown]  # the train and val splits
    reported = ws.nnx("report", "tiny", "--results-dir", ws.results)
    assert reported.exit_code == 0, reported.output
    assert f" {shown} " in reported.output


def test_warm_start_runs_the_best_trials_of_an_earlier_study_first(ws):
    path = ws.experiment()
    ws.nnx("search", path, "--method", "random", "--n-trials", 4, "--pruner", "none")
    first = ws.study()
    ranked = sorted((t for t in first["trials"] if t["state"] == "complete"),
                    key=lambda t: -t["value"])
    result = ws.nnx("search", path, "--method", "bayes", "--n-trials", 2, "--study", "second",
                    "--warm-start", "tiny")
    assert result.exit_code == 0, result.output
    assert "warm start: 4 trials queued" in result.output
    second = ws.study("second")
    assert [t["state"] for t in second["trials"]] == ["complete"] * 2 + ["waiting"] * 2
    assert [t["params"] for t in second["trials"]] == [t["params"] for t in ranked]
    # a rerun runs the queued ones and queues nothing twice
    again = ws.nnx("search", path, "--method", "bayes", "--n-trials", 3, "--study", "second",
                   "--warm-start", "tiny")
    assert again.exit_code == 0, again.output
    assert "warm start" not in again.output
    trials = ws.study("second")["trials"]
    assert [t["params"] for t in trials[:4]] == [t["params"] for t in ranked]
    assert len(trials) == 5 and trials[4]["params"] not in [t["params"] for t in ranked]

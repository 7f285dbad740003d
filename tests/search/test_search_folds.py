"""A search over cross-validated trials (`--set data.folds=K`): a trial's value is the mean
over the folds of its validation metric; its intermediate values run fold after fold
(step k * epochs + epoch + 1), a pruned fold ends the trial but the last epoch of the last
fold is never pruned; the median pruner still prunes; Hyperband's resource is every epoch
of every fold."""

import copy

import numpy as np
from search_helpers import BASE, PruneAtStep

from nnx.experiment import run_experiment
from nnx.search.plan import plan_search
from nnx.search.request import SearchRequest
from nnx.search.trial import PruningCallback


def three_folds_of_four_epochs():
    config = copy.deepcopy({k: v for k, v in BASE.items() if k != "search"})
    config["data"]["folds"] = 3
    config["train"]["epochs"] = 4
    return config


def test_pruning_steps_run_fold_after_fold_and_stop_the_remaining_folds(tmp_path):
    trial = PruneAtStep(6)  # fold 2, epoch 2 of 4: step 1 * 4 + 2
    record = run_experiment(three_folds_of_four_epochs(), tmp_path, save_model=False,
                            callbacks=[PruningCallback(trial, "val_accuracy", 4, folds=3)])
    assert record["status"] == "pruned"
    assert sorted(trial.reports) == [1, 2, 3, 4, 5, 6]
    folds = record["cv"]["per_fold"]
    assert [f["status"] for f in folds] == ["completed", "pruned"]
    assert trial.reports[6] == folds[1]["history"]["val_accuracy"][1]
    assert record["stop_reason"].startswith("fold 2 of 3: pruned after epoch 2 of 4")


def test_the_last_epoch_of_the_last_fold_is_never_pruned(tmp_path):
    trial = PruneAtStep(12)
    record = run_experiment(three_folds_of_four_epochs(), tmp_path, save_model=False,
                            callbacks=[PruningCallback(trial, "val_accuracy", 4, folds=3)])
    assert record["status"] == "completed"
    assert sorted(trial.reports) == list(range(1, 13))


def test_trial_value_is_the_mean_over_folds_of_the_validation_metric(ws):
    path = ws.experiment()
    result = ws.nnx("search", path, "--method", "random", "--n-trials", 2,
                    "--set", "data.folds=3", "--save-model", "none")
    assert result.exit_code == 0, result.output
    trials = ws.study()["trials"]
    assert [t["state"] for t in trials] == ["complete", "complete"]
    for trial in trials:
        record = ws.run_record(trial["run_id"])
        per_fold = [f["metrics"]["val"]["accuracy"] for f in record["cv"]["per_fold"]]
        assert len(per_fold) == 3
        assert trial["value"] == np.mean(per_fold)
        # fold-major steps: fold k's epoch e (from 0) at k * 3 + e + 1
        curves = [f["history"]["val_accuracy"] for f in record["cv"]["per_fold"]]
        assert trial["intermediate"] == {str(k * 3 + e + 1): v for k, curve in enumerate(curves)
                                         for e, v in enumerate(curve)}


def test_median_pruner_prunes_cross_validated_trials(ws):
    # As without folds: five good learning rates set the median at each step, then the two
    # that barely learn fall below it in their first fold.
    good, bad = [0.05, 0.04, 0.03, 0.06, 0.07], [1.0e-6, 2.0e-6]
    path = ws.experiment(train={**BASE["train"], "epochs": 4}, space={
        "train.optimizer.lr": {"type": "categorical", "choices": good + bad}})
    result = ws.nnx("search", path, "--method", "grid", "--n-trials", 7, "--pruner", "median",
                    "--set", "data.folds=2", "--save-model", "none")
    assert result.exit_code == 0, result.output
    trials = ws.study()["trials"]
    pruned = [t for t in trials if t["state"] == "pruned"]
    assert {t["params"]["train.optimizer.lr"] for t in pruned} == set(bad), result.output
    for trial in pruned:
        assert len(trial["intermediate"]) < 8
        record = ws.run_record(trial["run_id"])
        assert record["status"] == "pruned" == record["cv"]["per_fold"][-1]["status"]
    complete = [t for t in trials if t["state"] == "complete"]
    assert all(len(t["intermediate"]) == 8 for t in complete)


def test_hyperband_resource_is_every_epoch_of_every_fold(ws):
    path = ws.experiment(train={**BASE["train"], "epochs": 6})
    plan = plan_search(SearchRequest(ws.root / path, overrides=["data.folds=3"],
                                     results_dir=ws.results))
    assert (plan.epoch_stride, plan.max_steps) == (6, 18)
    path = ws.experiment(train={**BASE["train"], "epochs": 6}, space={
        **BASE["search"]["space"], "train.epochs": {"type": "int", "low": 2, "high": 10}})
    plan = plan_search(SearchRequest(ws.root / path, overrides=["data.folds=3"],
                                     results_dir=ws.results))
    assert (plan.epoch_stride, plan.max_steps) == (10, 30)  # a trial may train 10 per fold
    plan = plan_search(SearchRequest(ws.root / path, results_dir=ws.results))
    assert plan.max_steps == 10

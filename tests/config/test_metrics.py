"""Metrics in experiment files: `train.metrics` entries resolve to their log names,
`search.metric` and the early-stopping monitor name them so and take their direction, and
every mistake is a ConfigError at the field."""

import copy

import pytest
from experiment_configs import tiny_moons

from nnx.config import ConfigError, resolve_config
from nnx.experiment.build import prepare


def moons(metrics, **sections):
    config = tiny_moons()
    config["train"]["metrics"] = metrics
    config.update(copy.deepcopy(sections))
    return config


def iris(metrics):
    return {"name": "iris", "data": {"dataset": "iris"},
            "model": {"layers": [{"type": "dense", "units": 3, "activation": "softmax"}]},
            "train": {"loss": "categorical_crossentropy", "metrics": metrics}}


def test_metrics_resolve_to_their_log_names():
    config = resolve_config(moons(["f1", {"type": "f1", "average": "micro"}, "roc_auc",
                                   {"type": "top_k_accuracy", "k": 3}, "top_k_accuracy"]))
    assert config["train"]["metrics"] == ["f1", "f1_micro", "roc_auc", "top_3_accuracy",
                                          "top_2_accuracy"]
    assert resolve_config(config)["train"] == config["train"]  # a run's config re-resolves


@pytest.mark.parametrize("metric, direction", [
    ("val_f1", "maximize"), ("val_f1_micro", "maximize"), ("val_roc_auc", "maximize"),
    ("val_pr_auc", "maximize"), ("val_log_loss", "minimize"), ("val_loss", "minimize"),
])
def test_the_search_direction_comes_from_the_metric(metric, direction):
    config = resolve_config(moons(["f1", "f1_micro", "roc_auc", "pr_auc", "log_loss"],
                                  search={"metric": metric}))
    assert config["search"]["direction"] == direction


def test_search_and_monitor_name_a_metric_as_its_logs_do():
    config = resolve_config(iris(["top_k_accuracy"]) | {
        "search": {"metric": "val_top_k_accuracy"}})
    assert config["search"] == config["search"] | {"metric": "val_top_2_accuracy",
                                                   "direction": "maximize"}
    raw = iris(["top_k_accuracy"])
    raw["train"]["early_stopping"] = {"monitor": "val_top_k_accuracy"}
    stopping = resolve_config(raw)["train"]["early_stopping"]
    assert stopping["monitor"] == "val_top_2_accuracy" and stopping["mode"] == "auto"


@pytest.mark.parametrize("metrics, section, path, words", [
    (["f1_mikro"], None, "train.metrics.0", ["unknown metric 'f1_mikro'",
                                             "did you mean 'f1_micro'"]),
    (["accuracy", "rocauc"], None, "train.metrics.1", ["did you mean 'roc_auc'"]),
    ([{"type": "f1", "average": "foo"}], None, "train.metrics.0.average",
     ["must be one of micro, macro, weighted or null, got 'foo'"]),
    ([{"type": "top_k_accuracy", "k": 0}], None, "train.metrics.0.k", ["got 0"]),
    ([{"type": "f1", "avg": "micro"}], None, "train.metrics.0.avg", ["takes: average"]),
    ([{"type": "f11"}], None, "train.metrics.0.type", ["'f1'"]),
    ([{"average": "micro"}], None, "train.metrics.0.type", ["needs a 'type'"]),
    (["f1_micro", {"type": "f1", "average": "micro"}], None, "train.metrics.1",
     ["'f1_micro' is listed twice"]),
    ("f1 roc_auc", None, "train.metrics.0", ["unknown metric 'f1 roc_auc'"]),
    (["f1"], {"search": {"metric": "val_f1_micro"}}, "search.metric",
     ["add 'f1_micro' to train.metrics"]),
    (["f1"], {"search": {"metric": "val_f1_micr"}}, "search.metric",
     ["did you mean 'val_f1'"]),
])
def test_bad_metrics_name_the_field(metrics, section, path, words):
    with pytest.raises(ConfigError) as info:
        resolve_config(moons(metrics, **(section or {})))
    assert info.value.path == path, str(info.value)
    for word in words:
        assert word in str(info.value), str(info.value)


@pytest.mark.parametrize("config, path, words", [
    ({**moons(["f1"]), "data": {"dataset": "diabetes"},
      "model": {"layers": [{"type": "dense", "units": 1}]},
      "train": {"loss": "mse", "metrics": ["rmse", "roc_auc"]}},
     "train.metrics.1", ["'roc_auc' does not apply to the regression task of 'diabetes'",
                         "use mae, mse, rmse, r2, mape"]),
    (iris(["top_3_accuracy"]), "train.metrics.0",
     ["'top_3_accuracy' needs k below the 3 classes of 'iris', got k=3"]),
    (iris(["mape"]), "train.metrics.0", ["multiclass task"]),
    (moons(["balanced_accuracy", "top_k_accuracy"]), "train.metrics.1", ["binary task"]),
])
def test_metrics_that_do_not_fit_the_data(config, path, words):
    with pytest.raises(ConfigError) as info:
        prepare(config)
    assert info.value.path == path, str(info.value)
    for word in words:
        assert word in str(info.value), str(info.value)

"""Metric specs and their names: one log name per metric and argument values, read back
from that name; the direction of every name; one clear error per bad spec."""

import numpy as np
import pytest

from nnx import metrics
from nnx.metrics import MetricError


@pytest.mark.parametrize("spec, name", [
    ("accuracy", "accuracy"),
    ("f1", "f1"),
    ({"type": "f1"}, "f1"),
    ({"type": "f1", "average": None}, "f1"),
    ({"type": "f1", "average": "micro"}, "f1_micro"),
    ("f1_micro", "f1_micro"),
    ({"type": "f1_micro"}, "f1_micro"),
    ({"type": "precision", "average": "weighted"}, "precision_weighted"),
    ("recall_macro", "recall_macro"),
    ("top_k_accuracy", "top_2_accuracy"),
    ({"type": "top_k_accuracy", "k": 3}, "top_3_accuracy"),
    ("top_3_accuracy", "top_3_accuracy"),
    ("top_03_accuracy", "top_3_accuracy"),
    ({"type": "top_3_accuracy", "k": 5}, "top_5_accuracy"),
])
def test_log_names(spec, name):
    assert metrics.log_name(spec) == name
    assert metrics.log_name(name) == name  # the name reads back as the same metric


def test_a_named_variant_computes_what_its_mapping_computes():
    rng = np.random.default_rng(0)
    pred, target = rng.random((50, 4)), rng.integers(0, 4, 50)
    for name, spec in (("f1_micro", {"type": "f1", "average": "micro"}),
                       ("top_3_accuracy", {"type": "top_k_accuracy", "k": 3})):
        assert metrics.get(name)(pred, target, "argmax") == \
            metrics.get(spec)(pred, target, "argmax")
    assert metrics.get("f1_micro")(pred, target, "argmax") != \
        metrics.get("f1_weighted")(pred, target, "argmax")


@pytest.mark.parametrize("monitor, higher", [
    ("val_loss", False), ("loss", False), ("val_log_loss", False), ("test_rmse", False),
    ("val_mape", False), ("out_mse", False), ("val_accuracy", True), ("f1", True),
    ("val_f1_micro", True), ("val_top_3_accuracy", True), ("val_out_roc_auc", True),
    ("train_pr_auc", True), ("val_balanced_accuracy", True), ("val_precision_weighted", True),
    ("val_r2", True), ("val_recall", True),
])
def test_which_way_is_better(monitor, higher):
    assert metrics.higher_is_better(monitor) is higher


@pytest.mark.parametrize("monitor, canonical", [
    ("val_top_k_accuracy", "val_top_2_accuracy"), ("top_k_accuracy", "top_2_accuracy"),
    ("val_f1_micro", "val_f1_micro"), ("val_loss", "val_loss"), ("val_top_0_accuracy",
                                                                  "val_top_0_accuracy"),
])
def test_monitors_name_metrics_as_the_logs_do(monitor, canonical):
    assert metrics.canonical(monitor) == canonical


@pytest.mark.parametrize("spec, argument, words", [
    ("f1_mikro", None, ["unknown metric 'f1_mikro'", "did you mean 'f1_micro'"]),
    ("roc_uac", None, ["did you mean 'roc_auc'"]),
    ("top3_accuracy", None, ["did you mean 'top_k_accuracy'"]),
    ({"type": "f1", "average": "foo"}, "average",
     ["f1 average must be one of micro, macro, weighted or null, got 'foo'"]),
    ({"type": "top_k_accuracy", "k": 0}, "k", ["k must be an integer >= 1, got 0"]),
    ("top_0_accuracy", "k", ["k must be an integer >= 1, got 0"]),
    ({"type": "top_k_accuracy", "k": 2.5}, "k", ["got 2.5"]),
    ({"type": "top_k_accuracy", "k": True}, "k", ["got True"]),
    ({"type": "f1", "k": 3}, "k", ["metric 'f1' does not take 'k'; it takes: average"]),
    ({"type": "roc_auc", "average": "micro"}, "average", ["takes: no arguments"]),
    ({"average": "micro"}, "type", ["needs a 'type'"]),
    ({"type": "f2"}, "type", ["unknown metric 'f2'"]),
    (3, None, ["unknown metric 3"]),
])
def test_bad_specs_say_what_and_where(spec, argument, words):
    with pytest.raises(MetricError) as info:
        metrics.log_name(spec)
    assert info.value.argument == argument
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("spec, task, classes, words", [
    ("roc_auc", "regression", None, ["does not apply to the regression task of 'd'",
                                     "use mae, mse, rmse, r2, mape"]),
    ("rmse", "multiclass", 3, ["does not apply to the multiclass task"]),
    ("log_loss", "multilabel", None, ["does not apply to the multilabel task"]),
    ("top_3_accuracy", "multiclass", 3, ["needs k below the 3 classes of 'd', got k=3"]),
])
def test_a_metric_that_does_not_fit_the_data(spec, task, classes, words):
    problem = metrics.misfit(spec, task, classes, "'d'")
    for word in words:
        assert word in problem
    assert metrics.misfit("top_2_accuracy", "multiclass", 3, "'d'") is None


def test_the_registry_describes_every_argument():
    """Names, tasks, direction and arguments with their allowed values come from one place
    (the schema and validation read it)."""
    f1 = metrics.METRICS.get("f1")
    (average,) = f1.arguments
    assert (average.name, average.default, average.choices) == \
        ("average", None, ("micro", "macro", "weighted"))
    (k,) = metrics.METRICS.get("top_k_accuracy").arguments
    assert (k.name, k.default, k.minimum, k.below_classes) == ("k", 2, 1, True)
    for name, metric in metrics.METRICS.items():
        assert metric.name == name and metric.fn is getattr(metrics, name)
        assert all(a.doc for a in metric.arguments)
        assert bool(metric.arguments) == bool(metric.variant)

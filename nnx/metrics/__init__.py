"""Metrics over whole prediction arrays (numpy): `metric(pred, target, decision) -> float`.

`decision` (the loss's) says what the predictions are and how they become labels: "argmax"
(class probabilities) or "argmax_logits" for several classes, the threshold of a binary or
multi-label output (0.5 on probabilities, 0.0 on logits), None for regression.

A metric is given by name (`f1`, `f1_micro`, `top_3_accuracy`) or as a mapping (`{type: f1,
average: micro}`, `{type: top_k_accuracy, k: 3}`); logs, the run JSON, `search.metric` and
reports know each by one name (`log_name`; the scheme is in `nnx.metrics._spec`). Each
registry entry says which tasks the metric fits, which way is better and which arguments
it takes, for validation, the search direction and the schema alike.

Every metric equals scikit-learn's function of the same name on the same predictions; they
are written in numpy because importing scikit-learn takes over a second, which every
`nnx train` would pay at start-up.
"""

import functools

from nnx.errors import closest
from nnx.metrics._classification import (
    accuracy,
    balanced_accuracy,
    f1,
    precision,
    recall,
    subset_accuracy,
    top_k_accuracy,
)
from nnx.metrics._regression import mae, mape, mse, r2, rmse
from nnx.metrics._scores import log_loss, pr_auc, roc_auc
from nnx.metrics._spec import Argument, Metric, MetricError
from nnx.registry import Registry

__all__ = ["METRICS", "Argument", "Metric", "MetricError", "accuracy", "balanced_accuracy",
           "canonical", "f1", "for_task", "get", "higher_is_better", "log_loss", "log_name",
           "log_names", "mae", "mape", "misfit", "mse", "pr_auc", "precision", "r2", "recall",
           "resolve", "rmse", "roc_auc", "subset_accuracy", "top_k_accuracy"]

CLASSIFICATION = ("binary", "multiclass", "multilabel")
SINGLE_LABEL = ("binary", "multiclass")
FITS_MSE = ("regression", "binary", "multilabel")

AVERAGE = Argument("average", None, choices=("micro", "macro", "weighted"),
                   doc="how classes combine: null is class 1 of a binary task, else macro")
TOP_K = Argument("k", 2, below_classes=True,
                 doc="how many of the highest-scored classes may hold the true one")

METRICS = Registry("metric", {m.name: m for m in (
    Metric(accuracy, CLASSIFICATION, higher_is_better=True),
    Metric(subset_accuracy, CLASSIFICATION, higher_is_better=True),
    Metric(balanced_accuracy, SINGLE_LABEL, higher_is_better=True),
    Metric(top_k_accuracy, ("multiclass",), True, (TOP_K,), "top_{k}_accuracy"),
    Metric(precision, CLASSIFICATION, True, (AVERAGE,), "{name}_{average}"),
    Metric(recall, CLASSIFICATION, True, (AVERAGE,), "{name}_{average}"),
    Metric(f1, CLASSIFICATION, True, (AVERAGE,), "{name}_{average}"),
    Metric(roc_auc, CLASSIFICATION, higher_is_better=True),
    Metric(pr_auc, CLASSIFICATION, higher_is_better=True),
    Metric(log_loss, SINGLE_LABEL),
    Metric(mae, FITS_MSE),
    Metric(mse, FITS_MSE),
    Metric(rmse, FITS_MSE),
    Metric(r2, ("regression",), higher_is_better=True),
    Metric(mape, ("regression",)),
)})


def resolve(spec):
    """(log name, Metric, argument values) of a metric given as a name or a mapping;
    MetricError says what is wrong (and which argument)."""
    if isinstance(spec, dict):
        given = dict(spec)
        name = given.pop("type", None)
        if name is None:
            raise MetricError("a metric given as a mapping needs a 'type' (one of: "
                              f"{', '.join(METRICS.names())})", "type")
        metric, spelled = _read_or_raise(name, "type")
        values = metric.values({**spelled, **given})
    else:
        metric, spelled = _read_or_raise(spec, None)
        values = metric.values(spelled)
    return metric.log_name(values), metric, values


def log_name(spec):
    """The name the metric `spec` has in logs and the run JSON (`f1_micro`)."""
    return resolve(spec)[0]


def log_names(specs):
    """The log name of each metric of a list (or of one name); None is no metric."""
    if specs is None:
        return []
    return [log_name(spec) for spec in ([specs] if isinstance(specs, str) else specs)]


def get(spec):
    """The metric `spec` as `fn(pred, target, decision) -> float`, its arguments bound."""
    _, metric, values = resolve(spec)
    return functools.partial(metric.fn, **values) if values else metric.fn


def for_task(task):
    """The names of the metrics that fit `task`, in registry order."""
    return [name for name, m in METRICS.items() if task in m.tasks]


def misfit(spec, task, n_classes, data="the data"):
    """Why metric `spec` cannot score `data` of `task` with `n_classes`, or None."""
    _, metric, values = resolve(spec)
    if task not in metric.tasks:
        return f"does not apply to the {task} task of {data}; use {', '.join(for_task(task))}"
    return metric.too_few_classes(values, n_classes, data)


def canonical(monitor):
    """`monitor` (`val_<metric>` or `<metric>`) with the metric named as the logs name it
    (`val_top_k_accuracy` is logged as `val_top_2_accuracy`); anything else unchanged."""
    for prefix in ("val_", ""):
        if monitor.startswith(prefix) and _read(monitor[len(prefix):]) is not None:
            try:
                return prefix + log_name(monitor[len(prefix):])
            except MetricError:
                return monitor
    return monitor


def higher_is_better(monitor):
    """Whether a larger value of `monitor` is better: a metric's log name, also with a split
    or output in front (`val_f1_micro`, `out_accuracy`, `val_out_r2`); losses are
    lower-better."""
    parts = monitor.split("_")
    for start in range(len(parts)):
        found = _read("_".join(parts[start:]))
        if found is not None:
            return found[0].higher_is_better
    return False


def _read(name):
    """(Metric, argument values) that `name` spells, a registry name or a variant's name
    (values not yet checked), or None."""
    if not isinstance(name, str):
        return None
    if name in METRICS:
        metric = METRICS.get(name)
        return metric, metric.defaults()
    for _, metric in METRICS.items():
        values = metric.read_name(name)
        if values is not None:
            return metric, values
    return None


def _read_or_raise(name, argument):
    found = _read(name)
    if found is None:
        variants = [v for _, m in METRICS.items() for v in m.spelled_variants()]
        hint = closest(name, METRICS.names() + variants) if isinstance(name, str) else None
        raise MetricError(f"unknown metric {name!r}; known: {', '.join(METRICS.names())}"
                          + (f" (did you mean {hint!r}?)" if hint else ""), argument)
    return found

"""Metrics over whole prediction arrays (numpy): `metric(pred, target, decision) -> float`.

`decision` says how predictions become labels: "argmax" (several classes), or the threshold
of a binary / multi-label output (0.5 on probabilities, 0.0 on logits); None for regression.
Each registry entry (`Metric`) also says which tasks it fits and which way is better.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnx.registry import Registry


def _labels(pred, target, decision):
    """(predicted, true) labels of the same shape for classification metrics."""
    if decision == "argmax":
        true = target if target.ndim == 1 else target.argmax(axis=1)
        return pred.argmax(axis=1), true
    threshold = 0.5 if decision is None else decision
    return (pred > threshold).astype(np.int64), np.rint(target).astype(np.int64).reshape(pred.shape)


def accuracy(pred, target, decision):
    """Fraction correct: argmax over classes; element-wise threshold for binary/multi-label."""
    predicted, true = _labels(pred, target, decision)
    return float(np.mean(predicted == true))


def subset_accuracy(pred, target, decision):
    """Multi-label exact match: a sample counts only when every label is right."""
    predicted, true = _labels(pred, target, decision)
    if predicted.ndim == 1:
        return float(np.mean(predicted == true))
    return float(np.mean(np.all(predicted == true, axis=1)))


def mae(pred, target, decision):
    return float(np.mean(np.abs(pred - target.reshape(pred.shape))))


def mse(pred, target, decision):
    return float(np.mean((pred - target.reshape(pred.shape)) ** 2))


def r2(pred, target, decision):
    """Coefficient of determination, averaged over outputs (scikit-learn's default)."""
    pred = pred.reshape(pred.shape[0], -1).astype(np.float64)
    target = target.reshape(pred.shape).astype(np.float64)
    ss_res = ((target - pred) ** 2).sum(axis=0)
    ss_tot = ((target - target.mean(axis=0)) ** 2).sum(axis=0)
    # A constant target scores 1 when predicted exactly, else 0 (as scikit-learn does).
    scores = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                      np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


CLASSIFICATION = ("binary", "multiclass", "multilabel")


@dataclass(frozen=True)
class Metric:
    """A registry entry: the function, the tasks it means something for (the data decide
    the task), and whether a larger value is better (early stopping, search and report read
    this to pick a direction)."""

    fn: Callable
    tasks: tuple
    higher_is_better: bool = False


METRICS = Registry("metric", {m.fn.__name__: m for m in (
    Metric(accuracy, CLASSIFICATION, higher_is_better=True),
    Metric(subset_accuracy, CLASSIFICATION, higher_is_better=True),
    Metric(mae, ("regression", "binary", "multilabel")),
    Metric(mse, ("regression", "binary", "multilabel")),
    Metric(r2, ("regression",), higher_is_better=True),
)})

HIGHER_IS_BETTER = frozenset(name for name, m in METRICS.items() if m.higher_is_better)


def get(name):
    """The function of metric `name`: `fn(pred, target, decision) -> float`."""
    return METRICS.get(name).fn


def for_task(task):
    """The names of the metrics that fit `task`, in registry order."""
    return [name for name, m in METRICS.items() if task in m.tasks]


def higher_is_better(monitor):
    """Whether a larger value of `monitor` is better: a metric name, also with a split or
    output in front (`val_accuracy`, `out_accuracy`, `val_out_r2`); losses are lower-better."""
    return any(monitor == name or monitor.endswith(f"_{name}") for name in HIGHER_IS_BETTER)

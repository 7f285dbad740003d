"""Pruners: config name -> Optuna pruner over per-epoch reports (epochs count from 1).

A registry of plain factories; optuna is imported only when a pruner is built.
"""

from dataclasses import dataclass

from nnx.registry import Registry


@dataclass(frozen=True)
class Pruner:
    name: str
    summary: str
    build: object  # build(epochs) -> optuna pruner


def _none(epochs):
    from optuna.pruners import NopPruner

    return NopPruner()


def _median(epochs):
    from optuna.pruners import MedianPruner

    # Optuna's defaults: judge only after 5 finished trials, from the first report on.
    return MedianPruner(n_startup_trials=5, n_warmup_steps=0)


def _hyperband(epochs):
    from optuna.pruners import HyperbandPruner

    return HyperbandPruner(min_resource=1, max_resource=max(int(epochs), 1), reduction_factor=3)


PRUNERS = Registry("pruner", {p.name: p for p in (
    Pruner("none", "never stop a trial early", _none),
    Pruner("median", "stop a trial whose metric is worse than the median of earlier trials "
                     "at the same epoch", _median),
    Pruner("hyperband", "successive halving over epoch budgets (HyperbandPruner)", _hyperband),
)})
DEFAULT_PRUNER = "median"


def get(name):
    return PRUNERS.get(name)


def build_pruner(name, epochs):
    return get(name).build(epochs)

"""Pruners: the Optuna pruner over per-epoch reports (epochs count from 1) built for each
name of `nnx.config.search_names`; optuna is imported only when a pruner is built.
"""

from nnx.config.search_names import PRUNERS


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


# build(epochs) -> an Optuna pruner, for every pruner name
BUILDERS = {"none": _none, "median": _median, "hyperband": _hyperband}


def build_pruner(name, epochs):
    return BUILDERS[PRUNERS.get(name).name](epochs)

"""Pruners: the Optuna pruner over per-epoch reports (steps count from 1; with
cross-validation the folds' epochs one after another, `nnx.search.trial.PruningCallback`)
built for each name of `nnx.config.search_names`; optuna is imported only when a pruner is
built. `steps` is the last step a trial can reach.
"""

from nnx.config.search_names import PRUNERS


def _none(steps):
    from optuna.pruners import NopPruner

    return NopPruner()


def _median(steps):
    from optuna.pruners import MedianPruner

    # Optuna's defaults: judge only after 5 finished trials, from the first report on.
    return MedianPruner(n_startup_trials=5, n_warmup_steps=0)


def _hyperband(steps):
    from optuna.pruners import HyperbandPruner

    return HyperbandPruner(min_resource=1, max_resource=max(int(steps), 1), reduction_factor=3)


# build(steps) -> an Optuna pruner, for every pruner name
BUILDERS = {"none": _none, "median": _median, "hyperband": _hyperband}


def build_pruner(name, steps):
    return BUILDERS[PRUNERS.get(name).name](steps)

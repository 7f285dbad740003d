"""Search methods: the Optuna sampler built for each name of `nnx.config.search_names`
(optuna is imported only when a sampler is built, so the CLI help and config checks stay
fast).

Seeding: a sampler is not stored with the study, so every invocation and every worker
builds a fresh one. Seeding it from the study name alone would replay the same
proposals on each resume, and seeding two workers (or two cron runs that start together)
alike would make them propose the same points. The search loop re-seeds the sampler for
every trial from (study, trial number) (`sampler_seed(name, number)`): Optuna hands out
trial numbers atomically, so they differ between all workers and machines, and a study run
again from scratch proposes the same again. The grid hands out queued points instead and
needs no seed (GRID_SEED only keeps GridSampler's point indices stable).
"""

import hashlib

from nnx.config.search_names import METHODS

GRID_PARAM = "nnx.grid_point"  # the one Optuna parameter of a grid trial: a point's index
GRID_SEED = 0


def _grid(seed, space, n_points):
    from optuna.samplers import GridSampler

    class Grid(GridSampler):
        def after_trial(self, study, trial, state, values):
            """GridSampler would call `study.stop()`, which fails outside `optimize`; the
            search loop checks `is_exhausted` before every trial instead."""

    return Grid({GRID_PARAM: list(range(n_points))}, seed=GRID_SEED)


def _random(seed, space, n_points):
    from optuna.samplers import RandomSampler

    return RandomSampler(seed=seed)


def _bayes(seed, space, n_points):
    from optuna.samplers import TPESampler

    # Multivariate TPE models the parameters jointly; `group` splits a conditional space
    # into the sub-spaces that occur together, so `when:` parameters are modelled too.
    return TPESampler(seed=seed, multivariate=True, group=space.conditional,
                      constant_liar=True)


def _nsga2(seed, space, n_points):
    from optuna.samplers import NSGAIISampler

    return NSGAIISampler(seed=seed)


def _nsga3(seed, space, n_points):
    from optuna.samplers import NSGAIIISampler

    return NSGAIIISampler(seed=seed)


def _cmaes(seed, space, n_points):
    from optuna.samplers import CmaEsSampler, RandomSampler

    return CmaEsSampler(seed=seed, independent_sampler=RandomSampler(seed=seed),
                        warn_independent_sampling=False)


def _qmc(seed, space, n_points):
    from optuna.samplers import QMCSampler, RandomSampler

    # An unscrambled Sobol sequence is indexed by trial number: a resumed study continues it.
    return QMCSampler(qmc_type="sobol", scramble=False, seed=seed,
                      independent_sampler=RandomSampler(seed=seed),
                      warn_asynchronous_seeding=False, warn_independent_sampling=False)


def _gp(seed, space, n_points):
    from optuna.samplers import GPSampler, RandomSampler

    return GPSampler(seed=seed, independent_sampler=RandomSampler(seed=seed),
                     warn_independent_sampling=False)


# build(seed, space, n_points) -> an Optuna sampler, for every method name
BUILDERS = {"grid": _grid, "random": _random, "bayes": _bayes, "nsga2": _nsga2,
            "nsga3": _nsga3, "cmaes": _cmaes, "qmc": _qmc, "gp": _gp}


def sampler_seed(study_name, n_trials, worker=0):
    """A 32-bit seed from (study, trials it holds, worker): fresh on every resume."""
    text = f"{study_name}\x00{n_trials}\x00{worker}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "little")


def build_sampler(name, *, seed, space, n_points=0):
    """The Optuna sampler for method `name`; NnxError when it needs a missing package."""
    METHODS.get(name).check_available()
    return BUILDERS[name](seed, space, n_points)

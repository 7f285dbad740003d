"""The names of the search methods and pruners, what each does and which packages it needs:
what the `search:` schema and the CLI help read. `nnx.search.samplers` and
`nnx.search.pruners` bind an Optuna builder to each name; the table sits here, below the
config, so that checking an experiment never imports the search engine.
"""

import importlib.util
from dataclasses import dataclass

from nnx.errors import NnxError
from nnx.registry import Described, Registry


@dataclass(frozen=True)
class Method(Described):
    """A search method: its (module, how to install it) pairs beyond nnx's own
    dependencies, and whether it optimizes several objectives at once."""

    needs: tuple = ()
    multi_objective: bool = True

    def check_available(self):
        for module, install in self.needs:
            if importlib.util.find_spec(module) is None:
                raise NnxError(f"--method {self.name} needs the {module!r} package, which is "
                               f"not installed: {install}")


METHODS = Registry.of("search method", (
    Method("grid", "every combination of choices and stepped ranges (Optuna GridSampler)"),
    Method("random", "independent uniform / log-uniform draws (RandomSampler)"),
    Method("bayes", "Bayesian optimization with a tree-structured Parzen estimator "
                    "(multivariate TPESampler; multi-objective TPE with several objectives)"),
    Method("nsga2", "genetic algorithm NSGA-II, made for several objectives (NSGAIISampler)"),
    Method("nsga3", "NSGA-III, NSGA-II with reference points for three or more objectives "
                    "(NSGAIIISampler)"),
    Method("cmaes", "CMA evolution strategy for continuous spaces (CmaEsSampler)",
           needs=(("cmaes", "pip install cmaes"),), multi_objective=False),
    Method("qmc", "quasi-random Sobol sequence, even coverage (QMCSampler)",
           needs=(("scipy", "pip install scipy"),)),
    Method("gp", "Gaussian-process Bayesian optimization (GPSampler)",
           needs=(("torch", "pip install torch (CPU build: --index-url "
                            "https://download.pytorch.org/whl/cpu)"),
                  ("scipy", "pip install scipy"))),
))

PRUNERS = Registry.of("pruner", (
    Described("none", "never stop a trial early"),
    Described("median", "stop a trial whose metric is worse than the median of earlier trials "
                        "at the same epoch"),
    Described("hyperband", "successive halving over epoch budgets (HyperbandPruner)"),
))
DEFAULT_PRUNER = "median"

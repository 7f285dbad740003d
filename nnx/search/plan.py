"""`plan_search`: a SearchRequest checked against everything it names (options, budgets,
the experiment, its search space, the base model and its data) and resolved into an
immutable Plan. Nothing is written while planning, so bad input leaves an existing study
as it was.
"""

import time
from dataclasses import dataclass, replace

from nnx.config import ConfigError, read_experiment, with_overrides
from nnx.config.search import multi_objective_methods
from nnx.config.search_names import METHODS, PRUNERS
from nnx.config.space import Space
from nnx.config.space_check import checked_space
from nnx.cores import thread_count, worker_count
from nnx.errors import NnxError, closest
from nnx.experiment import prepare
from nnx.results.pareto import pick_names
from nnx.search.request import SAVE_MODEL, SearchRequest
from nnx.search.storage import check_study_name
from nnx.search.study import Budget, StudyPlan, check_budget, fingerprint_document
from nnx.search.study_json import check_export_path


@dataclass(frozen=True)
class Plan:
    """A checked search: the request, and what was resolved from it and the experiment."""

    request: SearchRequest
    raw: dict  # the experiment file with the --set overrides (what trials set values on)
    config: dict  # the same, resolved
    space: Space
    grid_points: list | None  # every effective point of a grid; None for other methods
    method: str
    pruner: str
    name: str  # the study's
    n_trials: int | None  # trials this invocation may start (None: no such limit)
    n_jobs: int  # worker processes to start: --n-jobs capped to the cores
    warnings: tuple  # one line each, for the listener before the study opens
    started_at: float  # time.time() when the invocation started (for --timeout)

    @property
    def metric(self):
        return self.config["search"]["metric"]

    @property
    def direction(self):
        return self.config["search"]["direction"]

    @property
    def objectives(self):
        """[{metric, direction}]: the one `search.metric`, or `search.objectives`."""
        return self.config["search"]["objectives"]

    @property
    def multi_objective(self):
        return len(self.objectives) > 1

    @property
    def epochs(self):
        return self.config["train"]["epochs"]

    @property
    def folds(self):
        """The base experiment's cross-validation folds, or None."""
        return self.config["data"].get("folds")

    @property
    def epoch_stride(self):
        """The most epochs a trial can train per fold: the pruning steps of one fold."""
        return self._largest("train.epochs", self.epochs)

    @property
    def max_steps(self):
        """The last pruning step a trial can reach (Hyperband's resource)."""
        return self.epoch_stride * self._largest("data.folds", self.folds or 1)

    def _largest(self, path, base):
        """The largest value `path` takes: the base's, or the space's when it searches it."""
        param = next((p for p in self.space.params if p.path == path), None)
        if param is None:
            return base
        values = param.choices if param.type == "categorical" else (param.high,)
        return max(int(v) for v in values if isinstance(v, int) and not isinstance(v, bool))

    @property
    def budget(self):
        return Budget(self.n_trials, self.request.max_trials, self.request.timeout)

    def study_plan(self):
        """What opening (or creating) the study needs, with its fingerprinted document."""
        search = self.config["search"]
        document = fingerprint_document(self.config, search["space"], self.metric,
                                        self.direction,
                                        self.objectives if self.multi_objective else None)
        return StudyPlan(name=self.name, metric=self.metric, direction=self.direction,
                         method=self.method, document=document,
                         experiment=str(self.request.experiment),
                         overrides=list(self.request.overrides), objectives=self.objectives)

    def for_worker(self, threads):
        """The plan of one `--n-jobs` worker: its trials use `threads` threads; the lock,
        the warm start and the export stay with the invoking process."""
        request = replace(self.request, n_jobs=1, threads=threads, exclusive=False,
                          export_best=None, warm_start=None)
        return replace(self, request=request, n_jobs=1, warnings=(),
                       raw=with_overrides(self.raw, {"train.threads": threads}))


def plan_search(request):
    """The Plan of `request`; NnxError (a ConfigError for the experiment) when bad."""
    started_at = time.time()
    check_budget(request.n_trials, request.max_trials, request.timeout)
    n_jobs, jobs_warning = worker_count(request.n_jobs)
    if n_jobs > 1 and (request.storage or "").lower().startswith("sqlite"):
        raise NnxError(f"--n-jobs {request.n_jobs} needs a storage that several processes can "
                       "write at once, which SQLite is not ('database is locked'): leave out "
                       "--storage (a journal file per study) or use postgresql://...")
    if request.save_model not in SAVE_MODEL:
        raise NnxError(f"--save-model must be one of {', '.join(SAVE_MODEL)}, got "
                       f"{request.save_model!r}")
    if request.export_best is not None:
        check_export_path(request.export_best)
    source = str(request.experiment)
    overrides = list(request.overrides)
    if request.threads:
        overrides.append(f"train.threads={request.threads}")
    raw, config = read_experiment(request.experiment, overrides)
    search = config["search"]
    if not search or not search["space"]:
        raise ConfigError("search.space", "nothing to search: add a search: section with a "
                                          "space, e.g. search: {space: {train.optimizer.lr: "
                                          "{type: float, low: 1.0e-4, high: 0.1, log: true}}}",
                          source=source)
    method = request.method or search["method"]
    METHODS.get(method).check_available()
    pruner = request.pruner or search["pruner"]
    PRUNERS.get(pruner)
    objectives_warning = check_objectives_options(request, raw, search, method, pruner)
    space, grid_points = checked_space(raw, search, method, source)
    check_base(config, source)
    name = check_study_name(config["name"] if request.study is None else request.study)
    if request.warm_start is not None:
        if method == "grid":
            raise NnxError("--warm-start does not apply to --method grid: a grid runs every "
                           "point anyway")
        if request.warm_start == name:
            raise NnxError(f"--warm-start {name!r} names the study being run; give an "
                           "earlier study")
    n_trials = request.n_trials
    if n_trials is None and request.max_trials is None:
        n_trials = search["n_trials"]
    threads = config["train"]["threads"]
    threads_warning = threads and thread_count(
        threads, "--threads" if request.threads else "train.threads")[1]
    warnings = tuple(warning for warning in (jobs_warning, threads_warning, objectives_warning)
                     if warning)
    return Plan(request, raw, config, space, grid_points, method, pruner, name, n_trials,
                n_jobs, warnings, started_at)


def check_objectives_options(request, raw, search, method, pruner):
    """Refuse what several objectives rule out (a pruner, a single-objective method) and a
    `--pick` that is not `knee` or an objective; returns the one line saying that trials run
    without pruning, or None."""
    objectives = search["objectives"]
    allowed = pick_names(objectives)
    if request.pick is not None and request.pick not in allowed:
        hint = closest(request.pick, allowed)
        raise NnxError(f"--pick {request.pick}: not an objective of this search; pick one of "
                       f"{', '.join(allowed)}" + (f" (did you mean {hint!r}?)" if hint else ""))
    if len(objectives) == 1:
        return None
    if pruner != "none":
        raise NnxError(f"--pruner {pruner}: pruning needs a single objective, but "
                       "search.objectives names several; leave out --pruner")
    if not METHODS.get(method).multi_objective:
        raise NnxError(f"--method {method} optimizes a single objective; with several "
                       f"objectives use one of {', '.join(multi_objective_methods())}")
    if request.pruner is None and "pruner" not in (raw.get("search") or {}):
        return ("several objectives: trials run without pruning (Optuna prunes "
                "single-objective studies only)")
    return None


def check_base(config, source):
    """The experiment as the file gives it must load its data and build, as `nnx validate`
    checks it: a model too big for the machine, or data that do not fit it, would otherwise
    fail trial after trial as invalid. Once, in the invoking process: the workers get the
    checked plan."""
    prepare(config, source=source)

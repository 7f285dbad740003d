"""`run_search`: check the request, open or resume the study, run trials until a budget
stops it, keep the study JSON current. What `nnx search` calls, and what a worker process
of a parallel search will call (one `worker` index each).

Nothing here prints: a `SearchListener` receives what happened and the CLI shows it.
Every check of the request happens before the storage is touched, so bad input leaves an
existing study as it was.
"""

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from nnx.config import ConfigError, read_experiment
from nnx.errors import NnxError
from nnx.search import pruners, samplers
from nnx.search import storage as storage_module
from nnx.search.space import parse_space
from nnx.search.study import Budget, StudyPlan, check_budget, fingerprint_document, open_study
from nnx.search.study_json import build_document, export_best, trial_row, write_document
from nnx.search.trial import TrialContext, run_trial

SAVE_MODEL = ("best", "all", "none")
MAX_CONSECUTIVE_FAILURES = 5
WARM_START_TRIALS = 5


@dataclass
class SearchRequest:
    """The `nnx search` options (None: the experiment's `search:` value or no limit)."""

    experiment: str
    overrides: list = field(default_factory=list)
    results_dir: object = "results"
    method: str | None = None
    n_trials: int | None = None
    max_trials: int | None = None
    timeout: float | None = None
    storage: str | None = None
    study: str | None = None
    pruner: str | None = None
    save_model: str = "best"
    export_best: str | None = None
    warm_start: str | None = None
    threads: int | None = None
    worker: int = 0


@dataclass
class SearchInfo:
    """What the listener learns when the study is open, before the first trial."""

    study: str
    storage: str
    resumed: bool
    method: str
    pruner: str
    metric: str
    direction: str
    n_params: int
    trials_before: int
    finished_before: int
    budget: Budget
    grid_size: int | None = None
    grid_left: int | None = None
    warm_started: int = 0


@dataclass
class SearchSummary:
    info: SearchInfo
    outcomes: list
    stop_reason: str
    document: dict
    document_path: Path
    nothing_to_do: bool = False
    interrupted: bool = False
    exported: Path | None = None

    @property
    def all_failed(self):
        return bool(self.outcomes) and all(o.state == "failed" for o in self.outcomes)


class SearchListener:
    """Receives the search's progress; the base ignores it."""

    def opened(self, info):
        pass

    def trial_reporter(self, number, params):
        """A `nnx.progress.Reporter` for the trial's epochs, or None."""
        return None

    def trial_finished(self, outcome, best):
        pass

    def note(self, text):
        pass


@dataclass
class _Plan:
    request: SearchRequest
    raw: dict
    config: dict
    space: object
    method: str
    pruner: str
    study: StudyPlan
    budget: Budget
    grid_points: list | None


def plan_search(request):
    """Check everything the request names without writing anything; NnxError when bad."""
    check_budget(request.n_trials, request.max_trials, request.timeout)
    if request.save_model not in SAVE_MODEL:
        raise NnxError(f"--save-model must be one of {', '.join(SAVE_MODEL)}, got "
                       f"{request.save_model!r}")
    overrides = list(request.overrides)
    if request.threads:
        overrides.append(f"train.threads={request.threads}")
    raw, config = read_experiment(request.experiment, overrides)
    search = config["search"]
    if not search or not search["space"]:
        raise ConfigError("search.space", "nothing to search: add a search: section with a "
                                          "space, e.g. search: {space: {train.optimizer.lr: "
                                          "{type: float, low: 1.0e-4, high: 0.1, log: true}}}",
                          source=str(request.experiment))
    method = request.method or search["method"]
    samplers.get(method).check_available()
    pruner = request.pruner or search["pruner"]
    pruners.get(pruner)
    try:
        space = parse_space(search["space"])
        space.check_paths(raw)
        grid_points = space.grid_points() if method == "grid" else None
    except ConfigError as err:
        err.source = err.source or str(request.experiment)
        raise
    name = storage_module.check_study_name(request.study or config["name"])
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
    study = StudyPlan(name=name, metric=search["metric"], direction=search["direction"],
                      method=method,
                      document=fingerprint_document(config, search["space"], search["metric"],
                                                    search["direction"]),
                      experiment=str(request.experiment), overrides=list(request.overrides))
    return _Plan(request, raw, config, space, method, pruner, study,
                 Budget(n_trials, request.max_trials, request.timeout), grid_points)


def quiet_optuna():
    """Optuna's own log lines and experimental-feature warnings would mix with ours."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def run_search(request, listener=None):
    """Run (or resume) the study `request` describes; returns a SearchSummary."""
    listener = listener or SearchListener()
    plan = plan_search(request)
    quiet_optuna()
    source = None
    if request.warm_start is not None:
        source = storage_module.find_study(request.warm_start, request.results_dir,
                                           request.storage)
    store = storage_module.open_storage(request.storage, request.results_dir, plan.study.name)
    study, resumed = open_study(store, plan.study)
    trials_before = len(study.trials)
    n_points = len(plan.grid_points) if plan.grid_points is not None else 0
    study.sampler = samplers.build_sampler(
        plan.method, seed=samplers.sampler_seed(plan.study.name, trials_before, request.worker),
        space=plan.space, n_points=n_points)
    epochs = plan.config["train"]["epochs"]
    study.pruner = pruners.build_pruner(plan.pruner, epochs)
    warm = 0 if source is None else enqueue_warm_start(study, source, request.warm_start,
                                                       plan.space)
    info = SearchInfo(study=plan.study.name, storage=store.label, resumed=resumed,
                      method=plan.method, pruner=plan.pruner, metric=plan.study.metric,
                      direction=plan.study.direction, n_params=len(plan.space),
                      trials_before=trials_before, finished_before=_finished(study),
                      budget=plan.budget, warm_started=warm)
    if plan.grid_points is not None:
        info.grid_size = n_points
        info.grid_left = len(study.sampler._get_unvisited_grid_ids(study))
    listener.opened(info)
    context = TrialContext(
        study=study, space=plan.space, raw=plan.raw, metric=plan.study.metric, epochs=epochs,
        method=plan.method, results_dir=request.results_dir, experiment=str(request.experiment),
        overrides=list(request.overrides), threads=request.threads,
        save_model=request.save_model, grid_points=plan.grid_points, worker=request.worker,
        reporter=listener.trial_reporter)
    outcomes, interrupted = [], False
    document = refresh_document(study, store, request.results_dir)
    started = time.monotonic()
    while True:
        reason = _stop_reason(plan, study, outcomes, time.monotonic() - started)
        if reason is not None:
            break
        try:
            outcome = run_trial(context)
        except KeyboardInterrupt:
            interrupted, reason = True, "interrupted"
            break
        outcomes.append(outcome)
        document = refresh_document(study, store, request.results_dir)
        if request.save_model == "best":
            keep_only_best_model(document, request.results_dir)
        listener.trial_finished(outcome, document["best"])
        if outcome.interrupted:
            interrupted, reason = True, "interrupted"
            break
    summary = SearchSummary(info, outcomes, reason, document,
                            storage_module.studies_dir(request.results_dir)
                            / f"{plan.study.name}.json",
                            nothing_to_do=not outcomes and not interrupted,
                            interrupted=interrupted)
    if request.export_best:
        if document["best"] is None:
            listener.note("no trial has completed yet: nothing to export")
        else:
            export_best(request.export_best, plan.raw, plan.space, document)
            summary.exported = Path(request.export_best)
    return summary


def _stop_reason(plan, study, outcomes, elapsed):
    reason = plan.budget.stop_reason(started=len(outcomes), finished_in_study=_finished(study),
                                     elapsed=elapsed)
    if reason is None and plan.grid_points is not None and _grid_exhausted(study):
        reason = f"grid exhausted: all {len(plan.grid_points)} points have run"
    tail = outcomes[-MAX_CONSECUTIVE_FAILURES:]
    if reason is None and len(tail) == MAX_CONSECUTIVE_FAILURES and all(
            o.state == "failed" for o in tail):
        reason = f"{MAX_CONSECUTIVE_FAILURES} trials in a row failed"
    return reason


def _finished(study):
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def _grid_exhausted(study):
    from optuna.trial import TrialState

    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    return not waiting and study.sampler.is_exhausted(study)


def refresh_document(study, store, results_dir):
    """Rebuild the study JSON from the storage and write it; returns the document."""
    document = build_document(study, store.label)
    write_document(results_dir, document)
    return document


def keep_only_best_model(document, results_dir):
    """`--save-model best`: delete the model files of trials that are not the best one and
    clear `model_path` in their run records."""
    from nnx.results import read_run, runs_dir, write_run

    best = document["best"]["run_id"] if document["best"] else None
    folder = runs_dir(results_dir)
    for row in document["trials"]:
        run_id = row["run_id"]
        if not run_id or run_id == best or not (folder / f"{run_id}.npz").exists():
            continue
        record_path = folder / f"{run_id}.json"
        try:
            record = read_run(record_path)
        except NnxError:
            continue
        model = record.get("model_path")
        if model and Path(model).exists():
            Path(model).unlink()
        record["model_path"] = None
        write_run(results_dir, record)


def enqueue_warm_start(study, source_storage, source_name, space, limit=WARM_START_TRIALS):
    """Queue the best complete trials of an earlier study (their parameters that lie in this
    space; the sampler fills in the rest); returns how many were queued."""
    import optuna

    source = optuna.load_study(study_name=source_name, storage=source_storage.optuna)
    direction = source.user_attrs.get("nnx_direction", source.direction.name.lower())
    rows = [r for r in map(trial_row, source.get_trials(deepcopy=False))
            if r["state"] == "complete" and isinstance(r["value"], (int, float))
            and math.isfinite(r["value"])]
    rows.sort(key=lambda r: r["value"], reverse=direction == "maximize")
    done = {t.user_attrs.get("nnx_warm_start") for t in study.get_trials(deepcopy=False)}
    queued = 0
    for row in rows[:limit]:
        tag = f"{source_name}#{row['number']}"
        params = space.effective(row["params"] or {})
        if tag in done or not params:
            continue
        study.enqueue_trial(params, user_attrs={"nnx_warm_start": tag}, skip_if_exists=True)
        queued += 1
    return queued

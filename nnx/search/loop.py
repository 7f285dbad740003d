"""`run_search`: check the request, take the `--exclusive` lock, open or resume the study,
fail the trials of workers that are gone, run trials until a budget stops it (in this
process, or in `--n-jobs` worker processes: `nnx.search.workers`), keep the study JSON
current. `trial_loop` is the loop both run.

Nothing here prints: a `SearchListener` receives what happened and the CLI shows it.
Every check of the request happens before the storage is touched, so bad input leaves an
existing study as it was.
"""

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from nnx import stop_signals
from nnx.config import ConfigError, read_experiment
from nnx.config.search_names import METHODS, PRUNERS
from nnx.config.space_check import checked_space
from nnx.errors import NnxError
from nnx.search import liveness, pruners, samplers
from nnx.search import storage as storage_module
from nnx.search.cores import worker_count
from nnx.search.study import Budget, StudyPlan, check_budget, fingerprint_document, open_study
from nnx.search.study_json import (
    build_document,
    check_export_path,
    export_best,
    trial_row,
    write_document,
)
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
    n_jobs: int = 1
    exclusive: bool = False
    started_at: float | None = None  # time.time() the invocation started (for --timeout)


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
    reaped: list = field(default_factory=list)  # liveness.Reaped, found when opening


@dataclass
class SearchSummary:
    info: SearchInfo | None
    outcomes: list
    stop_reason: str
    document: dict | None
    document_path: Path
    nothing_to_do: bool = False
    interrupted: bool = False
    exported: Path | None = None
    held_by: object = None  # lock.Holder: --exclusive found another sweep running
    lock_path: Path | None = None
    worker_failures: list = field(default_factory=list)  # one line per worker that died

    @property
    def all_failed(self):
        if not self.outcomes:
            return bool(self.worker_failures)
        return all(o.state == "failed" for o in self.outcomes)


class SearchListener:
    """Receives the search's progress; the base ignores it."""

    def opened(self, info):
        pass

    def trial_reporter(self, number, params):
        """A `nnx.progress.Reporter` for the trial's epochs, or None."""
        return None

    def trial_finished(self, outcome, best):
        pass

    def reaped(self, reaped):
        """A RUNNING trial whose worker is gone was failed (and queued again)."""

    def workers_started(self, pids, threads):
        """`--n-jobs`: the worker processes (their pids) and the threads each uses."""

    def journal_repaired(self, torn):
        """The study's journal ended in a torn record (`journal.TornTail`), now cut off."""
        self.note(torn.describe())

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
    n_jobs: int  # worker processes to start: --n-jobs capped to the cores
    warnings: list  # one line each, for the listener before the study opens


def plan_search(request):
    """Check everything the request names without writing anything; NnxError when bad."""
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
    METHODS.get(method).check_available()
    pruner = request.pruner or search["pruner"]
    PRUNERS.get(pruner)
    space, grid_points = checked_space(raw, search, method, str(request.experiment))
    check_base(config, str(request.experiment))
    name = storage_module.check_study_name(
        config["name"] if request.study is None else request.study)
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
                 Budget(n_trials, request.max_trials, request.timeout), grid_points, n_jobs,
                 [jobs_warning] if jobs_warning else [])


def check_base(config, source):
    """The experiment as the file gives it must load its data and build, as `nnx validate`
    checks it: a model too big for the machine, or data that do not fit it, would otherwise
    fail trial after trial as invalid. Once, in the invoking process: the workers get the
    checked plan."""
    from nnx.experiment import prepare

    prepare(config, source=source)


def quiet_optuna():
    """Optuna's own log lines and experimental-feature warnings would mix with ours."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


class _Output:
    """The listener while its output lasts. Once its reader is gone (`| head` has ended) it
    is silent, no new trial starts, the running ones finish and are kept, and `run_search`
    ends with BrokenPipeError (the CLI's exit 141), as a closed pipe ends `cat`."""

    def __init__(self, listener):
        self._listener = listener
        self.closed = False

    def __getattr__(self, name):
        hook = getattr(self._listener, name)

        def guarded(*args):
            if self.closed:
                return None
            try:
                return hook(*args)
            except BrokenPipeError:
                self.closed = True
                return None

        return guarded

    def stop_reason(self):
        return "the output was closed" if self.closed else None


def run_search(request, listener=None):
    """Run (or resume) the study `request` describes; returns a SearchSummary."""
    listener = _Output(listener or SearchListener())
    plan = plan_search(request)
    if request.started_at is None:
        request.started_at = time.time()
    quiet_optuna()
    study_lock = None
    if request.exclusive:
        from nnx.search.lock import StudyLock, lock_path

        study_lock = StudyLock(lock_path(request.results_dir, plan.study.name))
        holder = study_lock.acquire()
        if holder is not None:
            return SearchSummary(None, [], "another sweep holds the study", None,
                                 _document_path(request, plan), nothing_to_do=True,
                                 held_by=holder, lock_path=study_lock.path)
    try:
        summary = _run_opened(plan, request, listener)
        if listener.closed:
            raise BrokenPipeError("the output was closed")
        return summary
    finally:
        if study_lock is not None:
            study_lock.release()


def _run_opened(plan, request, listener):
    for warning in plan.warnings:
        listener.note(warning)
    session = open_search(plan, request, on_repair=listener.journal_repaired)
    listener.opened(session.info)
    if plan.n_jobs > 1:
        from nnx.search.workers import run_workers

        result = run_workers(session, listener, listener.stop_reason)
    else:
        result = trial_loop(session, listener, Tickets(plan.budget.n_trials),
                            listener.stop_reason)
    outcomes, reason, interrupted = result.outcomes, result.reason, result.interrupted
    document = refresh_document(session.study, session.store, request.results_dir)
    if request.save_model == "best":
        keep_only_best_model(document, request.results_dir)
    summary = SearchSummary(session.info, outcomes, reason, document,
                            _document_path(request, plan),
                            nothing_to_do=not outcomes and not interrupted
                            and not result.worker_failures,
                            interrupted=interrupted, worker_failures=result.worker_failures)
    if request.export_best:
        if document["best"] is None:
            listener.note("no trial has completed yet: nothing to export")
        else:
            export_best(request.export_best, plan.raw, plan.space, document)
            summary.exported = Path(request.export_best)
    return summary


def _document_path(request, plan):
    return storage_module.studies_dir(request.results_dir) / f"{plan.study.name}.json"


@dataclass
class Session:
    """An open study and what a trial loop needs to run its trials."""

    plan: _Plan
    request: SearchRequest
    store: object
    study: object
    context: TrialContext
    info: SearchInfo


def open_search(plan, request, on_repair=None):
    """Open (or create) the study, fail trials whose worker is gone, build its sampler and
    pruner (seeded for this worker); returns a Session. `on_repair(TornTail)`: the study's
    journal had a torn end, cut off (when opening it or before a later write)."""
    source = None
    if request.warm_start is not None:
        source = storage_module.find_study(request.warm_start, request.results_dir,
                                           request.storage, on_repair=on_repair)
    store = storage_module.open_storage(request.storage, request.results_dir, plan.study.name,
                                        on_repair=on_repair)
    n_points = len(plan.grid_points) if plan.grid_points is not None else None
    study, resumed = open_study(store, plan.study, grid_size=n_points)
    identity = liveness.Identity.current()
    reaped = liveness.reap(study, identity)
    trials_before = len(study.trials)
    study.sampler = samplers.build_sampler(
        plan.method, seed=samplers.sampler_seed(plan.study.name, trials_before, request.worker),
        space=plan.space, n_points=n_points or 0)
    epochs = plan.config["train"]["epochs"]
    study.pruner = pruners.build_pruner(plan.pruner, epochs)
    warm = 0 if source is None else enqueue_warm_start(study, source, request.warm_start,
                                                       plan.space)
    info = SearchInfo(study=plan.study.name, storage=store.label, resumed=resumed,
                      method=plan.method, pruner=plan.pruner, metric=plan.study.metric,
                      direction=plan.study.direction, n_params=len(plan.space),
                      trials_before=trials_before, finished_before=_finished(study),
                      budget=plan.budget, warm_started=warm, reaped=reaped)
    if plan.grid_points is not None:
        info.grid_size = n_points
        info.grid_left = _waiting(study)
    context = TrialContext(
        study=study, space=plan.space, raw=plan.raw, metric=plan.study.metric, epochs=epochs,
        method=plan.method, results_dir=request.results_dir, experiment=str(request.experiment),
        overrides=list(request.overrides), threads=request.threads,
        save_model=request.save_model, grid_points=plan.grid_points, worker=request.worker,
        identity=identity, reseed=None if plan.grid_points is not None else _reseeder(plan))
    return Session(plan, request, store, study, context, info)


def _reseeder(plan):
    """number -> a sampler seeded from (study, trial number): trial numbers are unique
    across every worker and machine of a study, so concurrent workers never replay each
    other's proposals, while a study run again from scratch proposes the same again."""
    def reseed(number):
        return samplers.build_sampler(plan.method,
                                      seed=samplers.sampler_seed(plan.study.name, number),
                                      space=plan.space)

    return reseed


class Tickets:
    """How many more trials this invocation may start (`--n-trials`; None: no limit).
    `shared` is a multiprocessing Value that the workers of one invocation share."""

    def __init__(self, limit, shared=None):
        self.limit, self.shared, self.local = limit, shared, 0

    def taken(self):
        return self.local if self.shared is None else self.shared.value

    def take(self):
        if self.limit is None:
            return True
        if self.shared is None:
            if self.local >= self.limit:
                return False
            self.local += 1
            return True
        with self.shared.get_lock():
            if self.shared.value >= self.limit:
                return False
            self.shared.value += 1
            return True


@dataclass
class LoopResult:
    outcomes: list
    reason: str | None
    interrupted: bool = False
    worker_failures: list = field(default_factory=list)


def trial_loop(session, listener, tickets, should_stop=None):
    """Run trials until a budget, the grid, repeated failures or `should_stop()` (a reason
    or None) stops it; before each trial, fail the trials of workers that are gone."""
    plan, request, study, context = session.plan, session.request, session.study, \
        session.context
    context.reporter = listener.trial_reporter
    outcomes, interrupted, reason = [], False, None
    signals_before = stop_signals.count()
    while True:
        if stop_signals.count() > signals_before:  # came while a trial's record was written
            interrupted, reason = True, "interrupted"
            break
        try:
            for reaped in liveness.reap(study, context.identity):
                listener.reaped(reaped)
            reason = stop_reason(plan, study, outcomes, time.time() - request.started_at,
                                  tickets)
            if reason is None and should_stop is not None:
                reason = should_stop()
            if reason is None and not tickets.take():
                reason = _n_trials_reason(plan.budget.n_trials)
            if reason is not None:
                break
            outcome = run_trial(context)
        except KeyboardInterrupt:
            interrupted, reason = True, "interrupted"
            break
        if outcome is None:
            reason = _grid_exhausted_reason(plan)
            break
        outcomes.append(outcome)
        document = refresh_document(study, session.store, request.results_dir)
        if request.save_model == "best":
            keep_only_best_model(document, request.results_dir)
        listener.trial_finished(outcome, document["best"])
        if outcome.interrupted:
            interrupted, reason = True, "interrupted"
            break
    return LoopResult(outcomes, reason, interrupted)


def stop_reason(plan, study, outcomes, elapsed, tickets):
    counts = _counts(study)
    reason = plan.budget.stop_reason(started=tickets.taken(), finished_in_study=counts["finished"],
                                     running_in_study=counts["running"], elapsed=elapsed)
    if reason is None and plan.grid_points is not None and not counts["waiting"]:
        reason = _grid_exhausted_reason(plan)
    tail = outcomes[-MAX_CONSECUTIVE_FAILURES:]
    if reason is None and len(tail) == MAX_CONSECUTIVE_FAILURES and all(
            o.state == "failed" for o in tail):
        reason = f"{MAX_CONSECUTIVE_FAILURES} trials in a row failed"
    return reason


def _n_trials_reason(n):
    return f"{n} trial{'s' if n != 1 else ''} run (--n-trials {n})"


def _grid_exhausted_reason(plan):
    return (f"grid exhausted: all {len(plan.grid_points)} points have run (or are running "
            f"in another worker)")


def _counts(study):
    from optuna.trial import TrialState

    counts = {"finished": 0, "running": 0, "waiting": 0}
    for trial in study.get_trials(deepcopy=False):
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            counts["finished"] += 1
        elif trial.state == TrialState.RUNNING:
            counts["running"] += 1
        elif trial.state == TrialState.WAITING:
            counts["waiting"] += 1
    return counts


def _waiting(study):
    return _counts(study)["waiting"]


def _finished(study):
    return _counts(study)["finished"]


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
        if row["state"] in ("running", "waiting"):
            continue  # not told yet: it may become the best (another worker's trial)
        if not run_id or run_id == best or not (folder / f"{run_id}.npz").exists():
            continue
        record_path = folder / f"{run_id}.json"
        try:
            record = read_run(record_path)
        except NnxError:
            continue
        model = record.get("model_path")
        if model:
            Path(model).unlink(missing_ok=True)  # another worker may have removed it first
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

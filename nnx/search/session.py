"""One process's side of a search: `open_search` opens (or creates) the study of a Plan,
fails the trials of workers that are gone and builds the sampler and pruner; `trial_loop`
runs trials until a budget, the grid, repeated failures or its caller stops it. The single
process of a search runs it, and so does every `--n-jobs` worker.
"""

import time
from dataclasses import dataclass

from optuna.trial import TrialState

from nnx import stop_signals
from nnx.search import liveness, pruners, samplers
from nnx.search import storage as storage_module
from nnx.search.study import open_study
from nnx.search.study_json import keep_only_best_model, refresh_document
from nnx.search.summary import SearchInfo, Summary
from nnx.search.trial import run_trial
from nnx.search.warm_start import enqueue_warm_start

MAX_CONSECUTIVE_FAILURES = 5


@dataclass
class Session:
    """A study opened by one process: what its trials run against."""

    info: SearchInfo  # the plan, and what opening the study found
    study: object  # the optuna Study, with this process's sampler and pruner
    worker: int  # this process's index among the --n-jobs workers (0 without them)
    identity: liveness.Identity  # this process, as its trials record it

    @property
    def plan(self):
        return self.info.plan


def open_search(plan, worker=0, on_repair=None):
    """Open (or create) the study of `plan`, fail the trials whose worker is gone, build its
    sampler (seeded for this worker) and pruner, queue a warm start; returns a Session.
    `on_repair(TornTail)`: the study's journal had a torn end, cut off (when opening it or
    before a later write)."""
    request = plan.request
    source = None
    if request.warm_start is not None:
        source = storage_module.find_study(request.warm_start, request.results_dir,
                                           request.storage, on_repair=on_repair)
    store = storage_module.open_storage(request.storage, request.results_dir, plan.name,
                                        on_repair=on_repair)
    n_points = len(plan.grid_points) if plan.grid_points is not None else None
    study, resumed = open_study(store, plan.study_plan(), grid_size=n_points)
    identity = liveness.Identity.current()
    reaped = liveness.reap(study, identity)
    trials_before = len(study.trials)
    study.sampler = samplers.build_sampler(
        plan.method, seed=samplers.sampler_seed(plan.name, trials_before, worker),
        space=plan.space, n_points=n_points or 0)
    study.pruner = pruners.build_pruner(plan.pruner, plan.max_steps)
    warm = 0 if source is None else enqueue_warm_start(study, source, request.warm_start,
                                                       plan.space)
    counts = _counts(study)
    info = SearchInfo(plan, store.label, resumed, trials_before, counts["finished"],
                      grid_left=None if n_points is None else counts["waiting"],
                      warm_started=warm, reaped=tuple(reaped))
    return Session(info, study, worker, identity)


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


def trial_loop(session, listener, tickets, should_stop=None):
    """Run trials until a budget, the grid, repeated failures or `should_stop()` (a reason
    or None) stops it; before each trial, fail the trials of workers that are gone.
    Returns a Summary of the trials this loop ran."""
    plan, study = session.plan, session.study
    results_dir = plan.request.results_dir
    outcomes, interrupted, reason = [], False, None
    signals_before = stop_signals.count()
    while True:
        if stop_signals.count() > signals_before:  # came while a trial's record was written
            interrupted, reason = True, "interrupted"
            break
        try:
            for reaped in liveness.reap(study, session.identity):
                listener.reaped(reaped)
            reason = stop_reason(session, outcomes, tickets)
            if reason is None and should_stop is not None:
                reason = should_stop()
            if reason is None and not tickets.take():
                reason = _n_trials_reason(plan.n_trials)
            if reason is not None:
                break
            outcome = run_trial(session, listener.trial_reporter)
        except KeyboardInterrupt:
            interrupted, reason = True, "interrupted"
            break
        if outcome is None:
            reason = _grid_exhausted_reason(plan)
            break
        outcomes.append(outcome)
        document = refresh_document(study, session.info.storage, results_dir)
        if plan.request.save_model == "best":
            keep_only_best_model(document, results_dir)
        listener.trial_finished(outcome, document["best"])
        if outcome.interrupted:
            interrupted, reason = True, "interrupted"
            break
    return Summary(outcomes, reason, interrupted)


def stop_reason(session, outcomes, tickets):
    """Why no further trial may start now (one line), or None: a budget is used up (trials
    running elsewhere count toward --max-trials), the grid has no point left, or the last
    MAX_CONSECUTIVE_FAILURES trials of `outcomes` failed."""
    plan = session.plan
    counts = _counts(session.study)
    reason = plan.budget.stop_reason(started=tickets.taken(), finished_in_study=counts["finished"],
                                     running_in_study=counts["running"],
                                     elapsed=time.time() - plan.started_at)
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
    counts = {"finished": 0, "running": 0, "waiting": 0}
    for trial in study.get_trials(deepcopy=False):
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            counts["finished"] += 1
        elif trial.state == TrialState.RUNNING:
            counts["running"] += 1
        elif trial.state == TrialState.WAITING:
            counts["waiting"] += 1
    return counts

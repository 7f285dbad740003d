"""`run_search`: what `nnx search` calls. Plan the request (every check; nothing written),
take the `--exclusive` lock, open or resume the study, run trials until a budget stops
them (in this process, or in `--n-jobs` worker processes: `nnx.search.workers`), then
bring the study JSON up to date, keep only the best model and export the best trial.

Nothing here prints: a `SearchListener` receives what happened and the CLI shows it.
"""

from pathlib import Path

from nnx.results.studies import studies_dir
from nnx.search.lock import StudyLock, lock_path
from nnx.search.plan import plan_search
from nnx.search.session import Tickets, open_search, trial_loop
from nnx.search.storage import quiet_optuna
from nnx.search.study_json import (
    export_best,
    keep_only_best_model,
    picked_trial,
    refresh_document,
)
from nnx.search.summary import SearchListener, Summary
from nnx.search.workers import run_workers


def run_search(request, listener=None):
    """Run (or resume) the study `request` (a SearchRequest) describes; returns a Summary.
    NnxError for bad input, before anything is written."""
    plan = plan_search(request)
    output = _Output(listener or SearchListener())
    quiet_optuna()
    document_path = studies_dir(request.results_dir) / f"{plan.name}.json"
    study_lock = None
    if request.exclusive:
        study_lock = StudyLock(lock_path(request.results_dir, plan.name))
        holder = study_lock.acquire()
        if holder is not None:
            return Summary([], "another sweep holds the study", document_path=document_path,
                           held_by=holder, lock_path=study_lock.path)
    try:
        summary = _run_opened(plan, output)
        summary.document_path = document_path
        if output.closed:
            raise BrokenPipeError("the output was closed")
        return summary
    finally:
        if study_lock is not None:
            study_lock.release()


def _run_opened(plan, listener):
    request = plan.request
    session = open_search(plan, on_repair=listener.journal_repaired)
    for warning in plan.warnings:  # once the study is open: a refusal stays one line
        listener.note(warning)
    listener.opened(session.info)
    if plan.n_jobs > 1:
        summary = run_workers(session, listener, listener.stop_reason)
    else:
        summary = trial_loop(session, listener, Tickets(plan.n_trials), listener.stop_reason)
    summary.info = session.info
    summary.document = refresh_document(session.study, session.info.storage,
                                        request.results_dir)
    if request.save_model == "best":
        keep_only_best_model(summary.document, request.results_dir)
    summary.picked = picked_trial(summary.document, request.pick)
    if request.export_best:
        if summary.picked is None:
            listener.note("no trial has completed yet: nothing to export")
        else:
            export_best(request.export_best, plan.raw, plan.space, summary.document,
                        summary.picked)
            summary.exported = Path(request.export_best)
    return summary


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

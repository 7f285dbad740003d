"""What a search tells whoever shows it: the `SearchListener` hooks called while it runs,
the `SearchInfo` they get when the study is open, and the `Summary` at the end. Nothing
in the search prints; the CLI's listener (`nnx.cli.search_display`) does.
"""

from dataclasses import dataclass, field
from pathlib import Path


class SearchListener:
    """Receives the search's progress; the base ignores it."""

    def opened(self, info):
        """The study is open (a SearchInfo), before the first trial."""

    def trial_reporter(self, number, params):
        """A `nnx.progress.Reporter` for the trial's epochs, or None."""
        return None

    def trial_finished(self, outcome, best):
        """A trial ended (`nnx.search.trial.TrialOutcome`); `best`: the study's best row."""

    def reaped(self, reaped):
        """A RUNNING trial whose worker is gone was failed (and queued again)."""

    def workers_started(self, pids, threads):
        """`--n-jobs`: the worker processes (their pids) and the threads each uses."""

    def journal_repaired(self, torn):
        """The study's journal ended in a torn record (`journal.TornTail`), now cut off."""
        self.note(torn.describe())

    def note(self, text):
        """One line worth showing (a warning, a worker that died)."""


@dataclass(frozen=True)
class SearchInfo:
    """The plan of an opened study and what opening it found."""

    plan: object  # nnx.search.plan.Plan
    storage: str  # the storage's label: the journal file, or the URL without its password
    resumed: bool
    trials_before: int
    finished_before: int
    grid_left: int | None = None  # grid points not yet run (None: not a grid)
    warm_started: int = 0  # trials queued from an earlier study
    reaped: tuple = ()  # liveness.Reaped: trials of gone workers failed when opening

    # The plan's values, under the names a listener reads.
    study = property(lambda self: self.plan.name)
    method = property(lambda self: self.plan.method)
    pruner = property(lambda self: self.plan.pruner)
    metric = property(lambda self: self.plan.metric)
    direction = property(lambda self: self.plan.direction)
    objectives = property(lambda self: self.plan.objectives)
    budget = property(lambda self: self.plan.budget)
    n_params = property(lambda self: len(self.plan.space))

    @property
    def grid_size(self):
        return None if self.plan.grid_points is None else len(self.plan.grid_points)


@dataclass
class Summary:
    """How a search ended. A trial loop (one process's, or the workers' together) fills the
    first four fields; `run_search` adds the study it worked on and what it wrote."""

    outcomes: list  # nnx.search.trial.TrialOutcome, in the order the trials ended
    stop_reason: str | None
    interrupted: bool = False
    worker_failures: list = field(default_factory=list)  # one line per worker that died
    info: SearchInfo | None = None
    document: dict | None = None  # the study JSON as written at the end
    document_path: Path | None = None
    picked: dict | None = None  # the trial shown and exported as best (`--pick`)
    exported: Path | None = None  # --export-best: the file written
    held_by: object = None  # lock.Holder: --exclusive found another sweep running
    lock_path: Path | None = None

    @property
    def nothing_to_do(self):
        return not self.outcomes and not self.interrupted and not self.worker_failures

    @property
    def all_failed(self):
        if not self.outcomes:
            return bool(self.worker_failures)
        return all(o.state == "failed" for o in self.outcomes)

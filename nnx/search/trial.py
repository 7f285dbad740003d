"""One trial: parameters from the sampler -> the experiment with them set ->
`run_experiment` (the path of `nnx train`) with a pruning callback -> the outcome told to
Optuna, with nnx's own record of it in the trial's user attributes.

States. nnx keeps its own state in the user attribute `nnx_state` and tells Optuna:
- complete -> COMPLETE with the value (`search.metric` of the run's final model), or with
  one value per objective (a validation metric of the final model, or a cost the run
  measured: `nnx.costs`);
- pruned   -> PRUNED (Optuna's meaning);
- diverged -> PRUNED, not FAIL: TPE ignores FAIL trials but learns from PRUNED ones,
  ranking them below every complete trial (by their last finite report, or last of all
  without one), so a region where training blows up is avoided instead of re-proposed;
  the median pruner looks only at complete trials, so a diverged curve does not move it;
- failed   -> FAIL (a crash, an invalid combination, an interrupt); a crashed or
  interrupted trial is queued once more with the same parameters (`liveness.requeue`).
Other user attributes: params (the effective {path: value}), run_id, value, error, seed,
epochs, duration_s, host, pid, process, heartbeat, worker, threads, command (the
reproducing `nnx train`); with several objectives also values ({objective: value}) and
curve (the first objective per epoch: Optuna takes per-epoch reports from single-objective
trials only); `nnx.search.liveness` reads host/pid/process/heartbeat to find trials whose
worker is gone. The per-epoch curve is otherwise Optuna's own intermediate values.

A trial is a queued (WAITING) one when there is one, else a new one from `study.ask()`.
Retries come first (`take_queued`): Optuna hands out the oldest queued trial, which put a
retry behind a grid's remaining points, where a budget ran out before reaching it. Optuna
changes WAITING to RUNNING atomically, so two workers never get the same trial. A grid runs
only queued trials: its points are all queued when the study is created, and an empty queue
means the grid is exhausted.
"""

import math
import time
from dataclasses import dataclass

from nnx import stop_signals
from nnx.callbacks import Callback
from nnx.config import ConfigError
from nnx.costs import COSTS
from nnx.format import fmt_metric
from nnx.search import liveness
from nnx.search.samplers import GRID_PARAM, build_sampler, sampler_seed
from nnx.search.study_json import reproduce_command
from nnx.search.suggest import sample


class PruningCallback(Callback):
    """Reports `monitor` to the trial after every epoch (epochs count from 1) and stops
    training as 'pruned' when the pruner says so (never after the last epoch: nothing is
    saved by stopping then).

    With cross-validation the folds train one after another (a `fit` each), and epoch e of
    fold k (both from 0) is reported at step k * stride + e + 1: fold-major, `stride` the
    most epochs a trial of the study can train, so steps only grow and a step means the
    same fold and epoch in every trial (the folds depend on the seed only). The median
    pruner compares like with like; Hyperband's resource is the epochs trained in all.
    """

    def __init__(self, trial, monitor, epochs, folds=1, stride=None):
        self.trial, self.monitor, self.epochs = trial, monitor, epochs
        self.folds, self.stride = folds, stride or epochs
        self.fold = -1

    def on_train_begin(self, logs=None):
        self.fold += 1

    def on_epoch_end(self, epoch, logs):
        from optuna.exceptions import UpdateFinishedTrialError

        value = logs.get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        step = self.fold * self.stride + epoch + 1
        try:
            self.trial.report(float(value), step)
        except UpdateFinishedTrialError:  # another worker failed it: HeartbeatCallback stops
            return
        last = self.fold == self.folds - 1 and epoch + 1 == self.epochs
        if not last and self.trial.should_prune():
            self.model.stop_training = True
            self.model.status = "pruned"
            self.model.stop_reason = (f"pruned after epoch {epoch + 1} of {self.epochs}: "
                                      f"{self.monitor} {fmt_metric(value)}")


class HeartbeatCallback(Callback):
    """Writes the trial's `heartbeat` attribute after an epoch (the first one, then at most
    every HEARTBEAT_EVERY_S), with the longest epoch so far. When the storage refuses (another
    worker judged this one gone, failed the trial and queued it again), training stops: the
    trial is no longer this worker's."""

    def __init__(self, trial):
        self.trial = trial
        self.longest = 0.0
        self.written = None  # time.time() of the last write
        self.lost = False

    def on_epoch_begin(self, epoch, logs=None):
        self.began = time.monotonic()

    def on_epoch_end(self, epoch, logs):
        self.longest = max(self.longest, time.monotonic() - self.began)
        now = time.time()
        if self.written is not None and now - self.written < liveness.HEARTBEAT_EVERY_S:
            return
        if not beat(self.trial, self.longest):
            self.lost = True
            self.model.stop_training = True
            self.model.status = "failed"
            self.model.stop_reason = ("another worker marked this trial failed (no heartbeat "
                                      "within the grace period) and queued it again")
        self.written = now


def beat(trial, longest_epoch_s=0.0):
    """Write the trial's heartbeat; False when the trial was finished by someone else."""
    from optuna.exceptions import UpdateFinishedTrialError

    try:
        trial.set_user_attr("heartbeat", {"at": round(time.time(), 3),
                                          "longest_epoch_s": round(longest_epoch_s, 3)})
    except UpdateFinishedTrialError:
        return False
    return True


@dataclass
class TrialOutcome:
    number: int
    state: str  # complete | pruned | diverged | failed
    params: dict
    value: float | None = None  # the first objective's
    values: dict | None = None  # {objective: value}, every objective's
    run_id: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    epochs: int = 0
    command: str | None = None
    interrupted: bool = False
    worker: int = 0
    lost: bool = False  # another worker failed it (stale heartbeat) and queued it again


def propose(plan, trial):
    """The effective {path: value} of a new trial."""
    points = plan.grid_points
    if points is not None:
        return dict(points[trial.suggest_int(GRID_PARAM, 0, len(points) - 1)])
    return sample(plan.space, trial)


def take_trial(session):
    """A queued trial, else (not for a grid) a new one; None when a grid's queue is empty.

    Except for a grid (which hands out queued points), the sampler is seeded anew from
    (study, trial number) before anything is sampled (samplers sample lazily, at the first
    suggest): trial numbers are unique across every worker and machine of a study, so
    concurrent workers never replay each other's proposals, while a study run again from
    scratch proposes the same again."""
    import optuna

    plan, study = session.plan, session.study
    grid = plan.grid_points is not None
    trial_id = take_queued(study, grid=grid)
    if trial_id is not None:
        trial = optuna.Trial(study, trial_id)
    elif grid:
        return None
    else:
        trial = study.ask()
    if not grid:
        study.sampler = build_sampler(plan.method, seed=sampler_seed(plan.name, trial.number),
                                      space=plan.space)
    return trial


def take_queued(study, grid=False):
    """The id of a queued trial now RUNNING for this worker, or None when none is left.

    Retries of trials that a Ctrl-C, a crash or a lost worker stopped come first (oldest
    first), then the others in the order they were queued. A grid takes only its points.
    Taking is Optuna's `_pop_waiting_trial_id` in another order: `set_trial_state_values`
    (a row lock in an RDB, the append order of a journal) returns False, or raises, when
    another worker took the trial first."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    queued = [t for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
              if not grid or GRID_PARAM in t.system_attrs.get("fixed_params", {})]
    queued.sort(key=lambda t: ("nnx_retry_of" not in t.user_attrs, t.number))
    for trial in queued:
        try:
            if study._storage.set_trial_state_values(trial._trial_id, TrialState.RUNNING):
                return trial._trial_id
        except UpdateFinishedTrialError:
            continue
    return None


def run_trial(session, reporter=None):
    """Take a trial of `session` (nnx.search.session.Session), run it, tell the result;
    returns a TrialOutcome, or None when a grid has no point left to hand out.
    `reporter(number, params)`: a `nnx.progress.Reporter` for the trial's epochs, or None.

    A stop signal cuts only the run itself (parameters, training): one that comes while the
    trial is taken waits until the trial is marked as this process's (a RUNNING trial
    without a pid would wait out the grace period meant for other hosts), and one that
    comes while the outcome is told waits until a failed trial is queued again."""
    from nnx.experiment import run_experiment

    plan = session.plan
    with stop_signals.deferred() as block:
        trial = take_trial(session)
        if trial is None:
            return None
        started = time.perf_counter()
        params, record, retry = {}, None, True
        heartbeat = HeartbeatCallback(trial)
        try:
            claim(session, trial)
            with block.interruptible():
                params = propose(plan, trial)
                trial.set_user_attr("params", params)
                trial.set_user_attr("seed", params.get("seed", plan.raw.get("seed", 0)))
                callbacks = [heartbeat]
                if not plan.multi_objective:
                    callbacks.append(PruningCallback(trial, plan.metric,
                                                     params.get("train.epochs", plan.epochs),
                                                     params.get("data.folds", plan.folds) or 1,
                                                     plan.epoch_stride))
                record = run_experiment(
                    plan.space.apply(plan.raw, params), plan.request.results_dir,
                    callbacks=callbacks,
                    reporter=reporter(trial.number, params) if reporter else None,
                    save_model=plan.request.save_model != "none",
                    source=str(plan.request.experiment))
        except ConfigError as err:  # these values make an invalid experiment: no use retrying
            err.source = None
            outcome = TrialOutcome(trial.number, "failed", params,
                                   error=f"invalid parameters: {err}")
            retry = False
        except KeyboardInterrupt:
            outcome = TrialOutcome(trial.number, "failed", params, error="interrupted",
                                   interrupted=True)
        except Exception as err:  # noqa: BLE001 - a crashed trial is recorded; the study goes on
            outcome = TrialOutcome(trial.number, "failed", params,
                                   error=f"{type(err).__name__}: {err}")
        else:
            outcome = outcome_of(trial.number, params, record, plan)
            if heartbeat.lost:
                outcome.state, outcome.lost = "failed", True
                outcome.error = record.get("stop_reason")
            retry = record["status"] in ("failed", "interrupted") and not heartbeat.lost
        outcome.worker = session.worker
        return _finish(session.study, trial, started, outcome, record, retry,
                       curve_of=plan.metric if plan.multi_objective else None)


def claim(session, trial):
    """Mark `trial` as this process's: who runs it (for `liveness`) and its first heartbeat."""
    for key, value in (*session.identity.attrs().items(), ("worker", session.worker),
                       ("method", session.plan.method)):
        trial.set_user_attr(key, value)
    beat(trial)


def objective_value(record, name):
    """A run's value of objective `name`: a cost it measured, or `val_<metric>` of its final
    model; None when it has none."""
    if name in COSTS:
        return (record.get("costs") or {}).get(name)
    return record["metrics"].get("val", {}).get(name.removeprefix("val_"))


def outcome_of(number, params, record, plan):
    """The trial outcome a run record stands for."""
    status = record["status"]
    raw = {o["metric"]: objective_value(record, o["metric"]) for o in plan.objectives}
    curve = record["history"].get(plan.metric, [])
    outcome = TrialOutcome(number, status, params, run_id=record["run_id"], epochs=len(curve),
                           error=record.get("error"))
    outcome.command = reproduce_command(plan.request.experiment, plan.request.overrides,
                                        params, record["environment"].get("threads"))
    outcome.values = {name: value for name, value in raw.items()
                      if value is not None and math.isfinite(value)}
    outcome.value = outcome.values.get(plan.metric)
    if outcome.value is not None:
        outcome.value = float(outcome.value)
    if status == "interrupted":
        outcome.state, outcome.error, outcome.interrupted = "failed", "interrupted", True
    elif status == "completed":
        outcome.state = "complete"
        missing = [name for name in raw if name not in outcome.values]
        if missing:
            outcome.state = "diverged"
            outcome.error = f"{missing[0]} of the final model is {raw[missing[0]]}"
    elif status not in ("pruned", "diverged", "failed"):
        outcome.state, outcome.error = "failed", f"unexpected run status {status!r}"
    return outcome


def _finish(study, trial, started, outcome, record=None, retry=False, curve_of=None):
    """Record the outcome on the trial and tell Optuna. When the trial was already finished
    by someone else (another worker judged this one gone), the outcome is kept in the run
    record only: that worker has failed the trial and queued its parameters again.
    `curve_of`: a multi-objective trial's first objective, whose per-epoch values are kept
    as its curve (None: a single-objective trial, whose curve Optuna holds)."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    multi_objective = curve_of is not None
    outcome.duration_s = round(time.perf_counter() - started, 3)
    attrs = {"nnx_state": outcome.state, "run_id": outcome.run_id, "value": outcome.value,
             "error": outcome.error, "duration_s": outcome.duration_s,
             "epochs": outcome.epochs, "command": outcome.command}
    if record is not None:
        attrs["threads"] = record["environment"].get("threads")
    if multi_objective:
        attrs["values"] = outcome.values
        if record is not None:
            attrs["curve"] = {str(epoch): value for epoch, value in enumerate(
                record["history"].get(curve_of, []), 1)}
    try:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        if outcome.state == "complete":
            study.tell(trial, list(outcome.values.values()) if multi_objective
                       else outcome.value)
        elif outcome.state in ("pruned", "diverged"):
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, state=TrialState.FAIL)
    except (UpdateFinishedTrialError, ValueError) as err:
        if not isinstance(err, UpdateFinishedTrialError) and "Cannot tell" not in str(err):
            raise
        outcome.state, outcome.lost = "failed", True
        outcome.error = ("another worker marked this trial failed (no heartbeat within the "
                         "grace period) and queued it again; this result is kept in the run "
                         "record only")
        return outcome
    if outcome.state == "failed" and retry:
        liveness.requeue(study, study._storage.get_trial(trial._trial_id),
                         interrupted=outcome.interrupted)
    return outcome

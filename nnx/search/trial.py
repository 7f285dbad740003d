"""One trial: parameters from the sampler -> the experiment with them set ->
`run_experiment` (the path of `nnx train`) with a pruning callback -> the outcome told to
Optuna, with nnx's own record of it in the trial's user attributes.

States. nnx keeps its own state in the user attribute `nnx_state` and tells Optuna:
- complete -> COMPLETE with the value (`search.metric` of the run's final model);
- pruned   -> PRUNED (Optuna's meaning);
- diverged -> PRUNED, not FAIL: TPE ignores FAIL trials but learns from PRUNED ones,
  ranking them below every complete trial (by their last finite report, or last of all
  without one), so a region where training blows up is avoided instead of re-proposed;
  the median pruner looks only at complete trials, so a diverged curve does not move it;
- failed   -> FAIL (a crash, an invalid combination, an interrupt); a crashed or
  interrupted trial is queued once more with the same parameters.
Other user attributes: params (the effective {path: value}), run_id, value, error, seed,
epochs, duration_s, host, pid, worker, threads, command (the reproducing `nnx train`).
The per-epoch curve is Optuna's own intermediate values (reported each epoch).
"""

import math
import os
import socket
import time
from dataclasses import dataclass, field

from nnx.callbacks import Callback
from nnx.config import ConfigError
from nnx.search.samplers import GRID_PARAM


class PruningCallback(Callback):
    """Reports `monitor` to the trial after every epoch (epochs count from 1) and stops
    training as 'pruned' when the pruner says so (never after the last epoch: nothing is
    saved by stopping then)."""

    def __init__(self, trial, monitor, epochs):
        self.trial, self.monitor, self.epochs = trial, monitor, epochs

    def on_epoch_end(self, epoch, logs):
        value = logs.get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        step = epoch + 1
        self.trial.report(float(value), step)
        if step < self.epochs and self.trial.should_prune():
            self.model.stop_training = True
            self.model.status = "pruned"
            self.model.stop_reason = (f"pruned after epoch {step} of {self.epochs}: "
                                      f"{self.monitor} {value:.4g}")


@dataclass
class TrialContext:
    """Everything a worker needs to run trials of one study."""

    study: object
    space: object
    raw: dict  # the experiment file with the invocation's --set overrides applied
    metric: str
    epochs: int
    method: str
    results_dir: object
    experiment: str  # the path as the user gave it (for the reproduce command)
    overrides: list = field(default_factory=list)
    threads: int | None = None
    save_model: str = "best"
    grid_points: list | None = None
    worker: int = 0
    reporter: object = None  # callable(number, params) -> nnx.progress.Reporter or None


@dataclass
class TrialOutcome:
    number: int
    state: str  # complete | pruned | diverged | failed
    params: dict
    value: float | None = None
    run_id: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    epochs: int = 0
    command: str | None = None
    interrupted: bool = False


def propose(ctx, trial):
    """The effective {path: value} of a new trial."""
    if ctx.grid_points is not None:
        return dict(ctx.grid_points[trial.suggest_int(GRID_PARAM, 0, len(ctx.grid_points) - 1)])
    return ctx.space.sample(trial)


def run_trial(ctx):
    """Ask the study for a trial, run it, tell the result; returns a TrialOutcome."""
    from nnx.experiment import run_experiment

    trial = ctx.study.ask()
    started = time.perf_counter()
    params = {}
    try:
        for key, value in (("host", socket.gethostname()), ("pid", os.getpid()),
                           ("worker", ctx.worker), ("method", ctx.method)):
            trial.set_user_attr(key, value)
        params = propose(ctx, trial)
        trial.set_user_attr("params", params)
        trial.set_user_attr("seed", params.get("seed", ctx.raw.get("seed", 0)))
        reporter = ctx.reporter(trial.number, params) if ctx.reporter else None
        pruning = PruningCallback(trial, ctx.metric, params.get("train.epochs", ctx.epochs))
        record = run_experiment(
            ctx.space.apply(ctx.raw, params), ctx.results_dir, callbacks=[pruning],
            reporter=reporter, save_model=ctx.save_model != "none", source=ctx.experiment)
    except ConfigError as err:  # these values make an invalid experiment: no use retrying
        err.source = None
        return _finish(ctx, trial, started, TrialOutcome(
            trial.number, "failed", params, error=f"invalid parameters: {err}"))
    except KeyboardInterrupt:
        return _finish(ctx, trial, started, TrialOutcome(
            trial.number, "failed", params, error="interrupted", interrupted=True), retry=True)
    except Exception as err:  # noqa: BLE001 - a crashed trial is recorded; the study goes on
        return _finish(ctx, trial, started, TrialOutcome(
            trial.number, "failed", params, error=f"{type(err).__name__}: {err}"), retry=True)
    return _finish(ctx, trial, started, outcome_of(trial.number, params, record, ctx), record,
                   retry=record["status"] in ("failed", "interrupted"))


def outcome_of(number, params, record, ctx):
    """The trial outcome a run record stands for."""
    from nnx.search.study_json import reproduce_command

    status = record["status"]
    value = record["metrics"].get("val", {}).get(ctx.metric.removeprefix("val_"))
    curve = record["history"].get(ctx.metric, [])
    outcome = TrialOutcome(number, status, params, run_id=record["run_id"], epochs=len(curve),
                           error=record.get("error"))
    outcome.command = reproduce_command(ctx.experiment, ctx.overrides, params,
                                        record["environment"].get("threads"))
    if value is not None and math.isfinite(value):
        outcome.value = float(value)
    if status == "interrupted":
        outcome.state, outcome.error, outcome.interrupted = "failed", "interrupted", True
    elif status == "completed":
        outcome.state = "complete"
        if outcome.value is None:
            outcome.state = "diverged"
            outcome.error = f"{ctx.metric} of the final model is {value}"
    elif status not in ("pruned", "diverged", "failed"):
        outcome.state, outcome.error = "failed", f"unexpected run status {status!r}"
    return outcome


def _finish(ctx, trial, started, outcome, record=None, retry=False):
    from optuna.trial import TrialState

    outcome.duration_s = round(time.perf_counter() - started, 3)
    attrs = {"nnx_state": outcome.state, "run_id": outcome.run_id, "value": outcome.value,
             "error": outcome.error, "duration_s": outcome.duration_s,
             "epochs": outcome.epochs, "command": outcome.command}
    if record is not None:
        attrs["threads"] = record["environment"].get("threads")
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    if outcome.state == "complete":
        ctx.study.tell(trial, outcome.value)
    elif outcome.state in ("pruned", "diverged"):
        ctx.study.tell(trial, state=TrialState.PRUNED)
    else:
        ctx.study.tell(trial, state=TrialState.FAIL)
        if retry and "nnx_retry_of" not in trial.user_attrs and trial.params:
            ctx.study.enqueue_trial(trial.params, user_attrs={"nnx_retry_of": trial.number})
    return outcome

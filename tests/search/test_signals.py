"""SIGTERM (what kill, cron and systemd send) to a running `nnx search` stops it as Ctrl-C
does: the running trial stops after the current batch, is marked failed and queued again,
finished trials are kept, and the search exits 143."""

import os
import signal
import subprocess
import sys

import pytest
from search_helpers import finish, wait_for

SLOW = ["--set", "train.epochs=300", "--pruner", "none"]  # ~2 s a trial: time to signal


def in_training(ws):
    """How many trials are running and have reported an epoch."""
    return sum(t.state.name == "RUNNING" and bool(t.intermediate_values) for t in ws.trials())


def assert_stopped_and_queued(ws, code, output, n_stopped):
    assert code == 143, output
    assert "Traceback" not in output
    trials = ws.study()["trials"]
    stopped = [t for t in trials if t["state"] == "failed"]
    assert len(stopped) == n_stopped and all(t["error"] == "interrupted" for t in stopped)
    queued = [t for t in trials if t["state"] == "waiting"]
    assert sorted(str(t["params"]) for t in queued) == sorted(str(t["params"]) for t in stopped)
    assert not [t for t in trials if t["state"] == "running"]
    for trial in stopped:
        assert ws.run_record(trial["run_id"])["status"] == "interrupted"


def test_sigterm_stops_a_search_and_queues_its_trial_again(ws):
    run = ws.spawn("search", ws.experiment(), "--method", "random", "--max-trials", 3, *SLOW)
    wait_for(lambda: in_training(ws) == 1, what="a trial in training")
    run.send_signal(signal.SIGTERM)
    code, output = finish(run)
    assert_stopped_and_queued(ws, code, output, 1)


@pytest.mark.parametrize("to_group", [False, True], ids=["parent", "process-group"])
def test_sigterm_stops_every_worker_after_its_batch(ws, to_group):
    """`kill PID` reaches the parent alone, which passes SIGTERM on to its workers; a service
    manager signals the whole group, so that each worker gets it twice."""
    args = ["search", ws.experiment(), "--method", "random", "--n-jobs", "2", "--max-trials",
            "4", *SLOW, "--results-dir", str(ws.results)]
    run = subprocess.Popen([sys.executable, "-m", "nnx.cli", *args], cwd=ws.root, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True)
    wait_for(lambda: in_training(ws) == 2, what="both workers in a trial")
    if to_group:
        os.killpg(run.pid, signal.SIGTERM)
    else:
        run.send_signal(signal.SIGTERM)
    code, output = finish(run)
    assert_stopped_and_queued(ws, code, output, 2)


def test_a_signal_while_a_trial_is_saved_keeps_it_and_stops_the_search(ws, monkeypatch):
    """The signal comes after training (here: at the evaluation): the trial is complete and
    kept as such, and no further trial starts."""
    from nnx.experiment import run as experiment_run

    evaluate = experiment_run.evaluate_splits

    def signal_then_evaluate(*args):
        os.kill(os.getpid(), signal.SIGINT)
        return evaluate(*args)

    monkeypatch.setattr(experiment_run, "evaluate_splits", signal_then_evaluate)
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--n-trials", 3)
    assert result.exit_code == 130, result.output
    (trial,) = ws.study()["trials"]
    assert trial["state"] == "complete" and ws.run_record(trial["run_id"])["metrics"]["val"]


GRID = {"train.optimizer.lr": {"type": "categorical", "choices": [0.003, 0.01, 0.03]}}


def signal_after(monkeypatch, owner, name, when=lambda *args, **kwargs: True):
    """Make `owner.name` send this process a Ctrl-C (SIGINT) right after it returns, the
    first time `when(args, kwargs)` holds."""
    real = getattr(owner, name)
    sent = []

    def call_then_signal(*args, **kwargs):
        value = real(*args, **kwargs)
        if not sent and when(*args, **kwargs):
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)
        return value

    monkeypatch.setattr(owner, name, call_then_signal)


def assert_grid_completes(ws, path):
    result = ws.nnx("search", path, "--method", "grid", "--n-trials", 50)
    assert result.exit_code == 0, result.output
    trials = ws.study()["trials"]
    done = [t["params"]["train.optimizer.lr"] for t in trials if t["state"] == "complete"]
    assert sorted(done) == [0.003, 0.01, 0.03], trials  # every point once
    assert not [t for t in trials if t["state"] in ("running", "waiting")]


def test_a_second_signal_while_a_failed_trial_is_told_still_queues_it_again(ws, monkeypatch):
    """Ctrl-C stops a trial; a second one lands after Optuna was told FAIL and before the
    retry was queued: the retry is queued all the same, and the grid point is not lost."""
    import optuna
    from optuna.trial import TrialState

    import nnx.experiment

    path = ws.experiment(space=GRID)

    def run_experiment(*args, **kwargs):
        raise KeyboardInterrupt  # the first Ctrl-C, as fit ends on a second one

    monkeypatch.setattr(nnx.experiment, "run_experiment", run_experiment)
    signal_after(monkeypatch, optuna.Study, "tell",
                 lambda study, trial, *args, state=None, **kwargs: state == TrialState.FAIL)
    result = ws.nnx("search", path, "--method", "grid", "--n-trials", 3)
    assert result.exit_code == 130, result.output
    monkeypatch.undo()
    failed, *queued = ws.trials()
    assert failed.state.name == "FAIL" and failed.user_attrs["error"] == "interrupted"
    assert [t.user_attrs.get("nnx_retry_of") for t in queued] == [None, None, failed.number]
    assert_grid_completes(ws, path)


def test_a_signal_right_after_a_trial_is_taken_fails_and_queues_it_at_once(ws, monkeypatch):
    """Ctrl-C just after a trial became RUNNING, before it recorded which process runs it:
    the trial is still marked as this process's, failed and queued again, so that the next
    run does not wait out the grace period meant for workers on other hosts."""
    from nnx.search import trial

    path = ws.experiment(space=GRID)
    signal_after(monkeypatch, trial, "take_queued")
    result = ws.nnx("search", path, "--method", "grid", "--n-trials", 3)
    assert result.exit_code == 130, result.output
    monkeypatch.undo()
    (stopped,) = [t for t in ws.trials() if t.state.name != "WAITING"]
    assert stopped.state.name == "FAIL" and stopped.user_attrs["pid"] == os.getpid()
    assert_grid_completes(ws, path)

"""Fault injection: trials stopped by Ctrl-C or by a killed worker run again before any new
point, under `--max-trials` and `--n-trials`; a grid still completes every point exactly
once after the interruption and the resume.

The interruptions are made deterministic: a Ctrl-C arrives inside chosen trials
(`run_experiment` raises KeyboardInterrupt there, as fit does on a second Ctrl-C), and a
killed worker is a RUNNING trial whose pid is gone. One test sends a real Ctrl-C to a
`--n-jobs 2` grid search."""

import os
import signal
import subprocess
import sys

import pytest
from search_helpers import BASE, finish, wait_for

import nnx.experiment
from nnx.search.samplers import GRID_PARAM

GRID = {"train.optimizer.lr": {"type": "categorical", "choices": [0.003, 0.01, 0.03]},
        "model.layers.0.units": {"type": "categorical", "choices": [4, 8]}}
TWO_EPOCHS = {**BASE["train"], "epochs": 2}
FINISHED = ("complete", "pruned", "diverged")


def point(row):
    return tuple(sorted(row["params"].items()))


def interrupt_calls(monkeypatch, *calls):
    """Make the `calls`-th trials (counting from 1, in this process) stop as Ctrl-C stops
    them; returns the list of the parameters each trial was started with."""
    real = nnx.experiment.run_experiment
    started = []

    def run_experiment(config, *args, **kwargs):
        started.append(config)
        if len(started) in calls:
            raise KeyboardInterrupt
        return real(config, *args, **kwargs)

    monkeypatch.setattr(nnx.experiment, "run_experiment", run_experiment)
    return started


def interrupted_grid(ws, monkeypatch):
    """A 6-point grid study whose trials 0-1 completed and whose trial 2 was interrupted
    (by Ctrl-C) and is queued again, behind points 3-5."""
    path = ws.experiment(space=GRID, train=TWO_EPOCHS)
    interrupt_calls(monkeypatch, 3)
    result = ws.nnx("search", path, "--method", "grid", "--n-trials", 10)
    assert result.exit_code == 130, result.output
    monkeypatch.undo()
    trials = ws.study()["trials"]
    assert [t["state"] for t in trials[:3]] == ["complete", "complete", "failed"]
    assert trials[2]["error"] == "interrupted"
    return path, trials[2]


def assert_grid_covered_once(ws):
    trials = ws.study()["trials"]
    done = [point(t) for t in trials if t["state"] in FINISHED]
    assert len(done) == 6 and len(set(done)) == 6, trials  # every point, none twice
    assert not [t for t in trials if t["state"] in ("running", "waiting")]


@pytest.mark.parametrize("budget", [["--max-trials", 3], ["--n-trials", 1]])
def test_an_interrupted_grid_point_runs_before_new_points(ws, monkeypatch, budget):
    path, interrupted = interrupted_grid(ws, monkeypatch)
    result = ws.nnx("search", path, "--method", "grid", *budget)
    assert result.exit_code == 0, result.output
    trials = ws.study()["trials"]
    rerun = [t for t in trials if t["number"] > 2 and t["state"] in FINISHED]
    assert [point(t) for t in rerun] == [point(interrupted)], result.output
    assert rerun[0]["state"] == "complete"
    result = ws.nnx("search", path, "--method", "grid", "--n-trials", 50)
    assert result.exit_code == 0 and "grid exhausted" in result.output, result.output
    assert_grid_covered_once(ws)


def test_a_grid_point_interrupted_twice_still_runs_once(ws, monkeypatch):
    path, interrupted = interrupted_grid(ws, monkeypatch)
    interrupt_calls(monkeypatch, 1)  # its retry is interrupted as well
    result = ws.nnx("search", path, "--method", "grid", "--max-trials", 3)
    assert result.exit_code == 130, result.output
    monkeypatch.undo()
    trials = ws.study()["trials"]
    assert [point(t) for t in trials if t["error"] == "interrupted"] == [point(interrupted)] * 2
    result = ws.nnx("search", path, "--method", "grid", "--n-trials", 50)
    assert result.exit_code == 0, result.output
    assert_grid_covered_once(ws)


def kill_running(ws, count):
    """Take the next `count` queued trials as a worker that is then killed would leave them:
    RUNNING, with this host and a pid that no longer exists."""
    import optuna

    from nnx.config.space import parse_space
    from nnx.search.liveness import Identity
    from nnx.search.storage import journal_path, open_journal

    study = optuna.load_study(study_name="tiny", storage=open_journal(
        journal_path(ws.results, "tiny")).optuna)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    numbers = []
    for _ in range(count):
        trial = optuna.Trial(study, study._pop_waiting_trial_id())
        index = trial.suggest_int(GRID_PARAM, 0, 5)
        trial.set_user_attr("params", parse_space(GRID).grid_points()[index])
        trial.set_user_attr("host", Identity.current().host)
        trial.set_user_attr("pid", child.pid)
        numbers.append(trial.number)
    return numbers


def test_trials_of_a_killed_worker_run_before_new_grid_points(ws):
    path = ws.experiment(space=GRID, train=TWO_EPOCHS)
    assert ws.nnx("search", path, "--method", "grid", "--n-trials", 1).exit_code == 0
    killed = kill_running(ws, 2)
    result = ws.nnx("search", path, "--method", "grid", "--max-trials", 3)
    assert result.exit_code == 0, result.output
    assert result.output.count("worker lost") == 2
    trials = ws.study()["trials"]
    lost = {point(trials[n]) for n in killed}
    assert len(lost) == 2 and all(trials[n]["state"] == "failed" for n in killed)
    rerun = {point(t) for t in trials if t["number"] > max(killed) and t["state"] in FINISHED}
    assert rerun == lost, result.output
    result = ws.nnx("search", path, "--method", "grid", "--n-trials", 50)
    assert result.exit_code == 0, result.output
    assert_grid_covered_once(ws)


@pytest.mark.parametrize("budget", [["--max-trials", 2], ["--n-trials", 1]])
def test_an_interrupted_random_trial_runs_before_queued_warm_starts(ws, monkeypatch, budget):
    path = ws.experiment(train=TWO_EPOCHS)
    assert ws.nnx("search", path, "--method", "random", "--n-trials", 3,
                  "--pruner", "none").exit_code == 0
    # the second study queues the first one's best 3 and is interrupted in its second trial
    interrupt_calls(monkeypatch, 2)
    result = ws.nnx("search", path, "--method", "random", "--study", "second",
                    "--warm-start", "tiny", "--n-trials", 3)
    assert result.exit_code == 130, result.output
    monkeypatch.undo()
    trials = ws.study("second")["trials"]
    assert [t["state"] for t in trials] == ["complete", "failed", "waiting", "waiting"]
    interrupted = trials[1]
    result = ws.nnx("search", path, "--method", "random", "--study", "second", *budget)
    assert result.exit_code == 0, result.output
    trials = ws.study("second")["trials"]
    rerun = [t for t in trials if t["number"] > 1 and t["state"] in FINISHED]
    assert [point(t) for t in rerun] == [point(interrupted)], result.output
    assert trials[2]["state"] == "waiting"  # the warm start still waits its turn


@pytest.mark.slow
def test_ctrl_c_on_a_parallel_grid_then_a_budget_reruns_the_interrupted_points(ws):
    """The reported case: Ctrl-C a `--n-jobs 2` grid during its trials 2-3, then run the same
    command with a budget: the two interrupted points run first, and the grid ends with
    every point complete once."""
    path = ws.experiment(space=GRID)
    slow = ["--set", "train.epochs=300", "--pruner", "none"]  # ~2 s a trial
    args = ["search", path, "--method", "grid", "--n-jobs", "2", "--n-trials", "50", *slow,
            "--results-dir", str(ws.results)]
    run = subprocess.Popen([sys.executable, "-m", "nnx.cli", *args], cwd=ws.root, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True)  # its own group, like a terminal's job

    def two_done_two_running():
        trials = ws.trials()
        done = sum(t.state.name == "COMPLETE" for t in trials)
        busy = sum(t.state.name == "RUNNING" and bool(t.intermediate_values) for t in trials)
        return done == 2 and busy == 2

    wait_for(two_done_two_running, timeout=120, what="trials 0-1 done, 2-3 running")
    os.killpg(run.pid, signal.SIGINT)
    code, output = finish(run)
    assert code == 130, output
    trials = ws.study()["trials"]
    interrupted = {point(t) for t in trials if t["error"] == "interrupted"}
    assert len(interrupted) == 2, output
    result = ws.nnx("search", path, "--method", "grid", "--max-trials", 4, *slow)
    assert result.exit_code == 0, result.output
    trials = ws.study()["trials"]
    done = [point(t) for t in trials if t["state"] in FINISHED]
    assert len(done) == 4 and interrupted <= set(done), result.output
    result = ws.nnx("search", path, "--method", "grid", "--n-jobs", 2, *slow)
    assert result.exit_code == 0, result.output
    assert_grid_covered_once(ws)


def queue(tmp_path, url=None, name="q"):
    """Two handles on one new study (two workers' connections): queued grid points 0-2 and,
    behind them, the retry of an interrupted trial."""
    import optuna

    from nnx.search import liveness
    from nnx.search.storage import journal_path, open_journal, open_url

    def handle():
        store = open_url(url) if url else open_journal(journal_path(tmp_path, name))
        return optuna.load_study(study_name=name, storage=store.optuna)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store = open_url(url) if url else open_journal(journal_path(tmp_path, name))
    study = optuna.create_study(study_name=name, storage=store.optuna)
    for index in range(4):
        study.enqueue_trial({GRID_PARAM: index})
    stopped = study.ask()  # point 0, stopped by Ctrl-C
    stopped.suggest_int(GRID_PARAM, 0, 3)
    study.tell(stopped, state=optuna.trial.TrialState.FAIL)
    assert liveness.requeue(study, study.trials[stopped.number], interrupted=True)
    return handle(), handle()


def take_all(first, second, grid=True):
    from nnx.search.trial import take_queued

    taken = []
    for study in [first, second] * 4:
        trial_id = take_queued(study, grid=grid)
        if trial_id is not None:
            taken.append(next(t for t in study.get_trials(deepcopy=False)
                              if t._trial_id == trial_id))
    return taken


def check_taken_once_retry_first(taken):
    assert [t.number for t in taken] == [4, 1, 2, 3]  # the retry (trial 4) first
    assert taken[0].user_attrs["nnx_retry_of"] == 0
    assert all(t.state.name == "RUNNING" for t in taken)


def test_queued_trials_are_taken_once_each_retries_first(tmp_path):
    check_taken_once_retry_first(take_all(*queue(tmp_path)))


def test_postgres_hands_out_queued_trials_once_each_retries_first(tmp_path, postgres_url,
                                                                   pg_study):
    check_taken_once_retry_first(take_all(*queue(tmp_path, postgres_url, pg_study)))


def test_a_grid_takes_only_its_points(tmp_path):
    first, second = queue(tmp_path)
    first.enqueue_trial({"lr": 0.1}, user_attrs={"nnx_warm_start": "other#0"})
    assert [t.number for t in take_all(first, second)] == [4, 1, 2, 3]
    [warm] = take_all(first, second, grid=False)  # another method takes what is left
    assert warm.system_attrs["fixed_params"] == {"lr": 0.1}


def test_an_interrupted_trial_is_queued_every_time_a_lost_one_once(tmp_path):
    from nnx.search import liveness

    study, _ = queue(tmp_path)
    retry = study.trials[4]
    assert retry.user_attrs == {"nnx_retry_of": 0, "nnx_retry_after": "interrupted"}
    assert liveness.requeue(study, retry)  # lost after an interrupt: its first loss
    lost_retry = study.trials[5]
    assert lost_retry.user_attrs["nnx_retry_after"] == "failed"
    assert not liveness.requeue(study, lost_retry)  # lost twice in a row: not again
    assert liveness.requeue(study, lost_retry, interrupted=True)

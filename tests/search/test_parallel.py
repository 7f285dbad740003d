"""Several workers on one study: `--n-jobs` (spawned processes), a grid shared out without
running a point twice, budgets over all workers, overlapping invocations on one journal,
and a worker killed mid-trial (SIGKILL) whose trial is failed, queued again and re-run."""

import os
import signal
import subprocess
import sys

import pytest
from search_helpers import BASE, finish, wait_for

from nnx.cores import available_cores
from nnx.search.workers import threads_per_worker

GRID = {"train.optimizer.lr": {"type": "categorical", "choices": [0.003, 0.01, 0.03]},
        "model.layers.0.units": {"type": "categorical", "choices": [4, 8]}}
TWO_EPOCHS = {**BASE["train"], "epochs": 2}
SLOW = ["--set", "train.epochs=300", "--pruner", "none"]  # ~2 s a trial: time to kill one


def finished(trials):
    return [t for t in trials if t["state"] in ("complete", "pruned", "diverged")]


def point(trial):
    return tuple(sorted(trial["params"].items()))


def test_a_grid_is_shared_by_two_workers_without_running_a_point_twice(ws):
    path = ws.experiment(space=GRID, train=TWO_EPOCHS)
    result = ws.nnx("search", path, "--method", "grid", "--n-jobs", 2, "--n-trials", 50)
    assert result.exit_code == 0, result.output
    assert "2 workers (pids" in result.output and "grid exhausted" in result.output
    trials = ws.study()["trials"]
    assert len(trials) == 6 and len(finished(trials)) == 6
    assert len({point(t) for t in trials}) == 6  # every point once
    assert {t["number"] for t in trials} == set(range(6))
    threads = threads_per_worker(2)
    for trial in trials:
        record = ws.run_record(trial["run_id"])
        assert record["environment"]["threads"] == threads
    again = ws.nnx("search", path, "--method", "grid", "--n-jobs", 2)
    assert again.exit_code == 0 and "nothing to do: grid exhausted" in again.output
    assert "workers (pids" not in again.output  # no process started for nothing
    assert len(ws.study()["trials"]) == 6


def test_budgets_count_over_all_workers(ws):
    path = ws.experiment(train=TWO_EPOCHS)
    result = ws.nnx("search", path, "--method", "random", "--n-jobs", 2, "--n-trials", 3)
    assert result.exit_code == 0, result.output
    assert len(ws.study()["trials"]) == 3 and "3 trials run (--n-trials 3)" in result.output
    result = ws.nnx("search", path, "--method", "random", "--n-jobs", 2, "--max-trials", 7)
    assert result.exit_code == 0, result.output
    trials = ws.study()["trials"]
    assert 7 <= len(finished(trials)) <= 7 + 2 - 1  # at most K-1 over
    assert len({point(t) for t in trials}) == len(trials)  # no proposal repeated
    assert all(t["state"] != "running" for t in trials)


def test_n_jobs_above_the_cores_is_capped_to_the_cores_with_a_warning(ws, monkeypatch):
    monkeypatch.setattr("nnx.cores.available_cores", lambda: 2)
    path = ws.experiment(train=TWO_EPOCHS)
    result = ws.nnx("search", path, "--method", "random", "--n-jobs", 8, "--n-trials", 2)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith("warning: --n-jobs 8 is more than the 2 cores this process may "
                             "use: running 2 workers"), result.output
    assert "2 workers (pids" in result.output and "1 thread each" in result.output
    assert len(ws.study()["trials"]) == 2


@pytest.mark.skipif(available_cores() < 2, reason="needs 2 cores: with one, train.threads 2 "
                                                   "and cores/K are both 1 thread")
def test_train_threads_of_the_file_is_what_every_worker_runs(ws):
    """`train.threads: 2` under --n-jobs 2 is kept (not replaced by cores/2), in the runs
    and in the reproduce command."""
    path = ws.experiment(train={**TWO_EPOCHS, "threads": 2})
    result = ws.nnx("search", path, "--method", "random", "--n-jobs", 2, "--n-trials", 2)
    assert result.exit_code == 0, result.output
    assert "2 workers (pids" in result.output and "2 threads each" in result.output
    study = ws.study()
    for trial in study["trials"]:
        assert ws.run_record(trial["run_id"])["environment"]["threads"] == 2
    assert study["best"]["command"].endswith("--threads 2")


def test_train_threads_above_the_cores_runs_on_the_cores_with_a_warning(ws, monkeypatch):
    monkeypatch.setattr("nnx.cores.available_cores", lambda: 1)
    path = ws.experiment(train={**TWO_EPOCHS, "threads": 3})
    result = ws.nnx("search", path, "--method", "random", "--n-trials", 1)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].endswith(
        "warning: train.threads 3 is more than the 1 core this process may use: running 1 "
        "thread"), result.output
    (trial,) = ws.study()["trials"]
    assert ws.run_record(trial["run_id"])["environment"]["threads"] == 1


def test_two_overlapping_invocations_share_one_journal(ws):
    path = ws.experiment(train=TWO_EPOCHS)
    runs = [ws.spawn("search", path, "--method", "random", "--n-trials", 4) for _ in range(2)]
    results = [finish(run) for run in runs]
    for code, output in results:
        assert code == 0, output
        assert "locked" not in output.lower() and "Traceback" not in output
    trials = ws.study()["trials"]
    assert sorted(t["number"] for t in trials) == list(range(8))
    assert len(finished(trials)) == 8
    assert len({point(t) for t in trials}) == 8  # two invocations never propose alike
    assert len({t["pid"] for t in trials}) == 2


def test_a_killed_worker_is_failed_queued_and_rerun_by_the_same_command(ws):
    path = ws.experiment()
    command = ["search", path, "--method", "random", "--max-trials", 3, *SLOW]
    run = ws.spawn(*command)
    def finished_and_running():
        trials = ws.trials()  # one snapshot
        done = any(t.state.name == "COMPLETE" for t in trials)
        return done and next((t for t in trials if t.state.name == "RUNNING"
                              and t.intermediate_values), None)

    victim = wait_for(finished_and_running, what="a finished trial and a running one")
    os.kill(victim.user_attrs["pid"], signal.SIGKILL)
    code, output = finish(run)
    assert code == -signal.SIGKILL, output
    before = {t["number"]: t["value"] for t in finished(ws.study()["trials"])}
    assert before and victim.number not in before
    result = ws.nnx(*command)
    assert result.exit_code == 0, result.output
    assert f"trial {victim.number:>3}  failed    worker lost" in result.output
    trials = {t["number"]: t for t in ws.study()["trials"]}
    assert {n: trials[n]["value"] for n in before} == before  # finished trials intact
    killed = trials[victim.number]
    assert killed["state"] == "failed" and "worker lost" in killed["error"]
    rerun = [t for t in trials.values() if t["number"] > victim.number
             and t["params"] == killed["params"]]
    assert len(rerun) == 1 and rerun[0]["state"] == "complete"
    assert not [t for t in trials.values() if t["state"] in ("running", "waiting")]
    assert len(finished(trials.values())) == 3  # budget met; the failed trial not counted


def test_a_worker_killed_under_n_jobs_is_rerun_by_the_other(ws):
    path = ws.experiment()
    run = ws.spawn("search", path, "--method", "random", "--n-jobs", 2, "--max-trials", 3,
                   *SLOW)
    victim = wait_for(lambda: next((t for t in ws.trials() if t.state.name == "RUNNING"
                                    and t.intermediate_values), None),
                      what="a running trial")
    os.kill(victim.user_attrs["pid"], signal.SIGKILL)
    code, output = finish(run)
    assert code == 0, output
    assert f"worker {victim.user_attrs['worker']} (pid {victim.user_attrs['pid']}) was " \
           "killed by SIGKILL" in output
    assert f"trial {victim.number:>3}  failed    worker lost" in output
    trials = ws.study()["trials"]
    killed = trials[victim.number]
    assert killed["state"] == "failed"
    assert [t["params"] for t in trials[victim.number + 1:]].count(killed["params"]) == 1
    assert 3 <= len(finished(trials)) <= 3 + 2 - 1
    assert not [t for t in trials if t["state"] in ("running", "waiting")]


def test_ctrl_c_interrupts_every_worker_and_their_trials_run_again(ws):
    """Ctrl-C on a terminal signals the whole process group: each worker stops its trial
    after the current batch, marks it failed and queues it again; the search exits 130."""
    path = ws.experiment()
    args = ["search", path, "--method", "random", "--n-jobs", "2", "--max-trials", "4",
            *SLOW, "--results-dir", str(ws.results)]
    run = subprocess.Popen([sys.executable, "-m", "nnx.cli", *args], cwd=ws.root, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True)  # its own group, like a terminal's job
    wait_for(lambda: sum(t.state.name == "RUNNING" and bool(t.intermediate_values)
                         for t in ws.trials()) == 2, what="both workers in a trial")
    os.killpg(run.pid, signal.SIGINT)
    code, output = finish(run)
    assert code == 130, output
    trials = ws.study()["trials"]
    interrupted = [t for t in trials if t["state"] == "failed"]
    assert len(interrupted) == 2 and all(t["error"] == "interrupted" for t in interrupted)
    queued = [t for t in trials if t["state"] == "waiting"]
    assert sorted(map(point, queued)) == sorted(map(point, interrupted))
    assert not [t for t in trials if t["state"] == "running"]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_output_into_a_closed_pipe_stops_the_search_quietly_with_141(ws, n_jobs):
    """As `nnx search ... | head -1` once head has gone: the running trials finish and are
    kept, no new one starts, and the search exits 141 without a traceback."""
    args = ["search", ws.experiment(train=TWO_EPOCHS), "--method", "random", "--n-jobs",
            str(n_jobs), "--n-trials", "20", "--results-dir", str(ws.results)]
    run = subprocess.Popen([sys.executable, "-m", "nnx.cli", *args], cwd=ws.root, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while " trial " not in run.stdout.readline():
        pass
    run.stdout.close()  # the reader is gone after the first trial's line
    err = run.stderr.read()
    assert run.wait(timeout=120) == 128 + signal.SIGPIPE, err
    assert "Traceback" not in err and "Exception ignored" not in err and "error" not in err
    trials = ws.study()["trials"]
    assert 2 <= len(trials) <= 2 + 2 * n_jobs  # the trial that met the closed pipe, and
    for trial in trials:                        # those running or started meanwhile
        assert trial["state"] == "complete"
        assert ws.run_record(trial["run_id"])["status"] == "completed"

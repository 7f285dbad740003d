"""Liveness: who runs a trial (host, pid, process start, heartbeat), when its worker counts
as gone, and what reaping does (fail once, queue the parameters once, leave live ones)."""

import os
import subprocess
import sys
import time
from datetime import datetime
from types import SimpleNamespace

import optuna
from optuna.trial import TrialState

import nnx.experiment
from nnx.search import liveness
from nnx.search.storage import journal_path, open_journal

ME = liveness.Identity.current()


def running(host=ME.host, pid=None, process=None, heartbeat=None, started=None):
    attrs = {"host": host, "pid": pid}
    if process is not None:
        attrs["process"] = process
    if heartbeat is not None:
        attrs["heartbeat"] = heartbeat
    return SimpleNamespace(user_attrs=attrs, datetime_start=started or datetime.now())


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_this_host_judges_by_pid_and_process_start():
    assert liveness.why_gone(running(pid=os.getpid(), process={"boot": ME.boot,
                                                                "start": ME.start}), ME) is None
    gone = liveness.why_gone(running(pid=dead_pid()), ME)
    assert gone and "is gone" in gone
    if ME.start is not None:  # Linux: a pid now used by another process is not the worker
        reused = running(pid=os.getpid(), process={"boot": ME.boot, "start": ME.start - 1})
        assert "is gone" in liveness.why_gone(reused, ME)
        rebooted = running(pid=os.getpid(), process={"boot": "another-boot", "start": 1})
        assert "restarted" in liveness.why_gone(rebooted, ME)


def test_other_hosts_are_judged_by_their_heartbeat():
    now = time.time()
    fresh = running(host="elsewhere", pid=1, heartbeat={"at": now - 60, "longest_epoch_s": 1})
    assert liveness.why_gone(fresh, ME, now) is None
    stale = running(host="elsewhere", pid=1, heartbeat={"at": now - 700, "longest_epoch_s": 1})
    assert "no heartbeat from its worker (pid 1 on elsewhere) for 12 min" in \
        liveness.why_gone(stale, ME, now)
    slow_epochs = running(host="elsewhere", pid=1,
                          heartbeat={"at": now - 700, "longest_epoch_s": 400})
    assert liveness.why_gone(slow_epochs, ME, now) is None  # grace: 3 epochs = 20 min
    assert liveness.grace_period(400) == 1200 and liveness.grace_period(0) == 600
    never_beat = running(host=None, started=datetime.fromtimestamp(now - 3600))
    assert "an unrecorded worker" in liveness.why_gone(never_beat, ME, now)


def make_study(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store = open_journal(journal_path(tmp_path, "s"))
    return optuna.create_study(study_name="s", storage=store.optuna), store


def test_reap_fails_dead_trials_once_and_queues_their_parameters_once(tmp_path):
    study, store = make_study(tmp_path)
    distribution = optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)
    trials = {}
    for name, attrs in {
        "dead": {"host": ME.host, "pid": dead_pid()},
        "live": {"host": ME.host, "pid": os.getpid(),
                 "process": {"boot": ME.boot, "start": ME.start}},
        "stale": {"host": "elsewhere", "pid": 7,
                  "heartbeat": {"at": time.time() - 3600, "longest_epoch_s": 2}},
        "fresh": {"host": "elsewhere", "pid": 7,
                  "heartbeat": {"at": time.time(), "longest_epoch_s": 2}},
    }.items():
        trial = study.ask({"lr": distribution})
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        trials[name] = trial.number
    second_reaper = optuna.load_study(study_name="s", storage=open_journal(
        journal_path(tmp_path, "s")).optuna)
    reaped = liveness.reap(study)
    assert sorted(r.number for r in reaped) == sorted([trials["dead"], trials["stale"]])
    assert all(r.requeued for r in reaped)
    assert liveness.reap(second_reaper) == []  # already failed: nothing more to do
    by_number = {t.number: t for t in study.get_trials()}
    for name in ("dead", "stale"):
        trial = by_number[trials[name]]
        assert trial.state == TrialState.FAIL and trial.user_attrs["nnx_state"] == "failed"
        assert trial.user_attrs["error"].startswith("worker lost: ")
    for name in ("live", "fresh"):
        assert by_number[trials[name]].state == TrialState.RUNNING
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert sorted(t.system_attrs["fixed_params"]["lr"] for t in waiting) == sorted(
        by_number[trials[n]].params["lr"] for n in ("dead", "stale"))
    retry = study.ask()  # a retry that dies too is not queued a third time
    retry.set_user_attr("host", ME.host)
    retry.set_user_attr("pid", dead_pid())
    assert "nnx_retry_of" in retry.user_attrs
    [again] = [r for r in liveness.reap(study) if r.number == retry.number]
    assert not again.requeued


def test_every_trial_records_its_worker_and_heartbeat(ws):
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--n-trials", 1)
    assert result.exit_code == 0, result.output
    [trial] = ws.trials()
    attrs = trial.user_attrs
    assert attrs["host"] == ME.host and attrs["pid"] == os.getpid() and attrs["worker"] == 0
    assert attrs["process"] == {"boot": ME.boot, "start": ME.start}
    assert time.time() - attrs["heartbeat"]["at"] < 60
    assert attrs["heartbeat"]["longest_epoch_s"] >= 0  # rewritten at the first epoch end


def test_a_worker_whose_trial_was_reaped_under_it_stops_and_leaves_it(ws, monkeypatch):
    """Another host judged this worker gone (its heartbeat looked stale): the worker's next
    heartbeat is refused, training stops, and its late result does not overwrite the trial
    nor queue it a second time."""
    real = nnx.experiment.run_experiment
    calls = []

    def reaped_meanwhile(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            study = optuna.load_study(study_name="tiny", storage=open_journal(
                journal_path(ws.results, "tiny")).optuna)
            [trial] = study.get_trials(states=(TrialState.RUNNING,))
            assert liveness.fail_and_requeue(study, trial, "worker lost: no heartbeat")
            liveness.requeue(study, trial)
        return real(*args, **kwargs)

    monkeypatch.setattr(nnx.experiment, "run_experiment", reaped_meanwhile)
    path = ws.experiment(train={"loss": "categorical_crossentropy", "epochs": 50,
                                "optimizer": {"type": "adam", "lr": 0.01}, "batch_size": 16,
                                "metrics": ["accuracy"]})
    result = ws.nnx("search", path, "--method", "random", "--n-trials", 2)
    assert result.exit_code == 0, result.output
    trials = ws.study()["trials"]
    assert [t["state"] for t in trials] == ["failed", "complete"]
    assert trials[0]["error"] == "worker lost: no heartbeat"
    assert trials[1]["params"] == trials[0]["params"]
    record = ws.run_record(next(r for r in (ws.results / "runs").glob("*.json")
                                if r.stem != trials[1]["run_id"]).stem)
    assert record["status"] == "failed" and len(record["history"]["loss"]) == 1


def test_heartbeats_are_throttled(monkeypatch):
    writes = []
    trial = SimpleNamespace(set_user_attr=lambda key, value: writes.append(value))
    from nnx.search.trial import HeartbeatCallback

    beat = HeartbeatCallback(trial)
    beat.set_model(SimpleNamespace(stop_training=False))
    for epoch in range(20):
        beat.on_epoch_begin(epoch)
        beat.on_epoch_end(epoch, {})
    assert len(writes) == 1  # fast epochs: the first, then none within HEARTBEAT_EVERY_S
    monkeypatch.setattr(liveness, "HEARTBEAT_EVERY_S", 0.0)
    beat.on_epoch_begin(20)
    beat.on_epoch_end(20, {})
    assert len(writes) == 2

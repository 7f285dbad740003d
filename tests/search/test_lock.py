"""`--exclusive` for cron: a live holder makes a second sweep exit 0 with one line; a dead
holder leaves nothing stuck; a lock file that is not nnx's is refused and left alone."""

import json
import os
import re
import signal
import subprocess
import sys

from search_helpers import wait_for

from nnx.search.lock import StudyLock, lock_path

HOLD = ("import sys, time; from pathlib import Path; from nnx.search.lock import StudyLock; "
        "assert StudyLock(Path(sys.argv[1])).acquire() is None; print('held', flush=True); "
        "time.sleep(120)")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ")


def hold(path):
    """A process that holds the lock until killed."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_live_holder_makes_a_second_sweep_exit_0_with_one_line(ws):
    path = ws.experiment()
    lock = lock_path(ws.results, "tiny")
    holder = hold(lock)
    try:
        result = ws.nnx("search", path, "--method", "random", "--n-trials", 1, "--exclusive")
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and STAMP.match(lines[0]), result.output  # plain, timestamped
    assert f"another sweep holds {lock} (pid {holder.pid} on " in lines[0]
    assert lines[0].endswith(": nothing to do")
    assert ws.journal() is None  # the study was not touched


def test_a_killed_holder_leaves_no_stuck_lock(ws):
    path = ws.experiment()
    lock = lock_path(ws.results, "tiny")
    holder = hold(lock)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert json.loads(lock.read_text())["pid"] == holder.pid  # its record stays behind
    result = ws.nnx("search", path, "--method", "random", "--n-trials", 1, "--exclusive")
    assert result.exit_code == 0, result.output
    assert len(ws.study()["trials"]) == 1
    assert json.loads(lock.read_text())["pid"] == os.getpid()  # taken over


def test_a_real_sweep_holds_the_lock_while_it_runs(ws):
    path = ws.experiment()
    command = ["search", path, "--method", "random", "--n-trials", 1, "--exclusive",
               "--set", "train.epochs=300"]
    first = ws.spawn(*command)
    lock = lock_path(ws.results, "tiny")
    wait_for(lambda: ws.trials() and ws.trials()[0].state.name == "RUNNING", what="a trial")
    second = ws.nnx(*command)
    assert second.exit_code == 0 and f"(pid {first.pid} on " in second.output
    output, _ = first.communicate(timeout=120)
    assert first.returncode == 0, output
    third = ws.nnx(*command)  # the first has ended: its lock is free
    assert third.exit_code == 0 and "trial   1" in third.output, third.output
    assert StudyLock(lock).acquire() is None


def test_a_lock_file_that_is_not_ours_is_refused_and_left_alone(ws):
    path = ws.experiment()
    ws.nnx("search", path, "--method", "random", "--n-trials", 1)
    journal = ws.journal()
    lock = lock_path(ws.results, "tiny")
    lock.write_text("pid=123 owner=backup-job\n")
    result = ws.nnx("search", path, "--method", "random", "--n-trials", 1, "--exclusive")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "is not an nnx lock file" in lines[0], result.output
    assert "pid=123 owner=backup-job" in lines[0]
    assert lock.read_text() == "pid=123 owner=backup-job\n"
    assert ws.journal() == journal

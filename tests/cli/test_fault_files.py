"""Files and streams under fault: results written with the user's umask, leftovers of killed
writes cleaned up by the next run, a full disk or a read-only folder said in one line with
exit 1 (not 2: the input was fine), and output piped into `head` ending quietly."""

import errno
import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from read_only import read_only_command

from nnx import atomic
from nnx.results import write_json

TIMEOUT = 120
HOUR = 3600


@pytest.fixture
def umask():
    """Set the process umask for one test (restored afterwards)."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# -- permissions ------------------------------------------------------------------------
@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077], ids=oct)
def test_results_get_the_permissions_of_a_plain_open(ws, umask, mask):
    umask(mask)
    result = ws.nnx("train", ws.experiment(), "-q")
    assert result.exit_code == 0, result.output
    record = ws.record()
    folder = ws.results / "runs"
    assert mode(folder / f"{record['run_id']}.json") == 0o666 & ~mask
    assert mode(folder / f"{record['run_id']}.npz") == 0o666 & ~mask
    write_json(ws.results / "studies" / "s.json", {"study": "s"})
    assert mode(ws.results / "studies" / "s.json") == 0o666 & ~mask


def test_rewriting_a_file_keeps_its_permissions(tmp_path, umask):
    path = tmp_path / "run.json"
    write_json(path, {"a": 1})
    path.chmod(0o640)
    write_json(path, {"a": 2})
    assert mode(path) == 0o640 and path.read_text() == '{\n  "a": 2\n}\n'


# -- leftovers of killed writes ---------------------------------------------------------
def aged(path, seconds, content=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_the_next_run_removes_old_leftovers_of_killed_writes(ws):
    runs, studies = ws.results / "runs", ws.results / "studies"
    old = [aged(runs / ".tiny-20260101T000000-abcdef.json.k2j3h4.tmp", 2 * HOUR),
           aged(runs / ".tiny-20260101T000000-abcdef.npz.x9y8z7.tmp", 2 * HOUR),
           aged(studies / ".sweep.json.a1b2c3.tmp", 2 * HOUR),
           aged(runs / "tiny-20260101T000000-abcdef.npz", 2 * HOUR)]  # no record beside it
    kept = [aged(runs / ".tiny-20260102T000000-123456.json.q1w2e3.tmp", 60),  # being written
            aged(runs / "tiny-20260102T000000-123456.npz", 60),  # its record comes next
            aged(runs / "my-model.npz", 2 * HOUR),  # not a run's model file
            aged(runs / "tiny-20260103T000000-fedcba.npz", 2 * HOUR),  # has its record
            aged(runs / "tiny-20260103T000000-fedcba.json", 2 * HOUR, b"{}"),
            aged(studies / "sweep.journal", 2 * HOUR)]
    result = ws.nnx("train", ws.experiment(), "-q")
    assert result.exit_code == 0, result.output
    assert [p for p in old if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []
    assert "removed 4 leftovers of interrupted writes" in result.stderr
    for path in old:
        assert path.name in result.stderr


def test_no_leftovers_no_word(ws):
    result = ws.nnx("train", ws.experiment(), "-q")
    assert result.exit_code == 0 and result.stderr == ""


# -- a full disk, a read-only folder ----------------------------------------------------
def test_a_full_disk_while_saving_the_run_is_one_line_and_exit_1(ws, monkeypatch):
    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", no_space)
    result = ws.nnx("train", ws.experiment(), "-q")
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write {ws.results / 'runs'}/tiny-")
    assert line.endswith(".npz: no space left on device")
    assert os.listdir(ws.results / "runs") == []  # no temporary file left behind


def test_predictions_to_a_full_device_are_one_line_and_exit_1(ws):
    train = ws.nnx("train", ws.experiment(), "-q")
    assert train.exit_code == 0, train.output
    rows = ws.root / "rows.csv"
    rows.write_text("x0,x1\n" + "0.5,0.25\n" * 2000)
    result = ws.nnx("predict", ws.record()["run_id"], rows, "--output", "/dev/full")
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == "error: cannot write /dev/full: no space left on device"


def test_a_read_only_results_folder_is_one_line_and_exit_1(ws):
    ws.results.mkdir()
    command = [sys.executable, "-m", "nnx.cli", "train", str(ws.experiment()), "-q",
               "--results-dir", str(ws.results)]
    done = subprocess.run(read_only_command(ws.results, command), capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=ws.root)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() in (
        f"error: cannot write {ws.results}: read-only file system",
        f"error: cannot write {ws.results}: permission denied")
    assert os.listdir(ws.results) == []


# -- output into a closed pipe ------------------------------------------------------------
@pytest.mark.parametrize("args", [["datasets"], ["report"], ["train", "{exp}", "--json"],
                                  ["train", "{exp}"]], ids=" ".join)
def test_output_into_a_closed_pipe_ends_quietly_with_141(ws, args):
    """As `nnx ... | head -1` once head has gone: no traceback, no 'Exception ignored', the
    shell's code for SIGPIPE; a run in progress still completes and is kept."""
    args = [a.format(exp=ws.experiment()) for a in args]
    process = ws.process(*args)
    process.stdout.close()  # the reader is gone before the first line
    err = process.stderr.read()
    assert process.wait(timeout=TIMEOUT) == 128 + signal.SIGPIPE, err
    assert "Traceback" not in err and "Exception ignored" not in err and "error" not in err
    if args[0] == "train":
        assert ws.record()["status"] == "completed"

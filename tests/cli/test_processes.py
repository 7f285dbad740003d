"""Real `nnx` processes: plain output in a pipe, Ctrl-C (exit 130), SIGKILL (no half file),
and a start-up path free of numba."""

import json
import re
import signal
import subprocess
import sys

TIMEOUT = 120


def test_pipe_output_is_plain_and_threads_are_recorded(ws):
    process = ws.process("train", ws.experiment(), "--threads", "1")
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ epoch 3/3 ", out, re.M)
    assert "\x1b[" not in out and "Traceback" not in err
    record = ws.record()
    assert record["config"]["train"]["threads"] == 1
    assert record["environment"]["threads"] == 1


def test_sigint_stops_training_keeps_the_run_and_exits_130(ws):
    process = ws.process("train", ws.experiment(ws.SLOW))
    ws.wait_for_line(process, r"epoch 1/500 ")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    record = ws.record()
    assert record["status"] == "interrupted"
    assert record["stop_reason"] == "interrupted by the user"
    assert len(record["history"]["loss"]) >= 1
    assert record["metrics"]["test"]["accuracy"] > 0.5
    assert (ws.results / "runs" / f"{record['run_id']}.npz").is_file()


def test_sigkill_leaves_no_half_written_json(ws):
    quick = ws.process("train", ws.experiment(filename="quick.yaml"), "-q")
    assert quick.wait(timeout=TIMEOUT) == 0
    (earlier,) = ws.runs()
    before = {p.name: p.read_bytes() for p in (ws.results / "runs").iterdir()}

    process = ws.process("train", ws.experiment(ws.SLOW))
    ws.wait_for_line(process, r"epoch 1/500 ")
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=TIMEOUT)
    assert process.returncode == -signal.SIGKILL
    after = {p.name: p.read_bytes() for p in (ws.results / "runs").iterdir()}
    assert after == before  # earlier runs untouched, nothing new, no temp files
    for path in ws.runs():
        json.loads(path.read_text())


def test_help_and_validate_do_not_import_numba(ws):
    path = ws.experiment()
    code = ("import sys; from typer.testing import CliRunner; from nnx.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0; "
            f"r = CliRunner().invoke(app, ['validate', {str(path)!r}]); "
            "assert r.exit_code == 0, r.output; "
            "heavy = [m for m in ('numba', 'optuna', 'sklearn', 'torch') if m in sys.modules]; "
            "assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr

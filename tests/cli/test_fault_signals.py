"""Stop signals on a real `nnx train` process: a second Ctrl-C while the model and the record
are written, a storm of them, and SIGTERM (what kill, cron and systemd send) all end with an
`interrupted` record on disk and the shell's exit code (130 for SIGINT, 143 for SIGTERM)."""

import json
import os
import signal
import time

import pytest

from nnx.callbacks import Callback
from nnx.experiment import build as experiment_build
from nnx.experiment import run as experiment_run
from nnx.model import io as model_io
from nnx.model import load_model
from nnx.results import runs as results

TIMEOUT = 120
# Wide layers make the model file a few MB, so that writing it takes long enough for a
# second signal to land inside the write; many epochs leave time to signal mid-training.
HEAVY = {
    "name": "heavy",
    "seed": 0,
    "data": {"dataset": "digits"},
    "model": {"layers": [{"type": "dense", "units": 512, "activation": "relu"},
                         {"type": "dense", "units": 512, "activation": "relu"},
                         {"type": "dense", "units": 10, "activation": "softmax"}]},
    "train": {"loss": "categorical_crossentropy", "batch_size": 64, "epochs": 500,
              "metrics": ["accuracy"]},
}


def started_training(ws):
    process = ws.process("train", ws.experiment(HEAVY))
    ws.wait_for_line(process, r"epoch 1/500 ")
    return process


def assert_kept_interrupted(ws, process, code, reason):
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == code, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    folder = ws.results / "runs"
    assert not list(folder.glob(".*.tmp")), list(folder.iterdir())
    record = ws.record()
    assert record["status"] == "interrupted" and record["stop_reason"] == reason
    assert len(record["history"]["loss"]) >= 1
    model = load_model(folder / f"{record['run_id']}.npz")
    assert model.count_params() == 64 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10
    return record


def test_a_second_ctrl_c_5_ms_after_the_first_keeps_the_record(ws):
    process = started_training(ws)
    process.send_signal(signal.SIGINT)
    time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    assert_kept_interrupted(ws, process, 130, "interrupted by the user")


def test_a_second_ctrl_c_while_the_model_file_is_written_keeps_the_record(ws):
    """The second signal is sent the moment the model's temporary file appears."""
    process = started_training(ws)
    process.send_signal(signal.SIGINT)
    folder = ws.results / "runs"
    deadline = time.monotonic() + TIMEOUT
    while not (folder.is_dir() and list(folder.glob(".*.npz.*.tmp"))):
        assert process.poll() is None and time.monotonic() < deadline, "no model file written"
        time.sleep(0.0005)
    process.send_signal(signal.SIGINT)
    assert_kept_interrupted(ws, process, 130, "interrupted by the user")


def test_a_storm_of_ctrl_cs_keeps_the_record(ws):
    """A signal every 2 ms from the first on lands in every step after training: the
    evaluation, the model file, the record, the lines printed at the end."""
    process = started_training(ws)
    deadline = time.monotonic() + 10
    while process.poll() is None and time.monotonic() < deadline:
        process.send_signal(signal.SIGINT)
        time.sleep(0.002)
    assert_kept_interrupted(ws, process, 130, "interrupted by the user")


def test_sigterm_stops_after_the_batch_keeps_the_record_and_exits_143(ws):
    process = started_training(ws)
    process.send_signal(signal.SIGTERM)
    record = assert_kept_interrupted(ws, process, 143, "stopped by SIGTERM")
    assert record["metrics"]["test"]["accuracy"] > 0.5  # evaluated after the stop
    assert json.loads((ws.results / "runs" / f"{record['run_id']}.json").read_text())


# -- the same in-process, each signal sent from inside one step ------------------------
def signal_self(signum=signal.SIGINT):
    os.kill(os.getpid(), signum)


class _SignalAtFirstEpoch(Callback):
    def __init__(self, signum):
        self.signum = signum

    def on_epoch_end(self, epoch, logs):
        if epoch == 0:
            signal_self(self.signum)


def first_signal_in_training(monkeypatch, signum=signal.SIGINT):
    original = experiment_run.training_callbacks
    monkeypatch.setattr(experiment_run, "training_callbacks",
                        lambda train: [*original(train), _SignalAtFirstEpoch(signum)])


def signal_before(monkeypatch, module, name, signum=signal.SIGINT):
    """`module.name` sends `signum` to this process, then does its work."""
    original = getattr(module, name)

    def wrapped(*args, **kwargs):
        signal_self(signum)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


@pytest.mark.parametrize("module, name", [(model_io, "replace_atomically"),
                                          (results, "replace_atomically"),
                                          (experiment_run, "environment")],
                         ids=["model file", "record", "between"])
def test_a_second_signal_while_the_run_is_saved_is_counted_not_raised(ws, monkeypatch,
                                                                      module, name):
    first_signal_in_training(monkeypatch)
    signal_before(monkeypatch, module, name)
    result = ws.nnx("train", ws.experiment(train={**ws.TINY["train"], "epochs": 50}))
    assert result.exit_code == 130, result.output
    record = ws.record()
    assert record["status"] == "interrupted" and len(record["history"]["loss"]) == 1
    assert record["metrics"]["test"]["accuracy"] > 0.5
    assert load_model(ws.results / "runs" / f"{record['run_id']}.npz").count_params() == 33


def test_a_second_signal_while_evaluating_stops_the_evaluation(ws, monkeypatch):
    first_signal_in_training(monkeypatch, signal.SIGTERM)
    signal_before(monkeypatch, experiment_run, "evaluate_splits")
    result = ws.nnx("train", ws.experiment(train={**ws.TINY["train"], "epochs": 50}))
    assert result.exit_code == 143, result.output
    record = ws.record()
    assert record["status"] == "interrupted" and record["stop_reason"] == "stopped by SIGTERM"
    assert record["metrics"] == {} and record["model_path"]


def test_a_signal_while_loading_the_data_stops_at_once(ws, monkeypatch):
    signal_before(monkeypatch, experiment_build, "load_data", signal.SIGTERM)
    result = ws.nnx("train", ws.experiment())
    assert result.exit_code == 143, result.output
    assert "error: interrupted" in result.output and "Traceback" not in result.output
    assert ws.runs() == []


def test_a_signal_after_training_keeps_the_completed_run(ws, monkeypatch):
    """Training is over: the run is complete, the signal changes nothing in it."""
    signal_before(monkeypatch, experiment_run, "evaluate_splits")
    result = ws.nnx("train", ws.experiment())
    assert result.exit_code == 0, result.output
    record = ws.record()
    assert record["status"] == "completed" and record["metrics"]["test"]

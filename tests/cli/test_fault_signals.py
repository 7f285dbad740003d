"""Stop signals on a real `nnx train` process: a second Ctrl-C while the model and the record
are written, a storm of them, and SIGTERM (what kill, cron and systemd send) all end with an
`interrupted` record on disk and the shell's exit code (130 for SIGINT, 143 for SIGTERM)."""

import json
import signal
import time

from nnx.model_io import load_model

TIMEOUT = 120
# Wide layers make the model file a few MB, so that writing it takes long enough for a
# second signal to land inside the write; many epochs leave time to signal mid-training.
HEAVY = {
    "name": "heavy",
    "seed": 0,
    "data": {"dataset": "digits"},
    "model": {"layers": [{"type": "dense", "units": 1024, "activation": "relu"},
                         {"type": "dense", "units": 1024, "activation": "relu"},
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
    assert model.count_params() == 64 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 10 + 10
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

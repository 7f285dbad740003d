"""The costs every run records (params, predict_ms, train_s, model_bytes) against what its
model file holds, and the prediction timing: one fixed batch, a warm-up, then the median of
several timed passes."""

import numpy as np
import pytest
from experiment_configs import tiny_moons

from nnx import costs
from nnx.callbacks import Callback
from nnx.experiment import run_experiment
from nnx.model.io import read_model_file


def test_a_run_records_its_costs(tmp_path):
    record = run_experiment(tiny_moons(epochs=3), tmp_path)
    recorded = record["costs"]
    assert set(recorded) == set(costs.COSTS.names())
    _, arrays = read_model_file(record["model_path"])
    weights = {k: v for k, v in arrays.items() if "running" not in k}
    assert recorded["params"] == sum(a.size for a in weights.values()) == 8 * 2 + 8 + 8 + 1
    assert recorded["model_bytes"] == sum(a.nbytes for a in arrays.values()) == 33 * 4
    assert 0 < recorded["train_s"] <= record["duration_s"]
    assert recorded["predict_ms"] > 0


class PrunedAfterOneEpoch(Callback):
    """What a search's pruner does to a hopeless trial."""

    def on_epoch_end(self, epoch, logs):
        self.model.stop_training, self.model.status = True, "pruned"
        self.model.stop_reason = "pruned after epoch 1"


def test_a_run_that_did_not_complete_has_no_prediction_time(tmp_path):
    record = run_experiment(tiny_moons(epochs=3), tmp_path, callbacks=[PrunedAfterOneEpoch()])
    assert record["status"] == "pruned" and len(record["history"]["loss"]) == 1
    assert record["costs"]["predict_ms"] is None
    assert record["costs"]["params"] == 33 and 0 < record["costs"]["train_s"]


class Timed:
    """A model whose predictions take a known time per call, in the order given."""

    def __init__(self, seconds, clock):
        self.seconds, self.clock, self.calls = list(seconds), clock, []

    def predict(self, x, batch_size=None):
        self.calls.append((x.shape, batch_size))
        self.clock.now += self.seconds.pop(0)
        return x


@pytest.mark.parametrize("rows", [3, 1000, 2500])
def test_prediction_time_is_the_median_after_a_warm_up_on_a_fixed_batch(monkeypatch, rows):
    class Clock:
        now = 0.0

    clock = Clock()
    monkeypatch.setattr(costs.time, "perf_counter", lambda: clock.now)
    warm_up, timed = 9.0, [0.004, 0.001, 0.003, 0.002, 0.005]
    model = Timed([warm_up, *timed], clock)
    x = np.arange(rows * 4, dtype=np.float32).reshape(rows, 4)
    assert costs.predict_ms(model, x) == pytest.approx(3.0)  # the median, in ms
    assert model.calls == [((costs.PREDICT_ROWS, 4), costs.PREDICT_ROWS)] * (
        1 + costs.PREDICT_REPEATS)

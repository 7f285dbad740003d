"""One run end to end: the record, the statuses, the checks that need the data."""

import copy
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from experiment_configs import tiny_moons

import nnx
from nnx import losses, metrics
from nnx.callbacks import Callback
from nnx.config import ConfigError
from nnx.data import Preprocessor
from nnx.data.targets import TASKS
from nnx.experiment import expand_layers, prepare, run_experiment
from nnx.results import RUN_KEYS, read_run

TINY = tiny_moons(epochs=4)


def tiny(**train):
    config = copy.deepcopy(TINY)
    config["train"].update(train)
    return config


class Hook(Callback):
    """Calls `action(model, epoch, batch)` at every batch end."""

    def __init__(self, action):
        self.action = action
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs):
        self.action(self.model, self.epoch, batch)


def test_record_document(tmp_path):
    record = run_experiment(tiny(), tmp_path)
    assert list(record)[:len(RUN_KEYS)] == list(RUN_KEYS)
    assert record["status"] == "completed" and record["error"] is None
    assert record["run_id"].startswith("tiny-") and record["name"] == "tiny"
    assert record["config"]["train"]["optimizer"]["beta1"] == 0.9  # resolved
    diagnostics = record["diagnostics"]
    assert diagnostics["level"] == "basic" and diagnostics["flags"] == []
    assert set(diagnostics) == {"level", "thresholds", "per_epoch", "flags", "confusion_matrix"}
    assert set(diagnostics["per_epoch"]) == {"0.dense", "1.dense"}
    assert len(diagnostics["confusion_matrix"]) == 2  # binary: a 2 x 2 table on validation
    env = record["environment"]
    assert {"python", "numpy", "numba", "platform", "threads"} <= set(env)
    assert set(record["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 4 for v in record["history"].values())
    assert set(record["metrics"]) == {"train", "val", "test"}
    assert set(record["metrics"]["test"]) == {"loss", "accuracy"}
    on_disk = read_run(tmp_path / "runs" / f"{record['run_id']}.json")
    assert on_disk == json.loads(json.dumps(record))
    model = nnx.load_model(record["model_path"])
    pre = Preprocessor.from_dict(model.preprocessing)
    assert pre.task == "binary" and pre.input_shape == (2,)


def test_same_seed_same_numbers(tmp_path):
    a = run_experiment(tiny(), tmp_path, save_model=False)
    b = run_experiment(tiny(), tmp_path, save_model=False)
    assert a["history"] == b["history"] and a["metrics"] == b["metrics"]
    assert a["run_id"] != b["run_id"] and a["model_path"] is None


def test_metrics_are_those_of_the_restored_best_weights(tmp_path):
    record = run_experiment(tiny(epochs=40, optimizer={"type": "adam", "lr": 0.5},
                                 early_stopping={"monitor": "val_loss", "patience": 2}),
                            tmp_path)
    val_losses = record["history"]["val_loss"]
    assert len(val_losses) < 40 and "early stopping" in record["stop_reason"]
    assert record["metrics"]["val"]["loss"] == pytest.approx(min(val_losses), rel=1e-4)


def test_diverged_run_is_recorded_with_its_reason(tmp_path):
    config = {"name": "boom", "data": {"dataset": "diabetes"},
              "model": {"layers": [{"type": "dense", "units": 16, "activation": "relu"},
                                   {"type": "dense", "units": 1}]},
              "train": {"loss": "mse", "optimizer": {"type": "sgd", "lr": 1.0e6}, "epochs": 5}}
    record = run_experiment(config, tmp_path)
    assert record["status"] == "diverged"
    assert "became" in record["error"]
    on_disk = json.loads((tmp_path / "runs" / f"{record['run_id']}.json").read_text())
    assert on_disk["status"] == "diverged"


def test_failed_run_is_recorded_not_raised(tmp_path):
    def boom(model, epoch, batch):
        raise RuntimeError("kernel exploded")

    record = run_experiment(tiny(), tmp_path, callbacks=[Hook(boom)])
    assert record["status"] == "failed" and record["error"] == "RuntimeError: kernel exploded"
    assert "Traceback" in record["traceback"] and record["model_path"] is None
    assert (tmp_path / "runs" / f"{record['run_id']}.json").is_file()


def test_a_callback_can_prune(tmp_path):
    def prune(model, epoch, batch):
        if epoch == 1:
            model.status, model.stop_training = "pruned", True

    record = run_experiment(tiny(), tmp_path, callbacks=[Hook(prune)])
    assert record["status"] == "pruned" and len(record["history"]["loss"]) == 2


def test_sigint_stops_after_the_current_batch(tmp_path):
    seen = []

    def interrupt(model, epoch, batch):
        seen.append((epoch, batch))
        if (epoch, batch) == (1, 3):
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.getsignal(signal.SIGINT)
    record = run_experiment(tiny(), tmp_path, callbacks=[Hook(interrupt)])
    assert signal.getsignal(signal.SIGINT) is previous
    assert record["status"] == "interrupted"
    assert seen[-1] == (1, 3)  # no further batch ran
    assert len(record["history"]["loss"]) == 1  # the broken-off epoch is not recorded
    assert record["metrics"]["test"]["accuracy"] is not None
    assert os.path.isfile(record["model_path"])


def test_run_id_and_reporter_hooks(tmp_path):
    from nnx.progress import Reporter

    class Spy(Reporter):
        def __init__(self):
            self.calls = []

        def run_begin(self, info):
            self.calls.append(("begin", info["steps"], info["n_train"], info["params"]))

        def epoch_end(self, epoch, logs):
            self.calls.append(("epoch", epoch))

        def run_end(self, record):
            self.calls.append(("end", record["status"]))

    spy = Spy()
    record = run_experiment(tiny(epochs=2), tmp_path, reporter=spy, run_id="given-id")
    assert record["run_id"] == "given-id"
    assert spy.calls == [("begin", 8, 120, 33), ("epoch", 0), ("epoch", 1),
                         ("end", "completed")]


# -- checks that need the data ---------------------------------------------------------------
def iris(**changes):
    config = {"name": "iris", "data": {"dataset": "iris"},
              "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"},
                                   {"type": "dense", "units": 3, "activation": "softmax"}]},
              "train": {"loss": "categorical_crossentropy", "metrics": ["accuracy"]}}
    for path, value in changes.items():
        section, key = path.split("__")
        config[section][key] = value
    return config


@pytest.mark.parametrize("config, path, words", [
    (iris(train__loss="mse"), "train.loss", ["multiclass", "categorical_crossentropy"]),
    (iris(train__metrics=["r2"]), "train.metrics.0", ["'r2'", "accuracy"]),
    (iris(model__layers=[{"type": "dense", "units": 4, "activation": "softmax"}]),
     "model.layers.0.units", ["4", "3 classes"]),
    (iris(model__layers=[{"type": "dense", "units": 8}, {"type": "dense", "units": 3}]),
     "model.layers.1.activation", ["'softmax'", "from_logits"]),
    (iris(data__dataset="digits_images"), "model.layers.0", ["flatten"]),
    (iris(data__dataset="diabetes"), "train.loss", ["regression"]),
])
def test_checks_against_the_data(tmp_path, config, path, words):
    with pytest.raises(ConfigError) as info:
        run_experiment(config, tmp_path / "results")
    assert info.value.path == path, str(info.value)
    for word in words:
        assert word in str(info.value)
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("dataset, loss, use", [
    ("moons", "categorical_crossentropy", "binary_crossentropy or mse or mae or huber"),
    ("multilabel", "categorical_crossentropy", "binary_crossentropy or mse or mae or huber"),
    ("diabetes", "binary_crossentropy", "mse or mae or huber"),
    ("iris", "huber", "categorical_crossentropy"),
])
def test_a_loss_for_another_task_names_the_losses_that_fit(dataset, loss, use):
    """The losses say which tasks they fit; the cross-entropy of a task comes first."""
    with pytest.raises(ConfigError) as info:
        prepare(iris(data__dataset=dataset, train__loss=loss, train__metrics=[]))
    assert info.value.path == "train.loss"
    assert str(info.value).endswith(f"task of {dataset!r}; use {use}")


def test_every_loss_and_metric_declares_the_tasks_it_fits():
    for name, cls in losses.LOSSES.items():
        assert cls.tasks and set(cls.tasks) <= set(TASKS), name
    for name, metric in metrics.METRICS.items():
        assert metric.tasks and set(metric.tasks) <= set(TASKS), name
    for task in TASKS:
        assert any(task in cls.tasks for _, cls in losses.LOSSES.items())
        assert metrics.for_task(task)
    assert metrics.for_task("regression") == ["mae", "mse", "rmse", "r2", "mape"]


def test_logits_output_is_accepted_with_from_logits(tmp_path):
    config = iris(model__layers=[{"type": "dense", "units": 3}],
                  train__loss={"type": "categorical_crossentropy", "from_logits": True})
    assert prepare(config).model.output_shape == (3,)


def test_repeat_expands_layers():
    specs = [{"type": "dense", "units": 4, "repeat": 3}, {"type": "dense", "units": 1}]
    expanded, origin = expand_layers(specs)
    assert len(expanded) == 4 and origin == [0, 0, 0, 1]
    assert all("repeat" not in s for s in expanded)
    config = copy.deepcopy(TINY)
    config["model"]["layers"][0]["repeat"] = 3
    assert len(prepare(config).model.layers) == 4


def test_prepare_loads_no_kernels():
    code = ("import sys; from nnx.experiment import prepare; "
            f"p = prepare({TINY!r}); print(p.model.count_params()); "
            "assert 'numba' not in sys.modules, 'numba was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "33"


def test_float64_models_train(tmp_path):
    config = copy.deepcopy(TINY)
    config["model"]["dtype"] = "float64"
    prepared = prepare(config)
    assert prepared.model.layers[0].params["W"].dtype == np.float64
    assert run_experiment(config, tmp_path)["status"] == "completed"

"""One run: experiment config -> data -> model -> fit -> evaluate -> run record (JSON).

`run_experiment` is the single path of `nnx train` and of every search trial, so that both
behave the same.
"""

import math
import os
import time
import traceback

from nnx import costs
from nnx.callbacks import EarlyStopping, LearningRateScheduler, ProgressReport
from nnx.diagnostics import Diagnostics, confusion_matrix
from nnx.experiment.build import prepare
from nnx.experiment.crossval import cross_validate
from nnx.experiment.runtime import EVAL_BATCH, StopAfterBatch, environment, set_threads
from nnx.progress import Reporter
from nnx.results import RUN_SCHEMA, new_run_id, runs_dir, utc_now, write_run
from nnx.stop_signals import USER_STOP_REASON, RunStop, reason


def run_experiment(config, results_dir, *, callbacks=(), reporter=None, save_model=True,
                   run_id=None, source=None):
    """Train the experiment once and write its run record; returns the record (a dict).

    Bad input raises ConfigError before anything is written. Otherwise a record is always
    written: status completed, diverged, interrupted (Ctrl-C or SIGTERM: training stops
    after the current batch, a second signal stops training or evaluation at once but never
    the writing of the model and the record; `nnx.stop_signals`), failed (an unexpected
    error, kept in `error`), or whatever status a callback left on the model (a pruning
    callback sets `model.status = "pruned"` and `model.stop_training = True`).
    `callbacks` are extra training callbacks; `reporter` a `nnx.progress.Reporter`.
    With `data.folds` the run fits a model per fold (`nnx.experiment.crossval`): the
    callbacks see one `fit` per fold, and no model file is kept.
    """
    started, created = time.perf_counter(), utc_now()
    prepared = prepare(config, source, load_kernels=True)
    config, data, model = prepared.config, prepared.data, prepared.model
    set_threads(config["train"]["threads"])
    run_id = run_id or new_run_id(config["name"])
    reporter = reporter or Reporter()
    stop = RunStop()
    record = None

    def fit_and_evaluate(model, data):
        return _fit_and_evaluate(model, data, config["train"], _Recorder(reporter), stop,
                                 callbacks, config["diagnostics"], prepared.class_weight)

    reporter.run_begin(_run_info(run_id, config, data, model))
    with stop.installed():
        try:
            if data.cv is None:
                outcome = fit_and_evaluate(model, data)
            else:
                outcome = cross_validate(prepared, fit_and_evaluate, reporter)
            model_path = None
            if save_model and outcome["status"] != "failed" and data.cv is None:
                model_path = os.path.join(runs_dir(results_dir), f"{run_id}.npz")
                model.save(model_path, preprocessing=data.preprocessing.to_dict())
            record = {
                "schema": RUN_SCHEMA, "run_id": run_id, "name": config["name"],
                "status": outcome["status"], "created": created,
                "duration_s": round(time.perf_counter() - started, 3), "config": config,
                "environment": environment(), "history": outcome["history"],
                "metrics": outcome["metrics"], "costs": outcome["costs"],
                "diagnostics": outcome["diagnostics"], "model_path": model_path,
                "error": outcome["error"], "stop_reason": outcome["stop_reason"],
            }
            if "cv" in outcome:
                record["cv"] = outcome["cv"]
            if outcome.get("traceback"):
                record["traceback"] = outcome["traceback"]
            write_run(results_dir, record)
        finally:
            reporter.run_end(record)
    return record


def _fit_and_evaluate(model, data, train, recorder, stop, extra_callbacks, diagnostics,
                      class_weight):
    watcher = None if diagnostics == "off" else Diagnostics(diagnostics)
    fit_callbacks = [*training_callbacks(train), recorder, *extra_callbacks, StopAfterBatch(stop),
                     *([watcher] if watcher else [])]
    validation = (data.x_val, data.y_val) if data.x_val is not None else None
    outcome = {"status": "completed", "error": None, "stop_reason": None, "metrics": {},
               "costs": None, "diagnostics": None}
    try:
        fit_started = time.perf_counter()
        with stop.interruptible():
            history = model.fit(data.x_train, data.y_train, epochs=train["epochs"],
                                batch_size=train["batch_size"], validation_data=validation,
                                shuffle=train["shuffle"], callbacks=fit_callbacks, verbose=0,
                                class_weight=class_weight, sample_weight=data.w_train)
        train_s = time.perf_counter() - fit_started
        outcome["status"], outcome["stop_reason"] = history.status, history.stop_reason
        if stop.requested and history.status in ("completed", "interrupted"):
            outcome["status"], outcome["stop_reason"] = "interrupted", reason(stop.signum)
        if history.status == "diverged":
            outcome["error"] = history.stop_reason
        with stop.interruptible():
            outcome["metrics"] = evaluate_splits(model, data)
            completed = outcome["status"] == "completed"
            outcome["costs"] = costs.measure(model, timing_rows(data) if completed else None,
                                             train_s)
            if watcher is not None:
                outcome["diagnostics"] = watcher.result(validation_confusion(model, data))
    except KeyboardInterrupt:  # a second signal while training or evaluating
        outcome["status"] = "interrupted"
        outcome["stop_reason"] = reason(stop.signum) if stop.requested else USER_STOP_REASON
    except Exception as err:  # noqa: BLE001 - a failed run is recorded, not raised
        outcome.update(status="failed", error=f"{type(err).__name__}: {err}",
                       traceback=traceback.format_exc())
    outcome["history"] = recorder.history
    return outcome


def validation_confusion(model, data):
    """The confusion matrix on the validation split (classification with one label only)."""
    if data.task not in ("binary", "multiclass") or data.x_val is None or not len(data.x_val):
        return None
    classes = data.n_classes or 2
    return confusion_matrix(model.predict(data.x_val, batch_size=EVAL_BATCH), data.y_val, classes)


def timing_rows(data):
    """The rows a run's prediction time is measured on: validation, else test, else
    training rows (the same for every trial of a search)."""
    for x in (data.x_val, data.x_test, data.x_train):
        if x is not None and len(x):
            return x
    return None


def training_callbacks(train):
    """The callbacks the `train:` section asks for (early stopping, schedule)."""
    out = []
    if train["early_stopping"] is not None:
        out.append(EarlyStopping(**train["early_stopping"]))
    if train["schedule"] is not None:
        out.append(LearningRateScheduler(train["schedule"]))
    return out


def evaluate_splits(model, data):
    """{"train"|"val"|"test": {"loss": ..., metric: ...}} for the splits the data have."""
    metrics = {}
    for split in ("train", "val", "test"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if x is not None and len(x):
            metrics[split] = model.evaluate(x, y, batch_size=EVAL_BATCH)
    return metrics


def _run_info(run_id, config, data, model):
    batch = config["train"]["batch_size"]
    n_train = len(data.x_train)
    steps = 1 if batch in (None, "full") else math.ceil(n_train / batch)
    return {"run_id": run_id, "name": config["name"], "dataset": data.name, "task": data.task,
            "epochs": config["train"]["epochs"], "steps": steps, "n_train": n_train,
            "n_val": 0 if data.x_val is None else len(data.x_val),
            "n_test": 0 if data.x_test is None else len(data.x_test),
            "params": model.count_params(), "folds": None if data.cv is None else data.cv.count}


class _Recorder(ProgressReport):
    """Keeps the epoch logs (also when fit fails half-way) and feeds the reporter (the run
    announces itself: `run_experiment` calls the reporter's run_begin and run_end)."""

    def __init__(self, reporter):
        super().__init__(reporter)
        self.history = {}

    def on_epoch_end(self, epoch, logs):
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        super().on_epoch_end(epoch, logs)

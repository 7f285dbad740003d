"""One run: experiment config -> data -> model -> fit -> evaluate -> run record (JSON).

`run_experiment` is the single path of `nnx train` and of every search trial, so that both
behave the same. `prepare` does every check that needs the data (output width, loss and
metrics against the task) before anything is written; `nnx validate` calls it too, and
it loads no kernels.
"""

import math
import os
import platform
import socket
import sys
import time
import traceback
import zipfile
from dataclasses import dataclass

from nnx import __version__, limits, optimizers
from nnx.callbacks import Callback, EarlyStopping, LearningRateScheduler
from nnx.config import ConfigError, resolve_config
from nnx.data import DataSplits, load_data
from nnx.diagnostics import Diagnostics, confusion_matrix
from nnx.errors import NnxError
from nnx.graph_spec import GraphConfigError
from nnx.model import Sequential, build_graph, load_model
from nnx.progress import Reporter
from nnx.results import RUN_SCHEMA, new_run_id, runs_dir, utc_now, write_run
from nnx.stop_signals import USER_STOP_REASON, RunStop, reason

EVAL_BATCH = 1024

# Which losses and metrics make sense for each task (the data decide the task).
TASK_LOSSES = {
    "regression": ("mse", "mae", "huber"),
    "binary": ("binary_crossentropy", "mse", "mae", "huber"),
    "multiclass": ("categorical_crossentropy",),
    "multilabel": ("binary_crossentropy", "mse", "mae", "huber"),
}
TASK_METRICS = {
    "regression": ("mae", "mse", "r2"),
    "binary": ("accuracy", "subset_accuracy", "mae", "mse"),
    "multiclass": ("accuracy", "subset_accuracy"),
    "multilabel": ("accuracy", "subset_accuracy", "mae", "mse"),
}
# A cross-entropy on probabilities needs this activation on the last layer.
OUTPUT_ACTIVATION = {"categorical_crossentropy": "softmax", "binary_crossentropy": "sigmoid"}


@dataclass
class Prepared:
    """A checked experiment, ready to fit: resolved config, loaded data, built model."""

    config: dict
    data: DataSplits
    model: Sequential


def prepare(config, source=None):
    """Resolve `config`, load its data and build its model; ConfigError for anything wrong."""
    try:
        config = resolve_config(config)
        try:
            data = load_data(config["data"], config["seed"], config["model"]["dtype"])
        except ConfigError:
            raise
        except NnxError as err:
            raise ConfigError("data", str(err)) from None
        check_task(config, data)
        model = build_model(config, data)
    except ConfigError as err:
        err.source = err.source or source
        raise
    return Prepared(config, data, model)


def expand_layers(specs):
    """(layer specs without `repeat`, the config index of each) for `repeat: N` specs."""
    expanded, origin = [], []
    for i, spec in enumerate(specs):  # the schema caps `repeat` (nnx.limits)
        spec = dict(spec)
        for _ in range(spec.pop("repeat", 1)):
            expanded.append(dict(spec))
            origin.append(i)
    return expanded, origin


def check_task(config, data):
    """The loss and metrics must suit the task the data pose."""
    task, loss = data.task, config["train"]["loss"]["type"]
    if loss not in TASK_LOSSES[task]:
        raise ConfigError("train.loss", f"{loss!r} does not fit the {task} task of "
                                        f"{data.name!r}; use {' or '.join(TASK_LOSSES[task])}")
    for i, metric in enumerate(config["train"]["metrics"]):
        if metric not in TASK_METRICS[task]:
            raise ConfigError(f"train.metrics.{i}", f"{metric!r} does not apply to the {task} "
                                                    f"task of {data.name!r}; use "
                                                    f"{', '.join(TASK_METRICS[task])}")


def build_model(config, data):
    """The compiled model for `config` (a Sequential, or a graph Model), built for the data's
    input shape."""
    if "inputs" in config["model"]:
        return _build_graph_model(config, data)
    specs, origin = expand_layers(config["model"]["layers"])
    model = Sequential(specs, seed=config["seed"], dtype=config["model"]["dtype"],
                       name=config["name"])
    shape = tuple(data.input_shape)
    entries = []  # (config path, layer, input shape): what the memory check reads
    for layer, i in zip(model.layers, origin):
        entries.append((f"model.layers.{i}", layer, shape))
        try:
            shape = tuple(layer.output_shape_for(shape))
        except NnxError as err:
            raise ConfigError(f"model.layers.{i}", f"{err} (its input has shape {shape} per "
                                                   "sample)") from None
    _check_output(config, data, shape)
    _check_memory(config, data, entries)
    model.build(data.input_shape)
    train = config["train"]
    model.compile(optimizer=train["optimizer"], loss=train["loss"], metrics=train["metrics"])
    _check_output_activation(config, model)
    return model


def _check_memory(config, data, entries):
    """Refuse a model whose training (parameters, gradients, optimizer state, one batch)
    could not fit in this machine's memory: a ConfigError at the layer, before building."""
    train = config["train"]
    n_train = max(len(data.x_train), 1)
    batch = train["batch_size"]
    batch = n_train if batch in (None, "full") else min(batch, n_train)
    try:
        limits.check_memory(entries, config["model"]["dtype"], batch=batch,
                            optimizer=optimizers.get(train["optimizer"]))
    except limits.TooBig as err:
        raise ConfigError(err.path, err.problem) from None


def _needed_outputs(data):
    units = data.output_units
    return {"multiclass": f"{data.n_classes} classes",
            "binary": "one sigmoid unit for 2 classes",
            "multilabel": f"{units} labels"}.get(data.task,
                                                 f"{units} target{'s' if units != 1 else ''}")


def _check_output(config, data, shape):
    specs = config["model"]["layers"]
    last = len(specs) - 1
    with_units = [i for i, spec in enumerate(specs) if "units" in spec]
    if len(shape) != 1:
        raise ConfigError(f"model.layers.{last}", f"the model outputs shape {shape} per sample; "
                          f"the data need ({data.output_units},) ({_needed_outputs(data)}): "
                          "end with a flatten or pooling layer and a dense layer")
    if shape[0] != data.output_units:
        path = f"model.layers.{with_units[-1]}.units" if with_units else f"model.layers.{last}"
        raise ConfigError(path, f"the model outputs {shape[0]} values per sample, but the "
                                f"{data.task} data of {data.name!r} need {data.output_units} "
                                f"({_needed_outputs(data)})")


def _check_output_activation(config, model):
    loss = config["train"]["loss"]
    needed = OUTPUT_ACTIVATION.get(loss["type"])
    last = model.layers[-1]
    if needed is None or loss.get("from_logits") or not hasattr(last, "activation"):
        return
    found = last.activation or "linear"
    if found != needed:
        index = len(config["model"]["layers"]) - 1
        raise ConfigError(f"model.layers.{index}.activation",
                          f"{loss['type']} takes probabilities, so the last layer needs "
                          f"activation {needed!r}, got {found!r} (or give the loss "
                          f"{{type: {loss['type']}, from_logits: true}} for logits)")


# -- graph models (nnx/graph_spec.py, nnx.model.build_graph) -----------------------------
def _build_graph_model(config, data):
    """The compiled graph Model of `model: {inputs, layers, outputs}`: one input (the data's
    features) and one output (its targets)."""
    section = config["model"]
    for key in ("inputs", "outputs"):
        if len(section[key]) != 1:
            raise ConfigError(f"model.{key}", f"the data give one input array and one target, "
                                              f"so the graph needs one {key[:-1]}, got "
                                              f"{len(section[key])}")
    shape = section["inputs"][0]["shape"]
    if shape is not None and tuple(shape) != tuple(data.input_shape):
        raise ConfigError("model.inputs.0.shape", f"is {list(shape)}, but the data's samples "
                                                  f"have shape {list(data.input_shape)}")
    try:
        model = build_graph(section, seed=config["seed"], dtype=section["dtype"],
                            name=config["name"], input_shapes=[tuple(data.input_shape)],
                            where="model")
    except (GraphConfigError, limits.TooBig) as err:
        raise ConfigError(err.path, err.problem) from None
    _check_output(config, data, model.output_shapes[0])
    # A graph builds as it is made: its parameters were checked then, the training now.
    paths = {entry["name"]: f"model.layers.{i}" for i, entry in enumerate(section["layers"])}
    _check_memory(config, data, [(paths.get(layer.name, "model"), layer, layer.input_shape)
                                 for layer in model.layers])
    train = config["train"]
    model.compile(optimizer=train["optimizer"], loss=train["loss"], metrics=train["metrics"])
    _check_output_activation(config, model)
    return model


# -- running ----------------------------------------------------------------------------
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
    """
    started, created = time.perf_counter(), utc_now()
    prepared = prepare(config, source)
    config, data, model = prepared.config, prepared.data, prepared.model
    set_threads(config["train"]["threads"])
    run_id = run_id or new_run_id(config["name"])
    reporter = reporter or Reporter()
    stop = RunStop()
    recorder = _Recorder(reporter)
    train = config["train"]
    record = None
    reporter.run_begin(_run_info(run_id, config, data, model))
    with stop.installed():
        try:
            outcome = _fit_and_evaluate(model, data, train, recorder, stop, callbacks,
                                        config["diagnostics"])
            model_path = None
            if save_model and outcome["status"] != "failed":
                model_path = os.path.join(runs_dir(results_dir), f"{run_id}.npz")
                model.save(model_path, preprocessing=data.preprocessing.to_dict())
            record = {
                "schema": RUN_SCHEMA, "run_id": run_id, "name": config["name"],
                "status": outcome["status"], "created": created,
                "duration_s": round(time.perf_counter() - started, 3), "config": config,
                "environment": environment(), "history": outcome["history"],
                "metrics": outcome["metrics"], "diagnostics": outcome["diagnostics"],
                "model_path": model_path,
                "error": outcome["error"], "stop_reason": outcome["stop_reason"],
            }
            if outcome.get("traceback"):
                record["traceback"] = outcome["traceback"]
            write_run(results_dir, record)
        finally:
            reporter.run_end(record)
    return record


def _fit_and_evaluate(model, data, train, recorder, stop, extra_callbacks, diagnostics):
    watcher = None if diagnostics == "off" else Diagnostics(diagnostics)
    fit_callbacks = [*training_callbacks(train), recorder, *extra_callbacks, _StopAfterBatch(stop),
                     *([watcher] if watcher else [])]
    validation = (data.x_val, data.y_val) if data.x_val is not None else None
    outcome = {"status": "completed", "error": None, "stop_reason": None, "metrics": {},
               "diagnostics": None}
    try:
        with stop.interruptible():
            history = model.fit(data.x_train, data.y_train, epochs=train["epochs"],
                                batch_size=train["batch_size"], validation_data=validation,
                                shuffle=train["shuffle"], callbacks=fit_callbacks)
        outcome["status"], outcome["stop_reason"] = history.status, history.stop_reason
        if stop.requested and history.status in ("completed", "interrupted"):
            outcome["status"], outcome["stop_reason"] = "interrupted", reason(stop.signum)
        if history.status == "diverged":
            outcome["error"] = history.stop_reason
        with stop.interruptible():
            outcome["metrics"] = evaluate_splits(model, data)
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
            "params": model.count_params()}


class _Recorder(Callback):
    """Keeps the epoch logs (also when fit fails half-way) and feeds the reporter."""

    def __init__(self, reporter):
        self.reporter = reporter
        self.history = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.reporter.epoch_begin(epoch)

    def on_batch_end(self, batch, logs):
        self.reporter.batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs):
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        self.reporter.epoch_end(epoch, logs)


class _StopAfterBatch(Callback):
    """Ends fit after the current batch once a stop signal came: fit treats the
    KeyboardInterrupt as 'interrupted' and keeps what was learnt (restoring the best weights
    when early stopping asks for it)."""

    def __init__(self, stop):
        self.stop = stop

    def on_batch_end(self, batch, logs):
        if self.stop.requested:
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch, logs):
        if self.stop.requested:
            raise KeyboardInterrupt


# -- environment ------------------------------------------------------------------------
def set_threads(threads):
    """Limit numba's and the BLAS libraries' threads to `threads` (None: leave as is)."""
    if threads is None:
        return
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)  # BLAS copies loaded later read these
    if "numba" not in sys.modules:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    threadpool_limits(limits=threads)


def environment():
    """Versions, platform and thread counts: what a result depends on besides the config."""
    import numba
    import numpy

    return {"nnx": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba.__version__, "platform": platform.platform(),
            "machine": platform.machine(), "host": socket.gethostname(),
            "cpu_count": os.cpu_count(), "threads": numba.get_num_threads(),
            "blas_threads": _blas_threads()}


def _blas_threads():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return max(counts) if counts else None


# -- using a finished run ---------------------------------------------------------------
@dataclass
class Saved:
    """A saved model with the run record it came from (None for a bare model file)."""

    model: Sequential
    record: dict | None
    model_path: str


def open_saved(reference, results_dir):
    """The model of a run id, a run JSON or a model .npz (with the run record beside it)."""
    from nnx.results import find_run, model_file, read_run

    reference = os.fspath(reference)
    if reference.lower().endswith(".npz"):
        if not os.path.isfile(reference):
            raise NnxError(f"model file {reference!r} does not exist")
        if not zipfile.is_zipfile(reference):
            raise NnxError(f"{reference}: not an nnx model file (not an .npz archive)")
        beside = os.path.splitext(reference)[0] + ".json"
        record = read_run(beside) if os.path.isfile(beside) else None
        return Saved(load_model(reference), record, reference)
    record_path = find_run(reference, results_dir)
    record = read_run(record_path)
    path = model_file(record, record_path)
    return Saved(load_model(path), record, os.fspath(path))


def evaluate_saved(saved, split="test", data_file=None):
    """{"split", "n", "metrics"} of a saved model on a split of its run's data, or on all
    rows of a CSV file with the target column(s) (`data_file`)."""
    model = saved.model
    if data_file is not None:
        x, y = _labelled_rows(saved, data_file)
        split = os.fspath(data_file)
    else:
        if saved.record is None:
            raise NnxError(f"{saved.model_path} has no run record beside it, so its data are "
                           "unknown; give --data FILE.csv")
        config = saved.record["config"]
        try:
            data = load_data(config["data"], config.get("seed", 0), saved.model.dtype)
        except (KeyError, TypeError):
            raise NnxError(f"run {saved.record['run_id']!r}: damaged config (no data)") from None
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if x is None or not len(x):
            raise NnxError(f"run {saved.record['run_id']!r} has no {split} split "
                           f"(data.{'validation' if split == 'val' else split}_split is 0); "
                           "choose another --split or give --data FILE.csv")
    return {"split": split, "n": len(x), "metrics": model.evaluate(x, y, batch_size=EVAL_BATCH)}


def preprocessor_of(saved):
    from nnx.data import Preprocessor

    if not saved.model.preprocessing:
        raise NnxError(f"{saved.model_path} carries no preprocessing, so raw rows cannot be "
                       "turned into inputs")
    return Preprocessor.from_dict(saved.model.preprocessing)


def predict_saved(saved, input_csv, layer=None):
    """(column names, rows) of decoded predictions for the raw rows of a CSV file; with
    `layer`, the raw values of that layer (or graph node) instead, one column per value."""
    pre = preprocessor_of(saved)
    x = pre.transform_rows(os.fspath(input_csv))
    if layer is not None:
        values = saved.model.predict(x, batch_size=EVAL_BATCH, output=layer)
        values = values.reshape(len(values), -1)
        return [f"{layer}_{i}" for i in range(values.shape[1])], values.tolist()
    decoded = pre.decode_predictions(saved.model.predict(x, batch_size=EVAL_BATCH))
    if decoded and isinstance(decoded[0], list):
        width = len(decoded[0])
        names = pre.targets if pre.targets and len(pre.targets) == width else range(width)
        return [f"prediction_{name}" for name in names], decoded
    return ["prediction"], [[value] for value in decoded]


def _labelled_rows(saved, path):
    """(x, y) from a raw CSV with feature and target columns, encoded as in training."""
    import numpy as np

    from nnx.data.files import read_csv_rows, require_column

    pre = preprocessor_of(saved)
    path = os.fspath(path)
    header, rows, lines = read_csv_rows(path)
    targets = pre.targets or []
    if not targets or not all(t in header for t in targets) and pre.generated_columns:
        raise NnxError(f"{path}: the model does not name its target columns; evaluate it "
                       "through its run instead")
    for target in targets:
        require_column(path, header, target, "target")
    cells = [[row[header.index(t)].strip() for t in targets] for row in rows]
    if pre.classes is not None:
        code = {_label_key(c): i for i, c in enumerate(pre.classes)}
        y = np.empty(len(cells), dtype=np.int64)
        for i, row in enumerate(cells):
            if _label_key(row[0]) not in code:
                raise NnxError(f"{path}: line {lines[i]}: target {row[0]!r} is not one of the "
                               f"classes the model knows: {pre.classes}")
            y[i] = code[_label_key(row[0])]
        y = y.astype(np.float32)[:, None] if pre.task == "binary" else y
    else:
        try:
            y = np.array([[float(v) for v in row] for row in cells], dtype=np.float32)
        except ValueError:
            raise NnxError(f"{path}: the {pre.task} targets {targets} must be numbers") from None
    return pre.transform_rows(path), y


def _label_key(value):
    """A class label compared by value: '3', 3 and 3.0 are the same label."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)

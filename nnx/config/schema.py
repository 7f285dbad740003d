"""The experiment schema (README, "Experiment files"): raw YAML mapping -> fully resolved config.

Resolution validates every field once and fills in every default, so the run record
holds exactly what ran. Registry-backed fields (layers, optimizer, loss, schedule) are
validated by constructing them: their types and arguments come from the registries.
Checks that need the data (output width, loss vs task) happen in `nnx.experiment`.
"""

import os
import re

from nnx import layers as layers_module
from nnx import losses, optimizers, sample_weights, schedules
from nnx import metrics as metrics_module
from nnx.callbacks import EarlyStopping
from nnx.config.construct import accepted_arguments, construct, from_registry
from nnx.config.errors import ConfigError, describe, join, unknown_key
from nnx.config.search import check_search
from nnx.cores import TooMany, thread_count
from nnx.data import check_data_config
from nnx.errors import NnxError, closest
from nnx.graph_spec import GraphConfigError, resolve_graph_config
from nnx.limits import MAX_LAYERS, MAX_REPEAT

REQUIRED = object()

TOP_KEYS = {"name": REQUIRED, "seed": 0, "data": REQUIRED, "model": REQUIRED, "train": REQUIRED,
            "search": None, "diagnostics": "basic"}
MODEL_KEYS = {"layers": REQUIRED, "dtype": "float32"}
TRAIN_KEYS = {"loss": REQUIRED, "optimizer": "adam", "batch_size": 32, "epochs": 10,
              "metrics": [], "shuffle": True, "early_stopping": None, "schedule": None,
              "threads": None, "class_weight": None}
DTYPES = ("float32", "float64")
DIAGNOSTICS = ("off", "basic", "full")
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def resolve_config(raw):
    """The validated experiment with every default filled in; ConfigError at the bad field."""
    if not isinstance(raw, dict):
        raise ConfigError(None, "an experiment must be a mapping with the keys name, data, "
                                f"model and train, got {describe(raw)}")
    _check_keys(raw, "", TOP_KEYS)
    data = _data(raw["data"])
    train = _train(raw["train"])
    config = {
        "name": _name(raw["name"]),
        "seed": _seed(raw.get("seed", TOP_KEYS["seed"])),
        "data": data,
        "model": _model(raw["model"]),
        "train": train,
        "search": check_search(raw.get("search"), train=train, data=data),
        "diagnostics": _diagnostics(raw.get("diagnostics", TOP_KEYS["diagnostics"])),
    }
    _check_monitor(train, data)
    return config


# -- sections ---------------------------------------------------------------------------
def _check_keys(mapping, path, schema):
    for key in mapping:
        if key not in schema:
            raise unknown_key(path, key, list(schema),
                              what="top-level key" if not path else "key")
    for key, default in schema.items():
        if default is REQUIRED and key not in mapping:
            raise ConfigError(join(path, key), "missing; it is required")


def _section(value, path, schema):
    if not isinstance(value, dict):
        raise ConfigError(path, f"must be a mapping with keys {', '.join(schema)}, got "
                                f"{describe(value)}")
    _check_keys(value, path, schema)
    return {key: value.get(key, default) for key, default in schema.items()}


def _name(name):
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError("name", "must be 1-100 characters of letters, digits, '_', '.' or "
                                  f"'-' (it names the run files), got {describe(name)}")
    if name.startswith("."):
        raise ConfigError("name", "must not start with '.' (it names the run and study files, "
                                  f"which would be hidden), got {describe(name)}")
    return name


def _seed(seed):
    return _integer("seed", seed, minimum=0)


def _diagnostics(value):
    # YAML 1.1 reads a bare `off` as false and `on` as true.
    value = {False: "off", True: "basic"}.get(value, value) if isinstance(value, bool) else value
    if value not in DIAGNOSTICS:
        raise ConfigError("diagnostics", f"must be one of {', '.join(DIAGNOSTICS)}, got "
                                         f"{describe(value)}")
    return value


def _data(data):
    if isinstance(data, dict) and isinstance(data.get("path"), str) and data["path"]:
        data = {**data, "path": os.path.abspath(os.path.expanduser(data["path"]))}
    try:
        checked = check_data_config(data)
    except NnxError as err:
        message = str(err)
        match = re.match(r"^(data(?:\.[A-Za-z_]\w*)?)", message)
        raise ConfigError(match.group(1) if match else "data", message) from None
    source = {"dataset": checked["dataset"]} if "dataset" in checked else {"path": checked["path"]}
    if checked.get("kind") == "table":
        source.update(target=checked["target"], categorical=checked["categorical"])
    # `autoencoder`, `folds` and `sample_weight` only when set, so that the resolved config
    # (and a study's base experiment) of every other file stays as it was.
    flags = {"autoencoder": True} if checked["autoencoder"] else {}
    flags.update({k: checked[k] for k in ("folds", "sample_weight") if checked[k] is not None})
    return {**source, **{k: checked[k] for k in ("validation_split", "test_split",
                                                   "standardize", "task")},
            **flags, **checked["options"]}


def _model(model):
    if isinstance(model, dict) and ("inputs" in model or "outputs" in model):
        return _graph_model(model)
    model = _section(model, "model", MODEL_KEYS)
    specs = model["layers"]
    if not isinstance(specs, list) or not specs:
        raise ConfigError("model.layers", "the model has no layers; give a list such as "
                                          "[{type: dense, units: 1}]"
                          if specs == [] or specs is None else
                          f"must be a list of layers, got {describe(specs)}")
    resolved, count = [], 0
    for i, spec in enumerate(specs):
        path = f"model.layers.{i}"
        repeat = spec.get("repeat") if isinstance(spec, dict) else None
        if repeat is not None:
            _repeat(join(path, "repeat"), repeat)
        count += 1 if repeat is None else repeat
        if count > MAX_LAYERS:
            raise ConfigError(path, f"the model has more than {MAX_LAYERS:,} layers once "
                                    "each repeat is expanded; nnx builds at most that many")
        layer, given = from_registry(layers_module.LAYERS, spec, path, ignore=("repeat",))
        entry = {"type": given["type"], **layer.get_config()}
        if repeat is not None:
            entry["repeat"] = repeat
        resolved.append(entry)
    if model["dtype"] not in DTYPES:
        raise ConfigError("model.dtype", f"must be one of {', '.join(DTYPES)}, got "
                                         f"{describe(model['dtype'])}")
    return {"layers": resolved, "dtype": model["dtype"]}


# -- graph models: named nodes with `inputs:` lists (nnx/graph_spec.py) ------------------
GRAPH_MODEL_KEYS = {"inputs": REQUIRED, "layers": REQUIRED, "outputs": REQUIRED,
                    "dtype": "float32"}


def _graph_model(model):
    """`model: {inputs, layers, outputs, dtype}`; shapes and merges are checked when the
    data are loaded (`nnx.experiment.build_model`)."""
    model = _section(model, "model", GRAPH_MODEL_KEYS)
    if model["dtype"] not in DTYPES:
        raise ConfigError("model.dtype", f"must be one of {', '.join(DTYPES)}, got "
                                         f"{describe(model['dtype'])}")

    def make_layer(spec, path):
        return from_registry(layers_module.LAYERS, spec, path)[0]

    try:
        graph = resolve_graph_config({k: model[k] for k in ("inputs", "layers", "outputs")},
                                     make_layer=make_layer, where="model")
    except GraphConfigError as err:
        raise ConfigError(err.path, err.problem) from None
    return {**graph, "dtype": model["dtype"]}


def _train(train):
    train = _section(train, "train", TRAIN_KEYS)
    loss, _ = from_registry(losses.LOSSES, train["loss"], "train.loss")
    optimizer, _ = from_registry(optimizers.OPTIMIZERS, train["optimizer"], "train.optimizer",
                                 default_type=TRAIN_KEYS["optimizer"])
    resolved = {
        "loss": loss.get_config(),
        "optimizer": optimizer.get_config(),
        "batch_size": _batch_size(train["batch_size"]),
        "epochs": _integer("train.epochs", train["epochs"], minimum=1),
        "metrics": _metrics(train["metrics"]),
        "shuffle": _boolean("train.shuffle", train["shuffle"]),
        "early_stopping": _early_stopping(train["early_stopping"]),
        "schedule": None,
        "threads": None,
    }
    if train["schedule"] is not None:
        schedule, _ = from_registry(schedules.SCHEDULES, train["schedule"], "train.schedule")
        resolved["schedule"] = schedule.get_config()
    if train["threads"] is not None:
        resolved["threads"] = _threads(train["threads"])
    if train["class_weight"] is not None:  # only when set: other configs stay as they were
        resolved["class_weight"] = _class_weight(train["class_weight"])
    return resolved


def _class_weight(value):
    """'balanced' or {class label: weight >= 0}; the labels are checked against the data's
    classes when they are loaded (nnx.experiment.build)."""
    try:
        return sample_weights.check_class_weight(value)
    except NnxError as err:
        raise ConfigError("train.class_weight", str(err).removeprefix("class_weight: ")
                          .removeprefix("class_weight ")) from None


def _batch_size(value):
    if value is None or value == "full":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError("train.batch_size", "must be a positive integer, null or 'full' (one "
                                              f"update per epoch), got {describe(value)}")
    return value


def _metrics(specs):
    """Each metric by its log name (`{type: f1, average: micro}` is `f1_micro`), so that the
    run record, `search.metric` and the early-stopping monitor all name it the same way."""
    if specs is None:
        return []
    if isinstance(specs, (str, dict)):
        specs = [specs]
    if not isinstance(specs, list):
        raise ConfigError("train.metrics", "must be a list of metric names or {type: NAME, "
                                           f"...}} mappings, got {describe(specs)}")
    names = []
    for i, spec in enumerate(specs):
        path = f"train.metrics.{i}"
        if spec == "loss":
            raise ConfigError(path, "the loss is always recorded; list only metrics: "
                                    f"{', '.join(metrics_module.METRICS.names())}")
        try:
            name = metrics_module.log_name(spec)
        except metrics_module.MetricError as err:
            raise ConfigError(join(path, err.argument) if err.argument else path,
                              str(err)) from None
        if name in names:
            raise ConfigError(path, f"the metric {name!r} is listed twice")
        names.append(name)
    return names


def _early_stopping(value):
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError("train.early_stopping", "must be a mapping such as {monitor: "
                                                  f"val_loss, patience: 5}}, got {describe(value)}")
    construct(EarlyStopping, value, "train.early_stopping", "early_stopping")
    return {key: value.get(key, p.default) for key, p in accepted_arguments(EarlyStopping).items()}


def _check_monitor(train, data):
    stopping = train["early_stopping"]
    if stopping is None:
        return
    if isinstance(stopping["monitor"], str):  # `val_top_k_accuracy` is logged by its k
        stopping["monitor"] = metrics_module.canonical(stopping["monitor"])
    monitor = stopping["monitor"]
    logged = ["loss", *train["metrics"]]
    allowed = logged + [f"val_{name}" for name in logged]
    path = "train.early_stopping.monitor"
    if monitor not in allowed:
        hint = closest(monitor, allowed) if isinstance(monitor, str) else None
        raise ConfigError(path, f"cannot monitor {describe(monitor)}; the logs will have: "
                                f"{', '.join(allowed)}" + (f" (did you mean {hint!r}?)" if hint
                                                           else ""))
    if monitor.startswith("val_") and data["validation_split"] == 0:
        raise ConfigError(path, f"{monitor!r} needs validation data, but data.validation_split "
                                "is 0; monitor 'loss' or set a validation_split")


# -- scalars ----------------------------------------------------------------------------
def _integer(path, value, minimum=None):
    if isinstance(value, bool) or not isinstance(value, int) or (
            minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ConfigError(path, f"must be an integer{bound}, got {describe(value)}")
    return value


def _threads(value):
    """A positive count; one far above the cores (a typo) is refused here, before any run,
    the rest is capped at the cores when the run starts."""
    _integer("train.threads", value, minimum=1)
    try:
        thread_count(value, "train.threads")
    except TooMany as err:
        raise ConfigError("train.threads", err.problem) from None
    return value


def _repeat(path, value):
    _integer(path, value, minimum=1)
    if value > MAX_REPEAT:
        raise ConfigError(path, f"must be at most {MAX_REPEAT:,} (copies of one layer), got "
                                f"{value}")
    return value


def _boolean(path, value):
    if not isinstance(value, bool):
        raise ConfigError(path, f"must be true or false, got {describe(value)}")
    return value


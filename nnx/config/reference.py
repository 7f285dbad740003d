"""Every key an experiment file may hold, with its type, default and allowed values: what
`nnx schema` prints.

This is not a second schema. The keys and their defaults come from the tables the
validator checks files against (`nnx.config.schema`, `nnx.data.validate`,
`nnx.config.search`, `nnx.config.space`, `nnx.graph_spec`), the allowed values from the
same name tuples and registries, and the arguments of a layer, loss, optimizer or schedule
from its constructor's signature, as `nnx.config.construct` reads them. What this module
adds is words: the type and a line about each fixed key (`DOCS`). A key the validator
accepts without words here, or words for a key it refuses, fail the tests.
"""

from dataclasses import dataclass
from functools import cache

from nnx import activations, initializers, losses, optimizers, regularizers, schedules
from nnx.callbacks import MODES, EarlyStopping
from nnx.config import schema, search, space
from nnx.config.construct import accepted_arguments
from nnx.config.search_names import METHODS, PRUNERS
from nnx.costs import COSTS
from nnx.data import validate
from nnx.data.builtin import DATASETS
from nnx.data.targets import TASKS
from nnx.errors import NnxError, closest
from nnx.graph_spec import NODE_KEYS
from nnx.layers import LAYERS
from nnx.limits import MAX_REPEAT
from nnx.metrics import METRICS

SECTIONS = tuple(schema.TOP_KEYS)
LAYER = "model.layers.N"
PARAMETER = "search.space.PATH"
OBJECTIVE = "search.objectives.N"
METRIC = "train.metrics.N"
GRAPH = "graph model"  # the variant of the keys only a graph model has
INPUT_KEYS = ("name", "shape")  # of a graph model's input (its validator names them in words)

# path -> (type, what it does). Registry arguments are described by their constructors.
DOCS = {
    "name": ("text", "names the run and its files: 1-100 letters, digits, '_', '.', '-'"),
    "seed": ("integer >= 0", "draws the split, the initial weights and the batches"),
    "data": ("mapping", "where the examples come from: `dataset` or `path`, and the splits"),
    "model": ("mapping", "the network: a list of `layers`, or a graph of named nodes"),
    "train": ("mapping", "how the model learns: loss, optimizer, batches, epochs, metrics"),
    "search": ("mapping", "what `nnx search` explores: metric (or objectives), method, "
                          "trials, space"),
    "diagnostics": ("name", "what the run records about training: dead units, gradient flow, "
                            "overfitting"),
    "data.dataset": ("name", "a built-in dataset (`nnx datasets`), its options beside it; "
                             "give this or data.path"),
    "data.path": ("file", "a .csv file (header row) or an .npz file with arrays x and y, "
                          "relative to the experiment file; give this or data.dataset"),
    "data.target": ("column or list", "CSV only: the target column(s)"),
    "data.categorical": ("list of columns", "CSV only: text columns, one-hot encoded"),
    "data.validation_split": ("fraction in [0, 1)", "rows held out for validation "
                                                    "(early stopping, search metric)"),
    "data.test_split": ("fraction in [0, 1)", "rows held out for the final test"),
    "data.standardize": ("true/false", "scale each feature to mean 0, std 1 (fitted on the "
                                       "training rows)"),
    "data.task": ("name or null", "the task the target poses; null: inferred (text or few "
                                  "integers: classes, numbers: regression)"),
    "data.autoencoder": ("true/false", "the targets are the features themselves"),
    "data.folds": ("integer >= 2 or null", "cross-validate: K models, fold k validating, on "
                                           "the rows outside the test split (stratified)"),
    "data.sample_weight": ("column or null", "CSV/Parquet only: a column of loss weights "
                                             ">= 0 per row (not a feature)"),
    "model.layers": ("list", "the layers in order, each {type: NAME, ...arguments}"),
    "model.dtype": ("name", "the float type of weights and computation"),
    f"{LAYER}.type": ("name", "the layer type; its arguments are listed below"),
    f"{LAYER}.repeat": (f"integer in [1, {MAX_REPEAT}]",
                        "this layer N times in a row (searchable)"),
    "model.inputs": ("list", "graph model: the inputs, each {name, shape}"),
    "model.outputs": ("list of names", "graph model: the nodes whose values the model outputs"),
    "model.inputs.N.name": ("text", "graph model: the input's node name"),
    "model.inputs.N.shape": ("list of integers", "graph model: one sample's shape (default: "
                                                 "the data's)"),
    f"{LAYER}.name": ("text", "graph model: the node's name (a layer's name otherwise)"),
    f"{LAYER}.inputs": ("name or list", "graph model: the nodes this one reads"),
    f"{LAYER}.share": ("name", "graph model: call the layer of this earlier node again "
                               "(shared weights) instead of a `type`"),
    "train.loss": ("name or mapping", "the loss, {type: NAME, ...arguments}; must fit the task"),
    "train.optimizer": ("name or mapping", "the optimizer, {type: NAME, ...arguments}"),
    "train.batch_size": ("integer >= 1, null or 'full'",
                         "examples per update; null or 'full': the whole training set"),
    "train.epochs": ("integer >= 1", "passes over the training rows (early stopping may end "
                                     "sooner)"),
    "train.metrics": ("list of names", "metrics recorded besides the loss, on every split"),
    f"{METRIC}.type": ("name", "a metric given as {type: NAME, ...arguments}; logged by its "
                               "values (f1_micro, top_3_accuracy)"),
    "train.shuffle": ("true/false", "shuffle the training rows every epoch"),
    "train.early_stopping": ("mapping, true or null",
                             "stop when the monitored value stops improving"),
    "train.schedule": ("name, mapping or null", "the learning-rate schedule, {type: NAME, ...}"),
    "train.threads": ("integer >= 1 or null", "threads for the kernels and BLAS; null: every "
                                              "core"),
    "train.class_weight": ("'balanced', mapping or null", "weight each training row's loss "
                                                          "by its class: {label: weight}"),
    "train.loss.type": ("name", "the loss"),
    "train.optimizer.type": ("name", "the optimizer"),
    "train.schedule.type": ("name", "the schedule"),
    "train.early_stopping.monitor": ("name", "loss, a metric of train.metrics, or either "
                                             "with val_ in front"),
    "train.early_stopping.patience": ("integer >= 1", "epochs without improvement before "
                                                      "stopping"),
    "train.early_stopping.min_delta": ("number >= 0", "the smallest change that counts as "
                                                      "improvement"),
    "train.early_stopping.mode": ("name", "auto (from the monitored name), min or max"),
    "train.early_stopping.restore_best_weights": ("true/false", "end with the weights of the "
                                                                "best epoch"),
    "search.metric": ("name", "the value trials are ranked by: val_loss or val_<metric>"),
    "search.direction": ("name or null", "null: maximize for accuracy-like metrics, else "
                                         "minimize"),
    "search.objectives": ("list or null", "several objectives instead of metric and "
                                          "direction, each {metric, direction}: a Pareto "
                                          "front is searched"),
    f"{OBJECTIVE}.metric": ("name", "val_loss, val_<metric>, or a cost every run measures: "
                                    + ", ".join(COSTS.names())),
    f"{OBJECTIVE}.direction": ("name or null", "null: maximize for accuracy-like metrics, "
                                               "else minimize"),
    "search.method": ("name", "how trials are proposed (`--method` overrides it)"),
    "search.n_trials": ("integer >= 1", "trials one `nnx search` runs (`--n-trials` "
                                        "overrides it)"),
    "search.pruner": ("name", "stops hopeless trials early, on their per-epoch values"),
    "search.space": ("mapping", "experiment paths (as for --set) -> parameters, below"),
    f"{PARAMETER}.type": ("name", "float, int (ranges) or categorical (a list of choices)"),
    f"{PARAMETER}.low": ("number", "float/int (required there): the smallest value"),
    f"{PARAMETER}.high": ("number", "float/int (required there): the largest value, "
                                    "included"),
    f"{PARAMETER}.step": ("number > 0 or null", "float/int: values low, low+step, ... (a grid "
                                                "needs it for floats)"),
    f"{PARAMETER}.log": ("true/false", "float/int: sample on a log scale (low > 0)"),
    f"{PARAMETER}.choices": ("list", "categorical (required there): the values (numbers, "
                                     "names, true/false, null)"),
    f"{PARAMETER}.when": ("mapping", "only when other parameters hold these values: "
                                     "{PATH: value} or {PATH: [values]}"),
}

# Arguments whose values come from a registry (validation asks the same registries, through
# the constructors).
ARGUMENT_VALUES = {
    "activation": activations.ACTIVATIONS, "init": initializers.INITIALIZERS,
    "bias_init": initializers.INITIALIZERS, "recurrent_init": initializers.INITIALIZERS,
    "kernel_regularizer": regularizers.REGULARIZERS,
}

# The optional keys of a searched parameter, with the values a missing one means.
SPACE_DEFAULTS = {"step": None, "log": False, "when": None}

# The mappings whose `type` names a registry entry, and that registry.
REGISTRIES = {LAYER: LAYERS, "train.loss": losses.LOSSES, "train.optimizer": optimizers.OPTIMIZERS,
              "train.schedule": schedules.SCHEDULES}

SPACE_EXAMPLE = """\
search:
  metric: val_accuracy
  space:
    train.optimizer.lr: {type: float, low: 1.0e-4, high: 0.1, log: true}
    train.batch_size: {type: categorical, choices: [16, 32, 64]}
    model.layers.0.units: {type: int, low: 16, high: 256, step: 16}
    model.layers.0.repeat: {type: int, low: 1, high: 3}
    train.optimizer.type: {type: categorical, choices: [adam, sgd]}
    train.optimizer.momentum:
      {type: float, low: 0.0, high: 0.9, when: {train.optimizer.type: sgd}}
"""


@dataclass(frozen=True)
class Field:
    """One key: `path` as --set writes it (N: a list index, PATH: a searched path);
    `variant`: the type or dataset the key belongs to (the `dense` of `units`)."""

    path: str
    kind: str
    default: object = None
    required: bool = False
    allowed: tuple = ()
    doc: str = ""
    variant: str | None = None

    @property
    def key(self):
        return self.path.rsplit(".", 1)[-1]

    def to_json(self):
        return {"path": self.path, "variant": self.variant, "type": self.kind,
                "required": self.required, "default": None if self.required else self.default,
                "allowed": list(self.allowed), "doc": self.doc}


@cache
def fields():
    """Every key of an experiment file, section by section."""
    return (_top() + _data() + _model() + _train() + _search())


def section_fields(section=None):
    """The fields under `section` (a top-level key or any dotted prefix such as
    `train.optimizer`); NnxError naming the closest section when none match."""
    if not section:
        return [f for f in fields() if "." not in f.path]
    chosen = [f for f in fields() if f.path == section or f.path.startswith(section + ".")]
    if not chosen:
        known = list(dict.fromkeys(p for f in fields() for p in _prefixes(f.path)))
        hint = closest(section, known)
        raise NnxError(f"no experiment field {section!r}; sections: {', '.join(SECTIONS)}"
                       + (f" (did you mean {hint!r}?)" if hint else ""))
    return chosen


def field_named(key):
    """The path of the first field called `key` (`epochs` -> `train.epochs`), or None."""
    return next((f.path for f in fields() if f.key == key and "N" not in f.path.split(".")
                 and "PATH" not in f.path), None)


def _prefixes(path):
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _field(path, default=None, required=False, allowed=()):
    kind, doc = DOCS[path]
    return Field(path, kind, default, required, tuple(allowed), doc)


def _keys(prefix, table, allowed=None):
    """Fields from a validator table {key: default} (`schema.REQUIRED` marks a required key)."""
    allowed = allowed or {}
    out = []
    for key, default in table.items():
        path = f"{prefix}.{key}" if prefix else key
        required = default is schema.REQUIRED
        out.append(_field(path, None if required else default, required, allowed.get(key, ())))
    return out


def _arguments(prefix, registry, default_type=None):
    """The `type` of a registry-backed mapping, then each entry's constructor arguments."""
    out = [_field(f"{prefix}.type", default_type, default_type is None, registry.names())]
    canonical = {}
    for name, factory in registry.items():
        if factory in canonical.values():
            continue  # an alias: its arguments are its target's
        canonical[name] = factory
        for key, parameter in accepted_arguments(factory).items():
            required = parameter.default is parameter.empty
            default = None if required else parameter.default
            values = ARGUMENT_VALUES.get(key)
            out.append(Field(f"{prefix}.{key}", _kind_of(default, required), default,
                             required, tuple(values.names()) if values else (), variant=name))
    return out


def _kind_of(default, required):
    if isinstance(default, bool):
        return "true/false"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, float):
        return "number"
    if isinstance(default, str):
        return "name"
    return "value" if required or default is None else type(default).__name__


def aliases(registry):
    """{alias: the name it stands for} of a registry (`bce` -> `binary_crossentropy`)."""
    first = {}
    out = {}
    for name, factory in registry.items():
        if factory in first:
            out[name] = first[factory]
        else:
            first[factory] = name
    return out


# -- sections -----------------------------------------------------------------------------
def _top():
    return _keys("", schema.TOP_KEYS, {"diagnostics": schema.DIAGNOSTICS})


def _data():
    out = [_field("data.dataset", required=True, allowed=DATASETS.names()),
           _field("data.path", required=True)]
    out += _keys("data", validate.COMMON_KEYS, {"task": TASKS})
    out += _keys("data", validate.CSV_KEYS)
    for name, info in DATASETS.items():
        for key, option in info.options.items():
            kind = "integer" if isinstance(option.default, int) else "number"
            if option.high is None:
                kind += "" if option.low is None else f" >= {option.low}"
            else:
                kind += f" in [{option.low}, {option.high}]"
            out.append(Field(f"data.{key}", kind, option.default, variant=name,
                             doc="an option of the dataset"))
    return out


def _model():
    out = _keys("model", schema.MODEL_KEYS, {"dtype": schema.DTYPES})
    out.append(_field(f"{LAYER}.repeat"))
    out += _arguments(LAYER, REGISTRIES[LAYER])
    graph_only = [k for k in schema.GRAPH_MODEL_KEYS if k not in schema.MODEL_KEYS]
    out += [_graph(_field(f"model.{key}", required=True)) for key in graph_only]
    out += [_graph(_field(f"model.inputs.N.{key}", required=key == "name"))
            for key in INPUT_KEYS]
    out += [_graph(_field(f"{LAYER}.{key}", required=key in ("name", "inputs")))
            for key in NODE_KEYS]
    return out


def _graph(field):
    return Field(field.path, field.kind, field.default, field.required, field.allowed,
                 field.doc, GRAPH)


def _metric_arguments():
    """A metric as a mapping: its type, then each metric's arguments (the registry's)."""
    out = [_field(f"{METRIC}.type", required=True, allowed=METRICS.names())]
    for name, metric in METRICS.items():
        out += [Field(f"{METRIC}.{a.name}", "name or null" if a.choices else
                      f"integer >= {a.minimum}", a.default, False, a.choices, a.doc,
                      variant=name) for a in metric.arguments]
    return out


def _train():
    out = _keys("train", schema.TRAIN_KEYS, {"metrics": METRICS.names()})
    out += _metric_arguments()
    out += _arguments("train.loss", REGISTRIES["train.loss"])
    out += _arguments("train.optimizer", REGISTRIES["train.optimizer"],
                      schema.TRAIN_KEYS["optimizer"])
    out += _arguments("train.schedule", REGISTRIES["train.schedule"])
    stopping = {key: p.default for key, p in accepted_arguments(EarlyStopping).items()}
    out += _keys("train.early_stopping", stopping, {"mode": MODES})
    return out


def _search():
    out = _keys("search", search.SEARCH_KEYS, {
        "direction": search.DIRECTIONS, "method": METHODS.names(), "pruner": PRUNERS.names()})
    out += [_field(f"{OBJECTIVE}.metric", required=True),
            _field(f"{OBJECTIVE}.direction", allowed=search.DIRECTIONS)]
    keys = list(dict.fromkeys(k for kind in space.PARAMETER_TYPES for k in space.KEYS[kind]))
    out += [_field(f"{PARAMETER}.{key}", SPACE_DEFAULTS.get(key), key not in SPACE_DEFAULTS,
                   space.PARAMETER_TYPES if key == "type" else ())
            for key in keys]
    return out

"""From an experiment config to a compiled model: every check that needs the data.

`prepare` resolves the config, loads the data and builds the model, and refuses anything
that does not fit (the loss or a metric for the data's task, the output width and
activation, the memory training would need) with a ConfigError at the config path, before
anything is written. `nnx validate` calls it too, so it loads no kernels.
"""

from contextlib import nullcontext
from dataclasses import dataclass

from nnx import limits, losses, metrics, optimizers
from nnx.config import ConfigError, resolve_config
from nnx.data import DataSplits, load_data, reads_on_all_cores
from nnx.data.preprocessing import label_key
from nnx.errors import NnxError
from nnx.experiment.runtime import kernels_loading
from nnx.graph_spec import GraphConfigError
from nnx.model import Sequential, build_graph


@dataclass
class Prepared:
    """A checked experiment, ready to fit: resolved config, loaded data (with `data.cv`, the
    first fold's), compiled model (a Sequential, or a graph Model), and `train.class_weight`
    as fit takes it (`class_weight_of`)."""

    config: dict
    data: DataSplits
    model: object
    class_weight: dict | str | None = None


def prepare(config, source=None, load_kernels=False):
    """Resolve `config`, load its data and build its model; ConfigError for anything wrong.
    With `load_kernels` (a run about to train), the kernels' compiler loads on a second
    thread while the data are read (`runtime.kernels_loading`), unless their reading
    keeps every core busy already (a CSV table)."""
    try:
        config = resolve_config(config)
        beside = load_kernels and not reads_on_all_cores(config["data"])
        loading = kernels_loading(config["train"]["threads"]) if beside else nullcontext()
        try:
            with loading:
                data = load_data(config["data"], config["seed"], config["model"]["dtype"])
        except ConfigError:
            raise
        except NnxError as err:
            raise ConfigError("data", str(err)) from None
        check_task(config, data)
        class_weight = class_weight_of(config, data)
        model = build_model(config, data)
    except ConfigError as err:
        err.source = err.source or source
        raise
    return Prepared(config, data, model, class_weight)


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
    """The loss and metrics must suit the task the data pose (each loss and metric says
    which tasks it fits)."""
    task, loss = data.task, config["train"]["loss"]["type"]
    if task not in losses.LOSSES.get(loss).tasks:
        raise ConfigError("train.loss", f"{loss!r} does not fit the {task} task of "
                                        f"{data.name!r}; use {' or '.join(_losses_for(task))}")
    for i, metric in enumerate(config["train"]["metrics"]):
        problem = metrics.misfit(metric, task, data.n_classes, f"{data.name!r}")
        if problem:
            raise ConfigError(f"train.metrics.{i}", f"{metric!r} {problem}")


def class_weight_of(config, data):
    """`train.class_weight` as fit takes it: "balanced", {class code: weight} for the data's
    class labels, or None; ConfigError for a task without classes or a label the data lack."""
    given = config["train"].get("class_weight")
    if given is None:
        return None
    if data.task not in ("binary", "multiclass"):
        raise ConfigError("train.class_weight", f"applies to binary and multiclass tasks; the "
                                                f"data of {data.name!r} pose a {data.task} task "
                                                "(per-row weights: data.sample_weight)")
    if given == "balanced":
        return given
    classes = data.preprocessing.classes
    code_of = {label_key(label): code for code, label in enumerate(classes)}
    codes = {}
    for label, weight in given.items():
        code = code_of.get(label_key(label))
        if code is None:
            shown = ", ".join(repr(c) for c in classes[:10]) + (", ..." if len(classes) > 10
                                                                else "")
            hint = (" (YAML reads an unquoted yes, no, on, off as true or false: quote the "
                    "label)" if isinstance(label, bool) else "")
            raise ConfigError("train.class_weight", f"names class {label!r}, which the data of "
                                                    f"{data.name!r} do not have; classes: "
                                                    f"{shown}{hint}")
        codes[code] = weight
    return codes


def _losses_for(task):
    """The loss names that fit `task`, those made for fewer tasks first (the cross-entropy
    of a classification before the regression losses that also fit it)."""
    classes = dict.fromkeys(cls for _, cls in losses.LOSSES.items() if task in cls.tasks)
    return [cls.name for cls in sorted(classes, key=lambda cls: len(cls.tasks))]


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
    return _compiled(config, model)


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
    return _compiled(config, model)


def _compiled(config, model):
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
    """A loss on probabilities (a cross-entropy) needs the activation it fuses with on the
    last layer, unless it is given logits."""
    loss = config["train"]["loss"]
    needed = losses.LOSSES.get(loss["type"]).fused_activation
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

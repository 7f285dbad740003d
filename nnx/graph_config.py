"""A graph model in a config (experiment files and the model file's `__nnx__` JSON):

    inputs:  [{name: x, shape: [64]}]              # shape may come from the data
    layers:                                        # in order: a node uses earlier ones
      - {name: h, type: dense, units: 32, activation: relu, inputs: [x]}   # a new layer
      - {name: h2, share: h, inputs: [x2]}         # h's layer again (shared weights)
      - {name: s, type: add, inputs: [h, x]}       # merge layers take several inputs
    outputs: [s]

A node entry either makes a layer (`type` and its constructor's keywords; the layer is
named after the node) or reuses the layer of an earlier node (`share`). `inputs` is a node
name or a list of them. Every node must lead to an output.

`resolve_graph_config` checks all that needs no shapes (for `nnx validate` before the data
load) and returns the normalized form; `graph_from_config` builds the model. Errors are
GraphConfigError, an NnxError with the field `path` (`model.layers.2.inputs.0`) and the
`problem`, so the experiment schema can re-raise them as its own ConfigError.
"""

from nnx.errors import NnxError, closest
from nnx.graph import Input, Model
from nnx.layers.base import snake_case
from nnx.limits import TooBig

KEYS = ("inputs", "layers", "outputs")
MODEL_FILE_KEYS = ("class", "name", "seed", "dtype", "compile")  # what get_config adds
NODE_KEYS = ("name", "inputs", "share")


class GraphConfigError(NnxError):
    """A bad graph description: `path` is the field, `problem` what is wrong with it."""

    def __init__(self, path, problem):
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path, self.problem = path, problem


def resolve_graph_config(config, make_layer=None, where=""):
    """The graph with every layer's arguments filled in ({inputs, layers, outputs});
    GraphConfigError for a bad structure or layer. `make_layer(spec, path)` builds a layer
    from `{type, name, ...}` (default: the layer registry); `where` prefixes the paths."""
    make_layer = make_layer or _registry_layer
    if not isinstance(config, dict):
        raise GraphConfigError(where, f"a graph model must be a mapping with inputs, layers "
                                      f"and outputs, got {type(config).__name__}")
    for key in config:
        if key not in KEYS + MODEL_FILE_KEYS:
            raise GraphConfigError(_join(where, key), "unknown key; a graph model has inputs, "
                                                      "layers, outputs and dtype")
    # node name -> its inputs; layer node name -> (the node that made its layer, type, merges)
    known, layers_of = {}, {}
    inputs = [_input_spec(spec, known, _join(where, "inputs", i))
              for i, spec in enumerate(_listed(config.get("inputs"), _join(where, "inputs"),
                                               "inputs such as [{name: x, shape: [64]}]"))]
    entries = _listed(config.get("layers"), _join(where, "layers"),
                      "layers such as [{name: h, type: dense, units: 8, inputs: [x]}]")
    layers = [_layer_spec(entry, known, layers_of, make_layer, _join(where, "layers", i))
              for i, entry in enumerate(entries)]
    out_path = _join(where, "outputs")
    outputs = _names(config.get("outputs"), out_path)
    for k, name in enumerate(outputs):
        _known(name, known, _join(out_path, k), "an output")
    _check_all_used(layers, outputs, where)
    return {"inputs": inputs, "layers": layers, "outputs": outputs}


def graph_from_config(config, seed=0, dtype="float32", name=None, input_shapes=None,
                      make_layer=None, where=""):
    """The built (uncompiled) Model that `config` describes. `input_shapes` (a list in input
    order, or a dict by name) gives the shapes the config leaves out."""
    resolved = resolve_graph_config(config, make_layer, where)
    nodes, inputs = {}, []
    for i, spec in enumerate(resolved["inputs"]):
        shape = spec.get("shape")
        if shape is None and input_shapes is not None:
            shape = (input_shapes.get(spec["name"]) if isinstance(input_shapes, dict)
                     else input_shapes[i] if i < len(input_shapes) else None)
        path = _join(where, "inputs", i, "shape")
        if shape is None:
            raise GraphConfigError(path, "missing; give the shape of one sample, e.g. [64]")
        try:
            nodes[spec["name"]] = Input(tuple(shape), name=spec["name"])
        except (NnxError, TypeError) as err:
            raise GraphConfigError(path, str(err)) from None
        inputs.append(nodes[spec["name"]])
    layer_of, index_of = {}, {}
    for i, entry in enumerate(resolved["layers"]):
        path = _join(where, "layers", i)
        sources = [nodes[n] for n in entry["inputs"]]
        if "share" in entry:
            layer = layer_of[entry["share"]]
        else:
            layer = _registry_layer({k: v for k, v in entry.items() if k != "inputs"}, path)
        multi = getattr(layer, "multi_input", False)
        try:
            node = layer(sources if multi else sources[0])
        except NnxError as err:
            shapes = ", ".join(f"{n} {nodes[n].shape}" for n in entry["inputs"])
            raise GraphConfigError(path, f"{err} (its inputs: {shapes})") from None
        node.name = entry["name"] if "share" in entry else None  # a first call: the layer's
        nodes[entry["name"]] = node
        layer_of[entry["name"]] = layer
        index_of.setdefault(id(layer), i)
    try:
        return Model(inputs, [nodes[n] for n in resolved["outputs"]], name=name, seed=seed,
                     dtype=dtype)
    except TooBig as err:  # named by the config entry that makes the layer
        index = index_of.get(id(err.layer))
        path = _join(where, "layers", index) if index is not None else where or "model"
        raise TooBig(path, err.problem, err.layer) from None
    except NnxError as err:
        raise GraphConfigError(where, str(err)) from None


# -- parts --------------------------------------------------------------------------------
def _join(where, *keys):
    return ".".join(str(k) for k in (where, *keys) if k != "")


def _registry_layer(spec, path):
    from nnx import layers as layers_module

    try:
        return layers_module.from_config(spec)
    except NnxError as err:
        raise GraphConfigError(path, str(err)) from None


def _listed(value, path, example):
    if not isinstance(value, list) or not value:
        raise GraphConfigError(path, f"missing or empty; give a list of {example}")
    return value


def _names(value, path):
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise GraphConfigError(path, f"must be a node name or a list of node names, got "
                                     f"{value!r}")
    return list(value)


def _known(name, known, path, what):
    if name not in known:
        hint = closest(name, list(known))
        raise GraphConfigError(path, f"unknown node {name!r} for {what}; the nodes defined "
                                     f"before it: {', '.join(known) or 'none'}"
                               + (f" (did you mean {hint!r}?)" if hint else ""))


def _new_name(spec, known, path):
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise GraphConfigError(_join(path, "name"), f"missing; every node needs a name, got "
                                                    f"{name!r}")
    if name in known:
        raise GraphConfigError(_join(path, "name"), f"the name {name!r} is used twice")
    return name


def _input_spec(spec, known, path):
    if not isinstance(spec, dict):
        raise GraphConfigError(path, f"must be a mapping {{name: ..., shape: [...]}}, got "
                                     f"{spec!r}")
    for key in spec:
        if key not in ("name", "shape"):
            raise GraphConfigError(_join(path, key), "unknown key; an input has name and shape")
    name = _new_name(spec, known, path)
    known[name] = []
    shape = spec.get("shape")
    if shape is not None:
        try:
            Input(tuple(shape) if isinstance(shape, list) else shape)
        except NnxError as err:
            raise GraphConfigError(_join(path, "shape"), str(err)) from None
        shape = [int(d) for d in (shape if isinstance(shape, (list, tuple)) else [shape])]
    return {"name": name, "shape": shape}


def _layer_spec(entry, known, layers_of, make_layer, path):
    if not isinstance(entry, dict):
        raise GraphConfigError(path, f"must be a mapping with name, type (or share) and "
                                     f"inputs, got {entry!r}")
    name = _new_name(entry, known, path)
    in_path = _join(path, "inputs")
    inputs = _names(entry.get("inputs"), in_path)
    for k, source in enumerate(inputs):
        _known(source, known, _join(in_path, k), f"the inputs of {name!r}")
    if "share" in entry:
        for key in entry:
            if key not in NODE_KEYS:
                raise GraphConfigError(_join(path, key), "a shared call takes only name, share "
                                                         "and inputs")
        target = entry["share"]
        if target not in layers_of:
            raise GraphConfigError(_join(path, "share"), f"{target!r} is not a layer node "
                                   f"defined before; share one of: "
                                   f"{', '.join(layers_of) or 'none'}")
        owner, kind, multi = layers_of[target]
        resolved = {"name": name, "share": owner, "inputs": inputs}
    else:
        if "type" not in entry:
            raise GraphConfigError(_join(path, "type"), "missing; give a layer type, or "
                                                        "share: <node> to reuse a layer")
        layer = make_layer({k: v for k, v in entry.items() if k != "inputs"}, path)
        owner, kind = name, snake_case(type(layer).__name__)
        multi = getattr(layer, "multi_input", False)
        args = {k: v for k, v in layer.get_config().items() if k != "name"}
        resolved = {"name": name, "type": kind, **args, "inputs": inputs}
    if not multi and len(inputs) != 1:
        raise GraphConfigError(in_path, f"a {kind} layer takes one input, got {len(inputs)}")
    if multi and len(inputs) < 2:
        raise GraphConfigError(in_path, f"a {kind} layer merges two or more inputs")
    layers_of[name] = (owner, kind, multi)
    known[name] = inputs
    return resolved


def _check_all_used(layers, outputs, where):
    needed, stack = set(), list(outputs)
    inputs_of = {entry["name"]: entry["inputs"] for entry in layers}
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack.extend(inputs_of.get(name, []))
    for i, entry in enumerate(layers):
        if entry["name"] not in needed:
            raise GraphConfigError(_join(where, "layers", i), f"the node {entry['name']!r} "
                                   "leads to no output; remove it or list it in outputs")


__all__ = ["GraphConfigError", "resolve_graph_config", "graph_from_config"]

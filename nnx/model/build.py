"""Models from descriptions: a model config (`get_config()`, an experiment's `model:`
section) or a model file. The engine knows neither; this module knows both kinds of model.
"""

from nnx.errors import NnxError
from nnx.graph_spec import GraphConfigError, join, registry_layer, resolve_graph_config
from nnx.limits import TooBig
from nnx.model.functional import Model
from nnx.model.io import read_model_file
from nnx.model.sequential import Sequential
from nnx.nodes import Input


def from_config(config, input_shapes=None):
    """The built model a `get_config()` describes (uncompiled; `load_model` compiles it).

    A config with `inputs` (or `class: Model`) is a graph (`build_graph`); otherwise a
    Sequential of `layers`. `input_shapes` fills shapes the config leaves out (an
    experiment's data decide them): one per input, or a dict by input name.
    """
    if not isinstance(config, dict):
        raise NnxError(f"a model config must be a mapping, got {type(config).__name__}")
    seed, dtype = config.get("seed", 0), config.get("dtype", "float32")
    if config.get("class") == "Model" or "inputs" in config:
        return build_graph(config, seed=seed, dtype=dtype, name=config.get("name"),
                           input_shapes=input_shapes)
    shape = config.get("input_shape")
    if shape is None and input_shapes:
        shape = input_shapes[0]
    return Sequential(config["layers"], input_shape=shape, seed=seed, dtype=dtype,
                      name=config.get("name"))


def build_graph(config, seed=0, dtype="float32", name=None, input_shapes=None, where=""):
    """The built (uncompiled) graph Model that `config` ({inputs, layers, outputs}, as
    `resolve_graph_config` gives it or a model file holds it) describes. `input_shapes` (a
    list in input order, or a dict by name) gives the shapes the config leaves out; errors
    are GraphConfigError (TooBig for a model too big) with paths under `where`."""
    resolved = resolve_graph_config(config, where=where)
    nodes, inputs = {}, []
    for i, spec in enumerate(resolved["inputs"]):
        shape = spec.get("shape")
        if shape is None and input_shapes is not None:
            shape = (input_shapes.get(spec["name"]) if isinstance(input_shapes, dict)
                     else input_shapes[i] if i < len(input_shapes) else None)
        path = join(where, "inputs", i, "shape")
        if shape is None:
            raise GraphConfigError(path, "missing; give the shape of one sample, e.g. [64]")
        try:
            nodes[spec["name"]] = Input(tuple(shape), name=spec["name"])
        except (NnxError, TypeError) as err:
            raise GraphConfigError(path, str(err)) from None
        inputs.append(nodes[spec["name"]])
    layer_of, index_of = {}, {}
    for i, entry in enumerate(resolved["layers"]):
        path = join(where, "layers", i)
        sources = [nodes[n] for n in entry["inputs"]]
        if "share" in entry:
            layer = layer_of[entry["share"]]
        else:
            layer = registry_layer({k: v for k, v in entry.items() if k != "inputs"}, path)
        try:
            node = layer(sources if layer.multi_input else sources[0])
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
        path = join(where, "layers", index) if index is not None else where or "model"
        raise TooBig(path, err.problem, err.layer) from None
    except NnxError as err:
        raise GraphConfigError(where, str(err)) from None


def load_model(path):
    """The model saved at `path`, compiled as it was when saved; its preprocessing dict is
    available as `model.preprocessing`."""
    meta, arrays = read_model_file(path)
    config = meta.get("model") or {}
    try:
        model = from_config(config)  # a Sequential, or a graph (`class: Model`)
        if "compile" in config:
            model.compile(**config["compile"])
    except (KeyError, TypeError) as err:
        raise NnxError(f"{path!r} has a damaged model config ({err!r})") from None
    except TooBig as err:
        raise NnxError(f"{path!r}: {err}") from None
    expected = set()
    for i, layer in enumerate(model.layers):
        for table in (layer.params, layer.state):
            for key in table:
                name = f"layers/{i}.{layer.name}/{key}"
                expected.add(name)
                if name not in arrays:
                    raise NnxError(f"{path!r} lacks the array {name!r}")
                if arrays[name].shape != table[key].shape:
                    raise NnxError(f"{path!r}: {name} has shape {arrays[name].shape}, the layer "
                                   f"needs {table[key].shape}")
                table[key][...] = arrays[name]
    extra = sorted(set(arrays) - expected)
    if extra:
        raise NnxError(f"{path!r} holds arrays no layer uses: {', '.join(extra[:5])}")
    model.preprocessing = meta.get("preprocessing")
    return model

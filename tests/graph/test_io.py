"""Graph models in files: the npz round trip (predictions, config, compile state), the file
layout, and the graph syntax of experiment files (`build_graph`, `nnx.model.from_config`)
with errors that name the field."""

import json

import numpy as np
import pytest

import nnx
from nnx import NnxError, layers, optimizers
from nnx.graph_spec import GraphConfigError, resolve_graph_config
from nnx.model import build_graph, from_config

RNG = np.random.default_rng(4)
XA, XB = RNG.standard_normal((12, 5)), RNG.standard_normal((12, 5))
LABELS = np.arange(12) % 3
TARGET = RNG.standard_normal((12, 5))


def trained_graph(dtype="float32"):
    a, b = nnx.Input((5,), name="a"), nnx.Input((5,), name="b")
    shared = layers.Dense(6, activation="gelu", kernel_regularizer="l2", name="shared")
    ha, hb = shared(a), shared(b)
    mixed = layers.Dropout(0.2)(layers.Multiply()([ha, hb]))
    cls = layers.Dense(3, activation="softmax", name="cls")(
        layers.Concatenate()([mixed, layers.BatchNormalization()(ha)]))
    recon = layers.Add(name="recon")([layers.Dense(5)(hb), a])
    model = nnx.Model([a, b], [cls, recon], name="twin", seed=3, dtype=dtype)
    model.compile(optimizer=optimizers.Adam(lr=0.01, clipnorm=1.0),
                  loss={"cls": "categorical_crossentropy", "recon": "huber"},
                  loss_weights={"recon": 0.25}, metrics={"cls": ["accuracy"]})
    model.fit([XA, XB], [LABELS, TARGET], epochs=2, batch_size=5)
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_graph_round_trip(tmp_path, dtype):
    model = trained_graph(dtype)
    path = tmp_path / "g.npz"
    model.save(path, preprocessing={"classes": ["x", "y", "z"]})
    loaded = nnx.load_model(path)
    assert isinstance(loaded, nnx.Model)
    for got, want in zip(loaded.predict([XA, XB]), model.predict([XA, XB]), strict=True):
        np.testing.assert_array_equal(got, want)
    assert loaded.get_config() == model.get_config()
    assert loaded.evaluate([XA, XB], [LABELS, TARGET]) == model.evaluate([XA, XB],
                                                                         [LABELS, TARGET])
    assert loaded.loss_weights == [1.0, 0.25] and loaded.output_names == ["cls", "recon"]
    assert loaded.preprocessing == {"classes": ["x", "y", "z"]}
    assert loaded.summary() == model.summary()
    np.testing.assert_array_equal(loaded.predict([XA, XB], output="shared_call2"),
                                  model.predict([XA, XB], output="shared_call2"))
    loaded.fit([XA, XB], [LABELS, TARGET], epochs=1)  # compiled as saved: it trains on


def test_graph_file_layout(tmp_path):
    model = trained_graph()
    path = tmp_path / "g.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as data:
        files = set(data.files)
        meta = json.loads(data["__nnx__"].tobytes().decode("utf-8"))
    assert [layer.name for layer in model.layers] == [
        "shared", "multiply", "dropout", "batch_normalization", "concatenate", "cls", "dense",
        "recon"]
    assert files == {"__nnx__", "layers/0.shared/W", "layers/0.shared/b",
                     "layers/3.batch_normalization/gamma", "layers/3.batch_normalization/beta",
                     "layers/3.batch_normalization/running_mean",
                     "layers/3.batch_normalization/running_var",
                     "layers/5.cls/W", "layers/5.cls/b", "layers/6.dense/W", "layers/6.dense/b"}
    graph = meta["model"]
    assert graph["class"] == "Model" and graph["outputs"] == ["cls", "recon"]
    assert graph["inputs"] == [{"name": "a", "shape": [5]}, {"name": "b", "shape": [5]}]
    assert graph["layers"][1] == {"name": "shared_call2", "share": "shared", "inputs": ["b"]}
    assert graph["layers"][0]["inputs"] == ["a"] and graph["layers"][0]["type"] == "dense"
    assert graph["compile"]["loss_weights"] == [1.0, 0.25]


EXPERIMENT_GRAPH = {  # the `model:` section of an experiment file, as YAML would give it
    "inputs": [{"name": "x"}],
    "layers": [
        {"name": "h", "type": "dense", "units": 8, "activation": "relu", "inputs": ["x"]},
        {"name": "h2", "share": "h", "inputs": "x"},
        {"name": "up", "type": "dense", "units": 6, "inputs": ["h"]},
        {"name": "s", "type": "add", "inputs": ["up", "x"]},
        {"name": "j", "type": "concatenate", "inputs": ["s", "h2"]},
        {"name": "out", "type": "dense", "units": 3, "activation": "softmax", "inputs": ["j"]},
    ],
    "outputs": ["out"],
}


def test_experiment_graph_syntax_builds_the_model():
    model = build_graph(EXPERIMENT_GRAPH, seed=1, input_shapes=[(6,)], name="exp")
    assert model.input_names == ["x"] and model.output_names == ["out"]
    assert [layer.name for layer in model.layers] == ["h", "up", "s", "j", "out"]
    assert [row["name"] for row in model.summary_rows()] == ["x", "h", "h2", "up", "s", "j",
                                                               "out"]
    config = model.get_config()
    assert config["layers"][1] == {"name": "h2", "share": "h", "inputs": ["x"]}
    again = from_config(config)  # what load_model does
    x = RNG.standard_normal((4, 6))
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    same_seed = from_config({**EXPERIMENT_GRAPH, "seed": 1}, input_shapes=[(6,)])
    np.testing.assert_array_equal(same_seed.predict(x), model.predict(x))


def test_resolve_fills_in_layer_arguments_and_normalizes_names():
    config = config_with(lambda c: c["layers"].insert(2, {"name": "h3", "share": "h2",
                                                          "inputs": "x"}),
                         lambda c: c["layers"][5].update(inputs=["s", "h2", "h3"]))
    resolved = resolve_graph_config(config, where="model")
    assert resolved["inputs"] == [{"name": "x", "shape": None}]
    assert resolved["layers"][0] == {
        "name": "h", "type": "dense", "units": 8, "activation": "relu",
        "init": "glorot_uniform", "bias_init": "zeros", "use_bias": True,
        "kernel_regularizer": None, "inputs": ["x"]}
    assert resolved["layers"][1:3] == [{"name": "h2", "share": "h", "inputs": ["x"]},
                                       {"name": "h3", "share": "h", "inputs": ["x"]}]
    assert resolved["outputs"] == ["out"]
    assert resolve_graph_config(resolved) == resolved
    model = build_graph(resolved, input_shapes={"x": (6,)})
    assert [row["name"] for row in model.summary_rows()][:5] == ["x", "h", "h2", "h3", "up"]


def test_from_config_still_builds_sequentials():
    model = from_config({"layers": [{"type": "dense", "units": 2}], "seed": 0},
                        input_shapes=[(3,)])
    assert isinstance(model, nnx.Sequential) and model.output_shape == (2,)


def config_with(*changes):
    config = json.loads(json.dumps(EXPERIMENT_GRAPH))
    for change in changes:
        change(config)
    return config


@pytest.mark.parametrize("change,path,fragment", [
    (lambda c: c["layers"][2].update(inputs=["hh"]), "model.layers.2.inputs.0",
     "unknown node 'hh' for the inputs of 'up'; the nodes defined before it: x, h, h2 "
     "(did you mean 'h'?)"),
    (lambda c: c["layers"][2].update(name="h"), "model.layers.2.name",
     "the name 'h' is used twice"),
    (lambda c: c["layers"][1].update(share="s"), "model.layers.1.share",
     "'s' is not a layer node defined before; share one of: h"),
    (lambda c: c["layers"][1].update(units=3), "model.layers.1.units",
     "a shared call takes only name, share and inputs"),
    (lambda c: c["layers"][2].pop("type"), "model.layers.2.type", "missing; give a layer type"),
    (lambda c: c["layers"][2].update(type="dens"), "model.layers.2",
     "unknown layer type 'dens'"),
    (lambda c: c["layers"][3].update(inputs=["up", "h"]), "model.layers.3",
     "layer 's' needs inputs of one shape, got (6,) and (8,) (its inputs: up (6,), h (8,))"),
    (lambda c: c["layers"][2].update(inputs=["h", "x"]), "model.layers.2.inputs",
     "a dense layer takes one input, got 2"),
    (lambda c: c["layers"][3].update(inputs=["up"]), "model.layers.3.inputs",
     "a add layer merges two or more inputs"),
    (lambda c: c.update(outputs=["s"]), "model.layers.1",
     "the node 'h2' leads to no output; remove it or list it in outputs"),
    (lambda c: c.update(outputs=[]), "model.outputs", "must be a node name or a list"),
    (lambda c: c.update(inputs=[{"name": "x", "shape": [0]}]), "model.inputs.0.shape",
     "Input: shape must be a tuple of positive integers"),
    (lambda c: c.update(input=[]), "model.input", "unknown key"),
])
def test_graph_config_errors_name_the_field(change, path, fragment):
    with pytest.raises(GraphConfigError) as err:
        build_graph(config_with(change), input_shapes=[(6,)], where="model")
    assert err.value.path == path
    assert fragment in err.value.problem, err.value.problem
    assert str(err.value).startswith(f"{path}: ")


def test_an_input_without_shape_needs_one_from_the_data():
    with pytest.raises(GraphConfigError, match=r"inputs\.0\.shape: missing; give the shape"):
        build_graph(EXPERIMENT_GRAPH)


def test_a_damaged_graph_file_is_an_nnx_error(tmp_path):
    path = tmp_path / "g.npz"
    trained_graph().save(path)
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(arrays["__nnx__"].tobytes())
    meta["model"]["layers"][1]["inputs"] = ["nowhere"]
    arrays["__nnx__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(NnxError, match="layers.1.inputs.0: unknown node 'nowhere'"):
        nnx.load_model(path)

"""Graph models in experiment files: `model: {inputs, layers, outputs}` resolves, builds for
the data (shapes from the data), trains through `run_experiment`, and bad graphs are
ConfigErrors that name the field."""

import copy

import numpy as np
import pytest

import nnx
from nnx.config import ConfigError, resolve_config
from nnx.experiment import prepare, run_experiment

EXPERIMENT = {
    "name": "iris-graph",
    "seed": 0,
    "data": {"dataset": "iris", "validation_split": 0.2, "test_split": 0.2,
             "standardize": True},
    "model": {
        "inputs": [{"name": "x"}],
        "layers": [
            {"name": "h", "type": "dense", "units": 4, "activation": "tanh", "inputs": ["x"]},
            {"name": "h2", "share": "h", "inputs": ["h"]},
            {"name": "skip", "type": "add", "inputs": ["h2", "x"]},
            {"name": "probs", "type": "dense", "units": 3, "activation": "softmax",
             "inputs": "skip"},
        ],
        "outputs": ["probs"],
    },
    "train": {"loss": "categorical_crossentropy", "epochs": 3, "metrics": ["accuracy"]},
}


def experiment(*changes):
    config = copy.deepcopy(EXPERIMENT)
    for change in changes:
        change(config)
    return config


def test_a_graph_experiment_resolves_builds_and_trains(tmp_path):
    resolved = resolve_config(experiment())
    assert resolved["model"]["layers"][1] == {"name": "h2", "share": "h", "inputs": ["h"]}
    assert resolved["model"]["dtype"] == "float32"
    assert resolve_config(resolved) == resolved  # search trials resolve resolved configs
    model = prepare(experiment()).model
    assert isinstance(model, nnx.Model) and model.input_shapes == [(4,)]
    assert [row["name"] for row in model.summary_rows()] == ["x", "h", "h2", "skip", "probs"]
    record = run_experiment(experiment(), tmp_path)
    assert record["status"] == "completed"
    assert 0.0 <= record["metrics"]["test"]["accuracy"] <= 1.0
    loaded = nnx.load_model(record["model_path"])
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, output="h2"),
                                  loaded.submodel("h2").predict(x))


@pytest.mark.parametrize("change,path,fragment", [
    (lambda c: c["model"]["layers"][0].update(units=0), "model.layers.0.units",
     "must be a positive integer"),
    (lambda c: c["model"]["layers"][2].update(inputs=["h2", "y"]), "model.layers.2.inputs.1",
     "unknown node 'y'"),
    (lambda c: c["model"].pop("outputs"), "model.outputs", "missing; it is required"),
    (lambda c: c["model"].update(dtype="float16"), "model.dtype", "must be one of"),
])
def test_bad_graph_fields_fail_at_resolution(change, path, fragment):
    with pytest.raises(ConfigError) as err:
        resolve_config(experiment(change))
    assert err.value.path == path and fragment in str(err.value)


@pytest.mark.parametrize("change,path,fragment", [
    (lambda c: c["model"]["layers"][0].update(units=5), "model.layers.1",
     "layer 'h' is shared: it was called on inputs of shape (4,), now on (5,)"),
    (lambda c: c["model"]["inputs"][0].update(shape=[8]), "model.inputs.0.shape",
     "is [8], but the data's samples have shape [4]"),
    (lambda c: c["model"]["layers"][3].update(units=2), "model.layers.3.units",
     "the model outputs 2 values per sample"),
])
def test_graph_shapes_are_checked_against_the_data(change, path, fragment):
    with pytest.raises(ConfigError) as err:
        prepare(experiment(change))
    assert err.value.path == path and fragment in str(err.value), str(err.value)

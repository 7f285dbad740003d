"""Models: `Sequential` (a stack of layers) and the functional `Model(inputs, outputs)` (a
graph of layers), both on one training engine (`engine.BaseModel`), and the model file.

    heads.py       what compile gives each output (loss, weight, fusion, metrics)
    inputs.py      the data a model is handed, checked and converted once
    weights.py     set_weights, and noticing a layer changed under the model
    engine.py      BaseModel: compile, fit, evaluate, predict; History
    sequential.py  Sequential
    functional.py  Model, the graph (its nodes are in nnx.nodes)
    io.py          the model file (.npz without pickle): write and read
    build.py       a model from a config or a file: from_config, build_graph, load_model
"""

from nnx.model.build import build_graph, from_config, load_model
from nnx.model.engine import BaseModel, History
from nnx.model.functional import Model
from nnx.model.heads import OutputHead
from nnx.model.io import save_model
from nnx.model.sequential import Sequential
from nnx.nodes import Input

__all__ = ["BaseModel", "History", "Input", "Model", "OutputHead", "Sequential",
           "build_graph", "from_config", "load_model", "save_model"]

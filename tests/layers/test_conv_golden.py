"""nnx's conv, pooling and batch-norm layers against PyTorch's numbers, stored in
tests/golden/conv.npz by tests/golden/generate_conv.py (no torch needed here)."""

import json
from pathlib import Path

import numpy as np
import pytest

from nnx.layers import from_config

GOLDEN = np.load(Path(__file__).parents[1] / "golden" / "conv.npz", allow_pickle=False)
CASES = json.loads(GOLDEN["__cases__"].tobytes().decode())
PARAM_GRADS = {"W": "dW", "b": "db", "gamma": "dgamma", "beta": "dbeta"}


def tolerance(dtype):
    return {"rtol": 1e-10, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-5, "atol": 2e-6}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_pytorch(case):
    name, dtype = case["name"], case["dtype"]
    data = {key.split("/", 1)[1]: GOLDEN[key] for key in GOLDEN.files
            if key.startswith(name + "/")}
    layer = from_config(case["config"])
    layer.dtype = np.dtype(dtype)
    layer.build(data["x"].shape[1:], rng=np.random.default_rng(0))
    for key in layer.params:
        layer.params[key][...] = data[key]
    for key in layer.state:
        layer.state[key][...] = data[key]

    y = layer.forward(data["x"].copy(), training=case["training"])
    tol = tolerance(dtype)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y, data["y"], **tol)
    for key in layer.state:  # running statistics after a training step (unchanged in eval)
        np.testing.assert_allclose(layer.state[key], data["new_" + key], **tol)
    if not case["training"]:
        return
    dx = layer.backward(data["dy"].copy())
    assert dx.dtype == np.dtype(dtype)
    np.testing.assert_allclose(dx, data["dx"], **tol)
    for key, grad in layer.grads.items():
        np.testing.assert_allclose(grad, data[PARAM_GRADS[key]], **tol)


def test_golden_file_is_small_and_covers_every_layer():
    assert (Path(__file__).parents[1] / "golden" / "conv.npz").stat().st_size < 300_000
    types = {case["config"]["type"] for case in CASES}
    assert types == {"conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d",
                     "avg_pool2d", "batch_normalization"}

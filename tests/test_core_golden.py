"""nnx against PyTorch's numbers saved in tests/golden/core.npz (made by generate_core.py;
no torch needed here): Dense + each activation, each loss and one SGD step under it, and
five steps of each optimizer."""

import json
import os

import numpy as np
import pytest

import nnx
from nnx import layers, losses, optimizers

PATH = os.path.join(os.path.dirname(__file__), "golden", "core.npz")
with np.load(PATH, allow_pickle=False) as _data:
    GOLDEN = {k: _data[k] for k in _data.files}
META = json.loads(GOLDEN.pop("__meta__").tobytes().decode("utf-8"))
DTYPES = META["dtypes"]
RTOL = {"float64": 1e-10, "float32": 1e-5}
ATOL = {"float64": 1e-13, "float32": 1e-6}


def close(actual, expected, dtype, what=""):
    actual = np.asarray(actual)
    assert actual.shape == np.shape(expected), what
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype], atol=ATOL[dtype], err_msg=what)


def group(prefix):
    return {k[len(prefix):]: v for k, v in GOLDEN.items() if k.startswith(prefix)}


def test_fixture_covers_every_case():
    assert DTYPES == ["float64", "float32"]
    assert set(META["activations"]) == {"linear", "sigmoid", "relu", "leaky_relu", "elu",
                                        "gelu", "tanh", "softmax"}
    assert len(META["losses"]) == 9 and len(META["optimizers"]) == 11
    assert os.path.getsize(PATH) < 300_000


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", META["activations"])
def test_dense_with_activation(activation, dtype):
    g = group(f"linear/{activation}/{dtype}/")
    layer = layers.Dense(g["W"].shape[1], activation=activation)
    layer.dtype = np.dtype(dtype)
    layer.build(g["x"].shape[1:])
    layer.params["W"][...] = g["W"]
    layer.params["b"][...] = g["b"]
    close(layer.forward(g["x"].copy(), training=True), g["y"], dtype, "y")
    close(layer.backward(g["r"].copy()), g["dx"], dtype, "dx")
    close(layer.grads["W"], g["dW"], dtype, "dW")
    close(layer.grads["b"], g["db"], dtype, "db")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", META["losses"])
def test_loss_value_and_gradient(case, dtype):
    g = group(f"loss/{case}/{dtype}/")
    loss = losses.get(META["losses"][case]["loss"])
    value = loss.forward(g["pred"].copy(), g["target"])
    assert value == pytest.approx(float(g["value"]), rel=RTOL[dtype])
    close(loss.backward(), g["grad"], dtype, "grad")
    assert loss.backward().dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", META["losses"])
def test_one_sgd_step_under_each_loss(case, dtype):
    g = group(f"sgd_step/{case}/{dtype}/")
    spec = META["losses"][case]
    model = nnx.Sequential([layers.Dense(g["W"].shape[1], activation=spec["activation"])],
                           input_shape=g["x"].shape[1:], dtype=dtype)
    model.compile(optimizer=optimizers.SGD(lr=0.1), loss=spec["loss"])
    model.layers[0].params["W"][...] = g["W"]
    model.layers[0].params["b"][...] = g["b"]
    hist = model.fit(g["x"], g["y"], epochs=1, batch_size=None, shuffle=False)
    assert hist.history["loss"][0] == pytest.approx(float(g["value"]), rel=RTOL[dtype])
    close(model.layers[0].params["W"], g["W1"], dtype, "W after the step")
    close(model.layers[0].params["b"], g["b1"], dtype, "b after the step")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", META["optimizers"])
def test_five_optimizer_steps(case, dtype):
    g = group(f"optim/{case}/{dtype}/")
    opt = optimizers.get(META["optimizers"][case])
    params = [g["p0_0"].copy(), g["p1_0"].copy()]
    for step in range(5):
        opt.step(params, [g["g0"][step].copy(), g["g1"][step].copy()])
        for i, p in enumerate(params):
            assert p.dtype == np.dtype(dtype)
            close(p, g[f"traj_{i}"][step], dtype, f"param {i} after step {step + 1}")

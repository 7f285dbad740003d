"""SimpleRNN, LSTM, GRU and Bidirectional against PyTorch's nn.RNN / nn.LSTM / nn.GRU:
the same weights give the same outputs, input gradients and every parameter gradient.

The fixtures come from tests/golden/generate_recurrent.py (float64, PyTorch's own init with
the biases spread); this file does not import torch. The float64 comparison is tight; the
float32 one checks that the float32 path matches within float32 rounding.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from nnx import layers

GOLDEN = np.load(Path(__file__).parents[1] / "golden" / "recurrent.npz")
CASES = sorted({k.rsplit("/", 1)[0] for k in GOLDEN.files if k.endswith("/config")})


def case_arrays(case):
    prefix = case + "/"
    return {k[len(prefix):]: GOLDEN[k] for k in GOLDEN.files if k.startswith(prefix)}


def run(case, dtype):
    """nnx's output, input gradient and parameter gradients on the fixture's weights."""
    a = case_arrays(case)
    config = json.loads(a["config"].tobytes().decode())
    layer = layers.from_config(config)
    layer.dtype = np.dtype(dtype)
    x = a["x"].astype(dtype)
    layer.build(x.shape[1:], np.random.default_rng(0))
    weights = {k[len("param/"):]: v for k, v in a.items() if k.startswith("param/")}
    assert set(weights) == set(layer.params)
    for key, value in weights.items():
        layer.params[key] = value.astype(dtype)
    if "mask" in a:
        layer.mask = a["mask"]
    y = layer.forward(x, training=True)
    dx = layer.backward(a["r"].astype(dtype))
    return a, y, dx, layer.grads


def test_every_kind_and_mode_is_covered():
    assert len(CASES) == 22
    assert {c.split("/")[0] for c in CASES} == {"rnn_tanh", "rnn_relu", "lstm", "gru"}


@pytest.mark.parametrize("case", CASES)
def test_matches_pytorch_float64(case):
    a, y, dx, grads = run(case, "float64")
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, a["y"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, a["dx"], rtol=1e-9, atol=1e-12)
    for key in grads:
        np.testing.assert_allclose(grads[key], a["grad/" + key], rtol=1e-9, atol=1e-12,
                                   err_msg=key)


@pytest.mark.parametrize("case", CASES)
def test_matches_pytorch_float32(case):
    a, y, dx, grads = run(case, "float32")
    assert y.dtype == dx.dtype == np.float32
    np.testing.assert_allclose(y, a["y"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx, a["dx"], rtol=1e-4, atol=1e-5)
    for key in grads:
        assert grads[key].dtype == np.float32
        np.testing.assert_allclose(grads[key], a["grad/" + key], rtol=1e-4, atol=1e-5,
                                   err_msg=key)

"""SimpleRNN, LSTM, GRU and Bidirectional against PyTorch's nn.RNN / nn.LSTM / nn.GRU:
the same weights give the same outputs, input gradients and every parameter gradient.

The fixtures come from tests/golden/generate_recurrent.py (float64, PyTorch's own init with
the biases spread); this file does not import torch. The float64 comparison is tight; the
float32 one checks that the float32 path matches within float32 rounding.
"""

import numpy as np
import pytest
from golden_cases import Fixtures

FIXTURES = Fixtures("recurrent")
CASES = FIXTURES.cases
case_arrays = FIXTURES.arrays
run = FIXTURES.run_layer


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

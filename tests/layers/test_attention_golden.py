"""MultiHeadAttention, LayerNormalization and TransformerEncoderBlock against PyTorch's
nn.MultiheadAttention, nn.LayerNorm and nn.TransformerEncoderLayer (dropout 0): the same
weights give the same outputs, input gradients and every parameter gradient, with causal and
padding masks, post- and pre-norm.

The fixtures come from tests/golden/generate_attention.py (float64); this file does not
import torch. The float64 comparison is tight; the float32 one checks that the float32 path
matches within float32 rounding.
"""

import numpy as np
import pytest
from golden_cases import Fixtures

FIXTURES = Fixtures("attention")
CASES = FIXTURES.cases
case_arrays = FIXTURES.arrays
run = FIXTURES.run_layer


def test_every_layer_and_mask_is_covered():
    assert len(CASES) == 10
    assert {c.split("/")[0] for c in CASES} == {"mha", "layer_norm", "encoder"}
    masked = [c for c in CASES if "mask" in case_arrays(c)]
    assert len(masked) == 4


@pytest.mark.parametrize("case", CASES)
def test_matches_pytorch_float64(case):
    a, y, dx, grads = run(case, "float64")
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, a["y"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, a["dx"], rtol=1e-9, atol=1e-11)
    for key in grads:
        # d/db_k is exactly zero in theory (softmax ignores a per-row shift): compare absolutely
        np.testing.assert_allclose(grads[key], a["grad/" + key], rtol=1e-9, atol=1e-11,
                                   err_msg=key)


@pytest.mark.parametrize("case", ["mha/causal_padded", "layer_norm/sequence",
                                  "encoder/pre_norm_causal_padded", "encoder/post_norm_relu"])
def test_matches_pytorch_float32(case):
    a, y, dx, grads = run(case, "float32")
    assert y.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())
    np.testing.assert_allclose(y, a["y"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dx, a["dx"], rtol=1e-3, atol=1e-4)
    for key in grads:
        scale = np.abs(a["grad/" + key]).max()
        np.testing.assert_allclose(grads[key], a["grad/" + key], rtol=1e-3,
                                   atol=1e-4 * max(scale, 1.0), err_msg=key)

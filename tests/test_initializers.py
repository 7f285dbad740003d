"""Initializers: shapes, the variance each promises (from the fans), seeding, names."""

import math

import numpy as np
import pytest

from nnx import NnxError, initializers
from nnx.layers import Dense

SHAPE, FAN_IN, FAN_OUT = (400, 300), 400, 300


def draw(spec, shape=SHAPE, seed=0):
    return initializers.get(spec)(shape, FAN_IN, FAN_OUT, np.random.default_rng(seed))


@pytest.mark.parametrize("name,dist,std", [
    ("glorot_uniform", "uniform", math.sqrt(2 / 700)),
    ("xavier_uniform", "uniform", math.sqrt(2 / 700)),
    ("glorot_normal", "normal", math.sqrt(2 / 700)),
    ("xavier_normal", "normal", math.sqrt(2 / 700)),
    ("he_uniform", "uniform", math.sqrt(2 / 400)),
    ("kaiming_uniform", "uniform", math.sqrt(2 / 400)),
    ("he_normal", "normal", math.sqrt(2 / 400)),
    ("kaiming_normal", "normal", math.sqrt(2 / 400)),
    ("lecun_normal", "normal", math.sqrt(1 / 400)),
    ({"type": "random_normal", "mean": 0.0, "stddev": 0.2}, "normal", 0.2),
    ({"type": "random_uniform", "minval": -0.3, "maxval": 0.3}, "uniform", 0.3 / math.sqrt(3)),
])
def test_fan_scaled_and_random_initializers(name, dist, std):
    w = draw(name)
    assert w.shape == SHAPE
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.01)  # 120k draws: the sample std is within 0.3%
    if dist == "uniform":
        limit = math.sqrt(3) * std
        assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    else:  # untruncated normal: about 0.27% of draws beyond 3 std
        assert 0.001 < np.mean(np.abs(w) > 3 * std) < 0.005


def test_gain_scales_the_std():
    w = draw({"type": "he_normal", "gain": 2.0})
    assert w.std() == pytest.approx(2 * math.sqrt(2 / 400), rel=0.01)


def test_constant_zeros_ones():
    np.testing.assert_array_equal(draw("zeros", (3, 2)), np.zeros((3, 2)))
    np.testing.assert_array_equal(draw("ones", (4,)), np.ones(4))
    np.testing.assert_array_equal(draw({"type": "constant", "value": 0.1}, (2, 2)),
                                  np.full((2, 2), 0.1))


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3)])
def test_orthogonal(shape):
    w = draw({"type": "orthogonal", "gain": 1.5}, shape)
    assert w.shape == shape
    m = w.reshape(shape[0], -1)
    small = min(m.shape)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, 1.5 ** 2 * np.eye(small), atol=1e-12)


def test_same_generator_seed_same_values_different_seed_different():
    np.testing.assert_array_equal(draw("glorot_uniform", seed=3), draw("glorot_uniform", seed=3))
    assert not np.array_equal(draw("glorot_uniform", seed=3), draw("glorot_uniform", seed=4))


def test_dense_uses_fans_of_its_kernel():
    layer = Dense(200, init="he_uniform", bias_init={"type": "constant", "value": 0.5})
    layer.build((800,), np.random.default_rng(0))
    w = layer.params["W"]
    assert w.shape == (800, 200) and w.dtype == np.float32
    assert np.abs(w).max() <= math.sqrt(6 / 800) * (1 + 1e-6)
    assert w.std() == pytest.approx(math.sqrt(2 / 800), rel=0.01)
    np.testing.assert_array_equal(layer.params["b"], np.full(200, 0.5, np.float32))


@pytest.mark.parametrize("spec,message", [
    ("he_normall", "unknown initializer 'he_normall'"),
    ("glorot", "known: "),
    ({"type": "random_normal", "stddev": -1.0},
     "random_normal: stddev must be a number > 0, got -1.0"),
    ({"type": "random_uniform", "minval": 1.0, "maxval": 0.0}, "must be below maxval"),
    ({"type": "constant", "valu": 1.0}, "did you mean 'value'"),
])
def test_bad_initializers_raise(spec, message):
    with pytest.raises(NnxError) as err:
        initializers.get(spec)
    assert message in str(err.value)


def test_unknown_initializer_names_closest_match():
    with pytest.raises(NnxError) as err:
        initializers.get("he_normall")
    assert "did you mean 'he_normal'" in str(err.value) and "glorot_uniform" in str(err.value)

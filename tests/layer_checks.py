"""Pieces shared by the layer test files: a normalization layer built with gamma and beta
away from 1 and 0, and the float32-in, float32-out check against float64."""

import numpy as np


def built_norm(cls, shape, dtype="float64", **kwargs):
    layer = cls(**kwargs)
    layer.dtype = np.dtype(dtype)
    layer.build(shape, np.random.default_rng(0))
    rng = np.random.default_rng(5)
    layer.params["gamma"][...] = rng.uniform(0.5, 1.5, layer.params["gamma"].shape)
    layer.params["beta"][...] = rng.standard_normal(layer.params["beta"].shape)
    return layer


def norm_inputs(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape) * 2.0 + 0.7


def assert_float32_follows_float64(make, x, mask, tol):
    """make(dtype) -> a built layer: in float32 its output, input gradient and parameter
    gradients stay float32, and its output is within tol of the same layer in float64."""
    layer = make("float32")
    layer.mask = mask
    x32 = x.astype(np.float32)
    y = layer.forward(x32, training=True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    ref = make("float64")
    ref.mask = mask
    np.testing.assert_allclose(y, ref.forward(x32.astype(np.float64)), rtol=tol, atol=tol)

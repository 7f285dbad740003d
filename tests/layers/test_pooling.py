"""Max and average pooling (1-D, 2-D) and global average pooling: values against a direct
reference, finite-difference gradients (overlapping windows and odd sizes included), the
argmax rule on ties, dtypes, shapes, configs and the messages for bad arguments."""

import numpy as np
import pytest
from gradcheck import check_layer_gradients

from nnx import NnxError, layers


def built(layer, shape, dtype="float64"):
    layer.dtype = np.dtype(dtype)
    layer.build(shape, np.random.default_rng(0))
    return layer


def inputs(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def windows(x, size, stride):
    """Reference: (N, C, Ho, Wo, kh*kw) windows of a 2-D input, no padding, floor."""
    (kh, kw), (sh, sw) = size, stride
    ho, wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    out = np.empty(x.shape[:2] + (ho, wo, kh * kw))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(
                x.shape[:2] + (-1,))
    return out


POOL2D_CASES = [  # pool_size, stride, input (C, H, W)
    (2, None, (2, 6, 6)),
    (2, None, (2, 7, 9)),
    (2, None, (2, 7, 8)),
    (3, 2, (2, 9, 8)),
    ((2, 3), (1, 2), (3, 5, 8)),
    (3, 1, (1, 5, 5)),
]
POOL1D_CASES = [(2, None, (2, 9)), (3, 2, (3, 11)), (4, 1, (2, 7))]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pool_size,stride,shape", POOL2D_CASES)
def test_pool2d_values_and_gradients(kind, pool_size, stride, shape):
    cls = layers.MaxPool2D if kind == "max" else layers.AvgPool2D
    layer = built(cls(pool_size, stride=stride), shape)
    x = inputs((2,) + shape)
    size = pool_size if isinstance(pool_size, tuple) else (pool_size, pool_size)
    step = size if stride is None else (stride if isinstance(stride, tuple) else (stride,) * 2)
    w = windows(x, size, step)
    expected = w.max(-1) if kind == "max" else w.mean(-1)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-14)
    check_layer_gradients(layer, x)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pool_size,stride,shape", POOL1D_CASES)
def test_pool1d_values_and_gradients(kind, pool_size, stride, shape):
    cls = layers.MaxPool1D if kind == "max" else layers.AvgPool1D
    layer = built(cls(pool_size, stride=stride), shape)
    x = inputs((3,) + shape)
    w = windows(x[:, :, None, :], (1, pool_size), (1, stride or pool_size))[:, :, 0]
    expected = w.max(-1) if kind == "max" else w.mean(-1)
    y = layer.forward(x)
    assert y.shape == (3,) + layer.output_shape
    np.testing.assert_allclose(y, expected, rtol=1e-14)
    check_layer_gradients(layer, x)


def test_max_pool_gradient_goes_to_the_first_max_on_ties():
    layer = built(layers.MaxPool2D(2), (1, 2, 4))
    x = np.array([[[[1.0, 1.0, 0.0, 2.0], [1.0, 0.5, 2.0, 2.0]]]])
    y = layer.forward(x, training=True)
    np.testing.assert_array_equal(y, [[[[1.0, 2.0]]]])
    dx = layer.backward(np.array([[[[3.0, 5.0]]]]))
    np.testing.assert_array_equal(dx, [[[[3.0, 0.0, 0.0, 5.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_max_pool_overlapping_windows_sum_their_gradients():
    layer = built(layers.MaxPool1D(3, stride=1), (1, 5))
    x = np.array([[[0.0, 1.0, 9.0, 2.0, 3.0]]])
    layer.forward(x, training=True)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 3))), [[[0, 0, 3, 0, 0]]])


def test_max_pool_propagates_nan():
    layer = built(layers.MaxPool2D(2), (1, 2, 2))
    assert np.isnan(layer.forward(np.array([[[[1.0, np.nan], [3.0, 2.0]]]]))).all()


@pytest.mark.parametrize("cls,shape,expected", [
    (layers.MaxPool2D(2), (16, 28, 28), (16, 14, 14)),
    (layers.MaxPool2D(2), (3, 7, 9), (3, 3, 4)),
    (layers.AvgPool2D((3, 2), stride=(2, 1)), (3, 7, 9), (3, 3, 8)),
    (layers.MaxPool1D(3, stride=2), (4, 10), (4, 4)),
    (layers.AvgPool1D(2), (4, 9), (4, 4)),
    (layers.GlobalAveragePooling2D(), (5, 3, 4), (5,)),
    (layers.GlobalAveragePooling1D(), (5, 7), (5,)),
])
def test_output_shapes(cls, shape, expected):
    built(cls, shape)
    assert cls.output_shape == expected
    assert cls.forward(inputs((2,) + shape)).shape == (2,) + expected


@pytest.mark.parametrize("cls,shape", [
    (layers.MaxPool2D, (2, 5, 4)), (layers.AvgPool2D, (2, 5, 4)),
    (layers.MaxPool1D, (2, 9)), (layers.AvgPool1D, (2, 9)),
])
def test_float32_in_float32_out(cls, shape):
    layer = built(cls(2), shape, dtype="float32")
    x = inputs((3,) + shape).astype(np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


@pytest.mark.parametrize("cls,shape,axes", [
    (layers.GlobalAveragePooling2D, (3, 4, 5), (2, 3)),
    (layers.GlobalAveragePooling1D, (3, 7), (2,)),
])
def test_global_average_pooling(cls, shape, axes):
    layer = built(cls(), shape)
    x = inputs((2,) + shape)
    np.testing.assert_allclose(layer.forward(x), x.mean(axis=axes), rtol=1e-14)
    check_layer_gradients(layer, x)
    x32 = x.astype(np.float32)
    y = layer.forward(x32, training=True)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


def test_get_config_rebuilds_the_layer():
    layer = layers.MaxPool2D([2, 3], stride=1)
    assert layer.get_config() == {"pool_size": [2, 3], "stride": 1}
    assert layers.AvgPool1D(2).get_config() == {"pool_size": 2, "stride": None}
    again = layers.from_config({"type": "max_pool2d", **layer.get_config()})
    assert again.get_config() == layer.get_config()
    assert layers.from_config({"type": "global_average_pooling1d"}).get_config() == {}


def test_bad_arguments_and_inputs_are_named():
    with pytest.raises(NnxError, match="max_pool2d: pool_size must be a positive integer or a "
                                       "list of 2 of them, got 0"):
        layers.MaxPool2D(0)
    with pytest.raises(NnxError, match=r"avg_pool1d: stride must be .*got \[1, 1\]"):
        layers.AvgPool1D(2, stride=[1, 1])
    with pytest.raises(NnxError, match=r"layer 'max_pool2d': pool_size \(3, 3\) is larger than "
                                       r"the input \(2, 8\) \(input shape \(4, 2, 8\)\)$"):
        layers.MaxPool2D(3).build((4, 2, 8))
    with pytest.raises(NnxError, match=r"layer 'max_pool1d' expects inputs of shape "
                                       r"\(channels, length\).*got \(8,\)"):
        layers.MaxPool1D(2).build((8,))
    with pytest.raises(NnxError, match=r"global_average_pooling2d' expects inputs of shape "
                                       r"\(channels, height, width\)"):
        layers.GlobalAveragePooling2D().build((3, 8))
    layer = built(layers.AvgPool2D(2), (1, 4, 4))
    with pytest.raises(NnxError, match=r"expects inputs of shape \(batch, 1, 4, 4\), got "
                                       r"\(2, 1, 4, 5\)"):
        layer.forward(np.zeros((2, 1, 4, 5)))

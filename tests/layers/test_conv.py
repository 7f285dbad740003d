"""Conv1D and Conv2D: finite-difference gradients over stride, padding (int, valid, same) and
dilation, output shapes, float32 in -> float32 out, the first-layer shortcut, configs, and
the messages for bad arguments and inputs."""

import numpy as np
import pytest
from gradcheck import check_layer_gradients, max_rel_error

from nnx import NnxError, Sequential, layers
from nnx.layers import conv as conv_module
from nnx.layers.window import same_padding


def built(layer, shape, dtype="float64", seed=0):
    layer.dtype = np.dtype(dtype)
    layer.build(shape, np.random.default_rng(seed))
    return layer


def inputs(shape, seed=1):
    return np.random.default_rng(seed).uniform(-1.5, 1.5, shape)


def direct_conv(x, W, b, stride, pads, dilation):
    """Reference 2-D convolution by its definition (cross-correlation, channels first)."""
    (pt, pb), (pl, pr) = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    f, _, kh, kw = W.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho = (xp.shape[2] - (kh - 1) * dh - 1) // sh + 1
    wo = (xp.shape[3] - (kw - 1) * dw - 1) // sw + 1
    y = np.zeros((x.shape[0], f, ho, wo))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i * dh:i * dh + (ho - 1) * sh + 1:sh,
                       j * dw:j * dw + (wo - 1) * sw + 1:sw]
            y += np.einsum("nchw,fc->nfhw", patch, W[:, :, i, j])
    return y + b[None, :, None, None]


CONV2D_CASES = [  # kernel, stride, padding, dilation, input (C, H, W)
    (3, 1, 0, 1, (2, 5, 6)),
    (3, 1, 1, 1, (2, 5, 6)),
    ((3, 2), 2, 0, 1, (2, 7, 6)),
    (3, (2, 3), 2, 1, (1, 7, 8)),
    (3, 1, "valid", 2, (2, 7, 6)),
    (3, 1, "same", 1, (2, 5, 7)),
    (3, 2, "same", 1, (2, 7, 6)),
    ((2, 4), (2, 3), "same", (1, 2), (2, 5, 9)),
    (2, 3, (1, 0), 2, (3, 7, 7)),
]


@pytest.mark.parametrize("kernel,stride,padding,dilation,shape", CONV2D_CASES)
def test_conv2d_gradients(kernel, stride, padding, dilation, shape):
    layer = built(layers.Conv2D(3, kernel, stride=stride, padding=padding, dilation=dilation,
                                activation="tanh", bias_init={"type": "random_normal"}), shape)
    errors = check_layer_gradients(layer, inputs((2,) + shape))
    assert set(errors) == {"x", "W", "b"}


CONV1D_CASES = [  # kernel, stride, padding, dilation, length
    (3, 1, 0, 1, 7),
    (5, 2, 0, 1, 12),
    (3, 1, 2, 2, 9),
    (4, 3, "same", 1, 11),
    (3, 2, "same", 2, 10),
    (1, 1, "valid", 1, 5),
]


@pytest.mark.parametrize("kernel,stride,padding,dilation,length", CONV1D_CASES)
def test_conv1d_gradients(kernel, stride, padding, dilation, length):
    layer = built(layers.Conv1D(3, kernel, stride=stride, padding=padding, dilation=dilation,
                                activation="gelu", bias_init={"type": "random_normal"}),
                  (2, length))
    check_layer_gradients(layer, inputs((3, 2, length)))


@pytest.mark.parametrize("activation", ["linear", "relu", "leaky_relu", "elu", "sigmoid",
                                        "gelu"])
def test_gradients_of_each_activation_without_bias(activation):
    layer = built(layers.Conv2D(2, 3, padding=1, activation=activation, use_bias=False),
                  (2, 4, 5))
    x = inputs((2, 2, 4, 5))
    x = np.where(np.abs(x) < 0.05, 0.3, x)
    errors = check_layer_gradients(layer, x)
    assert set(errors) == {"x", "W"}


@pytest.mark.parametrize("kernel,stride,padding,dilation,shape", CONV2D_CASES)
def test_conv2d_forward_matches_the_definition(kernel, stride, padding, dilation, shape):
    layer = built(layers.Conv2D(4, kernel, stride=stride, padding=padding, dilation=dilation,
                                bias_init={"type": "random_normal"}), shape)
    x = inputs((3,) + shape)
    k, s, d = (v if isinstance(v, tuple) else (v, v) for v in (kernel, stride, dilation))
    if padding == "same":
        pads = [same_padding(n, *args)
                for n, args in zip(shape[1:], zip(k, s, d, strict=True), strict=True)]
    elif padding == "valid":
        pads = [(0, 0), (0, 0)]
    else:
        p = padding if isinstance(padding, tuple) else (padding, padding)
        pads = [(p[0], p[0]), (p[1], p[1])]
    expected = direct_conv(x, layer.params["W"], layer.params["b"], s, pads, d)
    y = layer.forward(x)
    assert y.shape == (3,) + layer.output_shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


def test_conv1d_is_conv2d_with_height_one():
    conv1 = built(layers.Conv1D(4, 3, stride=2, padding=1, dilation=2, activation="elu"),
                  (3, 11))
    conv2 = built(layers.Conv2D(4, (1, 3), stride=(1, 2), padding=(0, 1), dilation=(1, 2),
                                activation="elu"), (3, 1, 11))
    assert conv1.params["W"].shape == (4, 3, 3)
    conv2.params["W"][...] = conv1.params["W"][:, :, None, :]
    x = inputs((2, 3, 11))
    np.testing.assert_allclose(conv1.forward(x), conv2.forward(x[:, :, None, :])[:, :, 0],
                               rtol=1e-14)


@pytest.mark.parametrize("size,kernel,stride,dilation,expected", [
    (28, 3, 1, 1, (1, 1)),
    (7, 3, 2, 1, (1, 1)),   # 4 outputs need 9 = 7 + 2
    (8, 3, 2, 1, (0, 1)),   # 4 outputs need 9: the odd one on the right
    (11, 4, 3, 1, (1, 1)),
    (10, 4, 1, 1, (1, 2)),  # even kernel at stride 1: the extra on the right
    (10, 3, 1, 2, (2, 2)),
    (5, 1, 2, 1, (0, 0)),
])
def test_same_padding_follows_keras(size, kernel, stride, dilation, expected):
    assert same_padding(size, kernel, stride, dilation) == expected


@pytest.mark.parametrize("layer,shape,expected", [
    (layers.Conv2D(16, 3, padding=1), (1, 28, 28), (16, 28, 28)),
    (layers.Conv2D(8, 3, stride=2, padding="same"), (3, 7, 8), (8, 4, 4)),
    (layers.Conv2D(8, (3, 5), stride=(1, 2), padding="valid"), (3, 9, 9), (8, 7, 3)),
    (layers.Conv2D(8, 3, dilation=3), (3, 9, 10), (8, 3, 4)),
    (layers.Conv1D(32, 5, stride=2), (1, 40), (32, 18)),
    (layers.Conv1D(32, 3, stride=2), (32, 18), (32, 8)),
    (layers.Conv1D(4, 3, stride=3, padding="same"), (2, 10), (4, 4)),
])
def test_output_shapes(layer, shape, expected):
    built(layer, shape)
    assert layer.output_shape == expected
    y = layer.forward(inputs((2,) + shape))
    assert y.shape == (2,) + expected


@pytest.mark.parametrize("layer,shape", [
    (layers.Conv2D(3, 3, padding=1), (2, 5, 5)), (layers.Conv1D(2, 3), (2, 6)),
    (layers.MaxPool2D(2), (2, 4, 4)), (layers.AvgPool1D(2), (2, 6)),
    (layers.GlobalAveragePooling2D(), (2, 4, 4)), (layers.BatchNormalization(), (2, 4, 4)),
])
def test_an_empty_batch_gives_an_empty_output(layer, shape):
    built(layer, shape, dtype="float32")
    y = layer.forward(np.zeros((0,) + shape, np.float32))
    assert y.shape == (0,) + layer.output_shape and y.dtype == np.float32


def test_pytorch_layout_and_fans():
    layer = built(layers.Conv2D(6, (3, 2), init={"type": "glorot_uniform"}), (4, 8, 8))
    assert layer.params["W"].shape == (6, 4, 3, 2) and layer.params["b"].shape == (6,)
    limit = np.sqrt(6.0 / (4 * 6 + 6 * 6))  # fan_in = C*kh*kw, fan_out = filters*kh*kw
    assert np.abs(layer.params["W"]).max() <= limit
    assert np.abs(layer.params["W"]).max() > 0.8 * limit


@pytest.mark.parametrize("cls,shape", [(layers.Conv2D, (3, 9, 8)), (layers.Conv1D, (3, 17))])
def test_float32_in_float32_out(cls, shape):
    layer = built(cls(5, 3, stride=2, padding="same", activation="gelu"), shape,
                  dtype="float32")
    x = inputs((4,) + shape).astype(np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32 and layer.preactivation.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    ref = built(cls(5, 3, stride=2, padding="same", activation="gelu"), shape)
    for key in ref.params:
        ref.params[key][...] = layer.params[key]
    np.testing.assert_allclose(y, ref.forward(x.astype(np.float64)), rtol=1e-4, atol=1e-5)


def test_inference_gathers_a_large_batch_in_chunks(monkeypatch):
    layer = built(layers.Conv2D(3, 3, stride=2, padding="same", activation="elu"), (2, 7, 6))
    x = inputs((9, 2, 7, 6))
    whole = layer.forward(x, training=True)
    monkeypatch.setattr(conv_module, "INFERENCE_COLS", 2 * 18 * 12)  # 2 samples per chunk
    np.testing.assert_array_equal(layer.forward(x), whole)
    assert {a.shape for key, a in layer._buffers.items() if key[0] == "cols_part_infer"} == {
        (1, 18, 2 * 12)}  # one block per thread
    assert layer._saved[1].shape == (1, 18, 9 * 12)  # the training columns kept for backward


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.Conv2D(3, 3, padding=1, activation="relu"), (2, 6, 5)),  # flat layout
    (lambda: layers.Conv2D(3, 3, stride=2, activation="gelu"), (2, 7, 6)),  # gathered
    (lambda: layers.Conv1D(3, 3, padding="same", activation="tanh"), (2, 9)),
])
@pytest.mark.parametrize("needs_input_grad", [True, False])
@pytest.mark.parametrize("kept", [True, False])
def test_a_large_layer_in_chunks_of_samples_gives_the_numbers_of_one_gemm(
        monkeypatch, make, shape, needs_input_grad, kept):
    """Above SMALL_LAYER multiply-adds the batch goes a few samples per GEMM, on threads
    (here 2 and 1 per chunk): the same outputs and gradients as one GEMM, with the columns
    kept from forward or made again in backward."""
    layer = built(make(), shape)
    layer.needs_input_grad, layer._direct_grad = needs_input_grad, False  # im2col's backward
    if not kept:
        monkeypatch.setattr(conv_module, "KEPT_ELEMENTS", 0)
    x, results = inputs((7,) + shape), []
    per_sample = layer._im2col_chunk(1, True)[1] * 3 * layer.params["W"][0].size
    for product in (None, 2 * per_sample, per_sample):
        if product:
            monkeypatch.setattr(conv_module, "SMALL_LAYER", 0)
            monkeypatch.setattr(conv_module, "SMALL_PRODUCT", product)
        results.append(training_pass(layer, x) + (layer.forward(x),))
        blocks = {None: 1, 2 * per_sample: 4, per_sample: 7}[product]
        assert layer._saved[1].shape[0] == blocks if kept else layer._saved[1] is None
    for got in results[1:]:  # BLAS may round a product of other sizes differently
        assert_same_pass(got, results[0])
        np.testing.assert_allclose(got[3], results[0][3], rtol=1e-13, atol=1e-14)


def training_pass(layer, x):
    """(y, dx, grads) of one forward and backward of a fixed upstream gradient."""
    y = layer.forward(x, training=True)
    dx = layer.backward(inputs(y.shape, seed=2))
    return y, dx, {k: g.copy() for k, g in layer.grads.items()}


def assert_same_pass(got, want, rtol=1e-13, atol=1e-14):
    for a, b in zip(got[:2], want[:2], strict=True):
        if b is None:  # no input gradient
            assert a is None
            continue
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    for key in want[2]:
        np.testing.assert_allclose(got[2][key], want[2][key], rtol=rtol, atol=atol, err_msg=key)


@pytest.mark.parametrize("make,shape,flat", [
    (lambda: layers.Conv2D(3, 3, padding="same"), (2, 6, 5), True),
    (lambda: layers.Conv2D(3, (2, 3), dilation=(2, 1), padding=1), (2, 6, 7), True),
    (lambda: layers.Conv2D(3, 3, stride=(1, 2)), (2, 6, 7), False),
    (lambda: layers.Conv1D(3, 3, padding="same"), (2, 9), False),
])
def test_column_layout_choice_does_not_change_the_numbers(make, shape, flat):
    """Stride-1 2-D layers take the flat column layout; forcing the gathered one gives the
    same outputs and gradients."""
    layer = built(make(), shape)
    assert layer._geom.flat == flat
    x, results = inputs((3,) + shape), []
    for layout in (flat, False):
        layer._geom = layer._geom._replace(flat=layout)
        results.append(training_pass(layer, x))
    assert_same_pass(*results)


@pytest.mark.parametrize("path,kept", [("_winograd", 1 << 20), ("_winograd", 0),
                                       ("_direct", 0), ("_direct_grad", 0)])
@pytest.mark.parametrize("padding,activation,shape,filters,samples_per_chunk", [
    (1, "relu", (2, 6, 6), 4, None),
    (0, "tanh", (3, 7, 5), 5, 2),  # odd output sizes: the last tile row and column hold one
    ("same", "gelu", (2, 5, 8), 3, 3),  # output; odd filter counts: a direct pass takes two
    ((2, 0), None, (1, 4, 9), 4, 1),
    ((0, 2), "relu", (2, 5, 6), 3, 2),  # a left padding of two: Winograd's shifted plane copy
])
def test_3x3_paths_give_the_im2col_numbers(monkeypatch, path, kept, padding, activation,
                                           shape, filters, samples_per_chunk):
    """Forced onto these layers, the Winograd path (several chunks of tiles where asked; the
    tiles kept from forward or transformed again in backward), the direct loops and their
    backward after im2col's forward match im2col in training, at inference and without the
    input gradient."""
    layer = built(layers.Conv2D(filters, 3, padding=padding, activation=activation,
                                bias_init={"type": "random_normal"}), shape)
    layer._winograd = layer._direct = layer._direct_grad = False
    monkeypatch.setattr(conv_module, "KEPT_ELEMENTS", kept)
    if samples_per_chunk:
        th, tw = (layer.output_shape[1] + 1) // 2, (layer.output_shape[2] + 1) // 2
        monkeypatch.setattr(conv_module, "WINOGRAD_TILES", samples_per_chunk * th * tw)
    x, results = inputs((5,) + shape), []
    for forced in (True, False):
        setattr(layer, path, forced)
        results.append(training_pass(layer, x) + (layer.forward(x),))
    assert_same_pass(*results, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(results[0][3], results[1][3], rtol=1e-12, atol=1e-13)
    setattr(layer, path, True)
    layer.needs_input_grad = False
    first_layer = training_pass(layer, x)
    assert first_layer[1] is None
    for key, grad in results[1][2].items():
        np.testing.assert_allclose(first_layer[2][key], grad, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("path,filters,input_shape,tolerance", [
    ("_direct", 5, (1, 9, 7), 1e-5),
    ("_winograd", 32, (32, 6, 6), 1e-4),  # 288 products a sum: looser for dW
])
def test_fast_paths_in_float32_follow_float64(path, filters, input_shape, tolerance):
    x = inputs((4, *input_shape))
    layer32 = built(layers.Conv2D(filters, 3, padding=1, activation="relu"), input_shape,
                    "float32")
    layer64 = built(layers.Conv2D(filters, 3, padding=1, activation="relu"), input_shape)
    assert getattr(layer32, path) and getattr(layer64, path)
    y32, dx32, grads32 = training_pass(layer32, x.astype(np.float32))
    y64, dx64, grads64 = training_pass(layer64, x)
    for got, want, tol in ((y32, y64, 1e-5), (dx32, dx64, 1e-5),
                           (grads32["W"], grads64["W"], tolerance),
                           (grads32["b"], grads64["b"], tolerance)):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("make,channels,winograd", [
    (lambda: layers.Conv2D(32, 3, padding=1), 32, True),
    (lambda: layers.Conv2D(64, 3), 48, True),
    (lambda: layers.Conv2D(32, 3, padding=1), 16, True),
    (lambda: layers.Conv2D(32, 3, padding=1), 8, False),  # im2col: too few channels in
    (lambda: layers.Conv2D(8, 3, padding=1), 32, False),  # or out
    (lambda: layers.Conv2D(32, 3, stride=2), 32, False),
    (lambda: layers.Conv2D(32, 3, dilation=2), 32, False),
    (lambda: layers.Conv2D(32, 5), 32, False),
])
def test_winograd_takes_wide_3x3_stride_1_layers(make, channels, winograd):
    assert built(make(), (channels, 9, 9))._winograd == winograd


@pytest.mark.parametrize("make,channels,direct", [
    (lambda: layers.Conv2D(16, 3, padding=1), 1, True),
    (lambda: layers.Conv2D(16, 3), 1, True),
    (lambda: layers.Conv2D(16, 3, padding=1), 3, False),  # im2col
    (lambda: layers.Conv2D(16, 3, stride=2), 1, False),
    (lambda: layers.Conv2D(16, 5), 1, False),
    (lambda: layers.Conv1D(16, 3), 1, False),
])
def test_direct_loops_take_3x3_stride_1_layers_of_one_channel(make, channels, direct):
    layer = make()
    shape = (channels, 9) if layer.rank == 1 else (channels, 9, 9)
    assert built(layer, shape)._direct == direct


def test_first_layer_skips_the_input_gradient_but_fills_grads():
    layer = built(layers.Conv2D(3, 3, padding=1, activation="relu"), (2, 5, 5))
    x = inputs((2, 2, 5, 5))
    y = layer.forward(x, training=True)
    dy = inputs(y.shape, seed=2)
    layer.backward(dy)
    expected = {k: g.copy() for k, g in layer.grads.items()}
    layer.needs_input_grad = False
    layer.forward(x, training=True)
    assert layer.backward(dy) is None
    for key, grad in expected.items():
        np.testing.assert_array_equal(layer.grads[key], grad)


def test_preactivation_is_stored_only_where_it_is_read():
    """Gelu's gradient and a fused loss read z; other activations take theirs from y."""
    x = inputs((2, 2, 6, 6))
    for activation, kept in (("relu", False), ("tanh", False), ("gelu", True)):
        layer = built(layers.Conv2D(3, 3, activation=activation), (2, 6, 6))
        layer.forward(x, training=True)
        assert (layer.preactivation is not None) == kept


def test_a_loss_fused_with_a_conv_output_layer_reads_its_stored_preactivation():
    model = Sequential([layers.Conv1D(2, 3, activation="sigmoid")], input_shape=(2, 8), seed=0)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    assert model.layers[0].keeps_preactivation
    x = inputs((4, 2, 8))
    target = (inputs((4, 2, 6), seed=5) > 0).astype(float)
    p = model.predict(x)
    want = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
    loss, out = model.train_step(x, target)
    np.testing.assert_allclose(out, p, rtol=1e-12)
    np.testing.assert_allclose(loss, want, rtol=1e-6)


def test_backward_preactivation_skips_the_activation():
    layer = built(layers.Conv1D(3, 3, activation="tanh"), (2, 8))
    layer.keeps_preactivation = True  # as compile() sets it on a fused output layer
    linear = built(layers.Conv1D(3, 3), (2, 8))
    x = inputs((2, 2, 8))
    layer.forward(x, training=True)
    linear.forward(x, training=True)
    np.testing.assert_allclose(layer.preactivation, linear.forward(x), rtol=1e-14)
    dz = inputs((2, 3, 6), seed=3)
    assert max_rel_error(layer.backward_preactivation(dz), linear.backward(dz)) < 1e-14
    assert max_rel_error(layer.grads["W"], linear.grads["W"]) < 1e-14


def test_params_dict_is_the_source_of_truth():
    layer = built(layers.Conv2D(2, 1, use_bias=False), (3, 2, 2))
    layer.params["W"] = np.ones((2, 3, 1, 1))
    x = inputs((1, 3, 2, 2))
    np.testing.assert_allclose(layer.forward(x), np.repeat(x.sum(1, keepdims=True), 2, 1))


def test_get_config_rebuilds_the_layer():
    layer = layers.Conv2D(8, [3, 5], stride=2, padding="same", dilation=1, activation="relu",
                          init="he_normal", use_bias=False, name="c1")
    config = layer.get_config()
    assert config == {"filters": 8, "kernel_size": [3, 5], "stride": 2, "padding": "same",
                      "dilation": 1, "activation": "relu", "init": "he_normal",
                      "bias_init": "zeros", "use_bias": False, "name": "c1"}
    again = layers.from_config({"type": "conv2d", **config})
    assert again.get_config() == config
    assert layers.from_config({"type": "conv1d", "filters": 4, "kernel_size": 3}).rank == 1


@pytest.mark.parametrize("make,message", [
    (lambda: layers.Conv2D(0, 3), "conv2d: filters must be a positive integer, got 0"),
    (lambda: layers.Conv2D(4, 3, stride=0),
     "conv2d: stride must be a positive integer or a list of 2 of them, got 0"),
    (lambda: layers.Conv1D(4, 3, dilation=-1),
     "conv1d: dilation must be a positive integer or a list of 1 of them, got -1"),
    (lambda: layers.Conv2D(4, (3, 3, 3)), "kernel_size must be a positive integer or a list of 2"),
    (lambda: layers.Conv2D(4, 3, padding=-1), "padding must be a non-negative integer"),
    (lambda: layers.Conv2D(4, 3, padding="full"), "'valid' or 'same', got 'full'"),
    (lambda: layers.Conv2D(4, 3, activation="softmax"), "'softmax' is not supported"),
    (lambda: layers.Conv2D(4, 3, activation="relux"), "unknown activation 'relux'"),
])
def test_bad_arguments_are_named(make, message):
    with pytest.raises(NnxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_kernel_larger_than_padded_input():
    with pytest.raises(NnxError) as err:
        layers.Conv2D(4, 5, padding=1, name="c2").build((3, 2, 8))
    assert str(err.value) == ("layer 'c2': kernel (5, 5) is larger than the padded input "
                              "(4, 10) (input shape (3, 2, 8), padding ((1, 1), (1, 1)))")
    with pytest.raises(NnxError, match=r"kernel \(3,\) with dilation \(4,\) spans \(9,\) is "
                                       r"larger than the input \(8,\) \(input shape \(2, 8\)\)"):
        layers.Conv1D(4, 3, dilation=4).build((2, 8))


def test_wrong_rank_at_build_and_wrong_shape_at_forward():
    with pytest.raises(NnxError, match=r"layer 'conv2d' expects inputs of shape \(channels, "
                                       r"height, width\) .*got \(28, 28\)"):
        layers.Conv2D(4, 3).build((28, 28))
    with pytest.raises(NnxError, match=r"layer 'conv1d' expects inputs of shape \(channels, "
                                       r"length\)"):
        layers.Conv1D(4, 3).build((1, 28, 28))
    layer = built(layers.Conv2D(4, 3), (1, 8, 8))
    with pytest.raises(NnxError, match=r"layer 'conv2d' expects inputs of shape \(batch, 1, "
                                       r"8, 8\), got \(2, 8, 8\)"):
        layer.forward(np.zeros((2, 8, 8)))

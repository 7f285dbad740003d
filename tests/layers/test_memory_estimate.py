"""The memory estimate of every layer type (`param_shapes` and `memory_for`, which the size
check in nnx.limits reads before anything is built): the parameters it names are those
`build` makes, and a training step allocates no more than it estimates (measured with
tracemalloc, which sees numpy's arrays), nor ten times less."""

import tracemalloc

import numpy as np
import pytest

from nnx import layers

# type: (constructor arguments, the input shape of one sample)
SAMPLES = {
    "dense": ({"units": 64}, (32,)),
    "activation": ({"activation": "relu"}, (64,)),
    "dropout": ({"rate": 0.5}, (64,)),
    "flatten": ({}, (4, 8, 8)),
    "conv1d": ({"filters": 8, "kernel_size": 3, "padding": 1}, (4, 64)),
    "conv2d": ({"filters": 8, "kernel_size": 3, "stride": 2, "padding": "same"}, (3, 17, 17)),
    "max_pool1d": ({"pool_size": 2}, (4, 64)),
    "max_pool2d": ({"pool_size": 2}, (4, 16, 16)),
    "avg_pool1d": ({"pool_size": 2}, (4, 64)),
    "avg_pool2d": ({"pool_size": 2}, (4, 16, 16)),
    "global_average_pooling1d": ({}, (4, 64)),
    "global_average_pooling2d": ({}, (4, 16, 16)),
    "batch_normalization": ({}, (8, 8, 8)),
    "simple_rnn": ({"units": 16, "return_sequences": True}, (20, 8)),
    "lstm": ({"units": 16}, (20, 8)),
    "gru": ({"units": 16, "use_bias": False}, (20, 8)),
    "bidirectional": ({"layer": {"type": "lstm", "units": 8, "return_sequences": True}},
                      (20, 8)),
    "embedding": ({"input_dim": 50, "output_dim": 16}, (20,)),
    "multi_head_attention": ({"num_heads": 2}, (16, 16)),
    "layer_normalization": ({}, (16, 16)),
    "positional_encoding": ({}, (16, 16)),
    "positional_embedding": ({"max_length": 32}, (16, 16)),
    "sequence_pooling": ({}, (16, 16)),
    "transformer_encoder_block": ({"num_heads": 2, "ff_dim": 32}, (16, 16)),
    "add": ({}, [(64,), (64,)]),
    "concatenate": ({}, [(64,), (32,)]),
    "multiply": ({}, [(64,), (64,)]),
    "gaussian_noise": ({"stddev": 0.1}, (64,)),
    "up_sampling2d": ({}, (4, 8, 8)),
}
BATCH = 16


def built(kind):
    arguments, shape = SAMPLES[kind]
    layer = layers.from_config({"type": kind, **arguments})
    layer.build(shape, np.random.default_rng(0))
    return layer, shape


def batch_for(kind, shape):
    rng = np.random.default_rng(1)
    if kind == "embedding":
        return rng.integers(0, SAMPLES[kind][0]["input_dim"], (BATCH, *shape)).astype(np.float32)
    if isinstance(shape, list):
        return [rng.standard_normal((BATCH, *s)).astype(np.float32) for s in shape]
    return rng.standard_normal((BATCH, *shape)).astype(np.float32)


def train_step(layer, x):
    y = layer.forward(x, training=True)
    layer.backward(np.ones_like(y))


def test_every_layer_type_has_a_sample():
    assert set(SAMPLES) == set(layers.LAYERS.names())


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_param_shapes_are_the_shapes_build_makes(kind):
    layer, shape = built(kind)
    assert layer.param_shapes(shape) == {k: v.shape for k, v in layer.params.items()}


@pytest.mark.parametrize("kind", [*sorted(SAMPLES), "transformer_encoder_block in parts"])
def test_a_training_step_allocates_no_more_than_estimated(kind, monkeypatch):
    if kind.endswith(" in parts"):  # its twins' gradients and the parts' arrays counted too
        from nnx.kernels import threads
        from nnx.layers import transformer

        kind = kind.removesuffix(" in parts")
        monkeypatch.setattr(transformer, "PART_WORK", 1)
        monkeypatch.setattr(threads.numba, "get_num_threads", lambda: 2)
    train_step(built(kind)[0], batch_for(kind, SAMPLES[kind][1]))  # compile the kernels first
    layer, shape = built(kind)
    x = batch_for(kind, shape)
    estimate = 4 * sum(layer.memory_for(shape, BATCH).values())  # float32
    tracemalloc.start()
    try:
        train_step(layer, x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= estimate, (peak, estimate)
    assert estimate <= 10 * peak, (peak, estimate)  # of the right size, not just large

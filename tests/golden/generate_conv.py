"""Write tests/golden/conv.npz: PyTorch's outputs and gradients for the conv, pooling and
batch-norm layers, read by tests/layers/test_conv_golden.py (which needs no torch).

Run with torch installed: `.venv/bin/python tests/golden/generate_conv.py`. Seeds are fixed.
Each case stores its inputs, parameters, the upstream gradient `dy` and PyTorch's results
under `<case>/<array>`; `__cases__` (uint8 UTF-8 JSON) lists every case with the nnx layer
config that must reproduce it. Keras-style "same" padding with stride > 1 is asymmetric,
which torch's conv does not do: the input is padded with F.pad here instead.
"""

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

OUT = Path(__file__).with_name("conv.npz")
ACTIVATIONS = {None: lambda t: t, "relu": torch.relu, "tanh": torch.tanh}


def same_pads(size, kernel, stride, dilation):
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def per_axis(value, rank):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank


def conv_case(gen, rank, x_shape, filters, kernel_size, stride=1, padding=0, dilation=1,
              activation=None, dtype=torch.float64):
    kernel, strides, dilations = (per_axis(v, rank) for v in (kernel_size, stride, dilation))
    x = torch.randn(x_shape, generator=gen, dtype=dtype, requires_grad=True)
    W = torch.randn((filters, x_shape[1]) + kernel, generator=gen, dtype=dtype) * 0.3
    b = torch.randn(filters, generator=gen, dtype=dtype) * 0.1
    W.requires_grad_(), b.requires_grad_()
    conv = F.conv1d if rank == 1 else F.conv2d
    if padding == "same":
        pads = [same_pads(n, k, s, d) for n, k, s, d in
                zip(x_shape[2:], kernel, strides, dilations, strict=True)]
        flat = [p for pair in reversed(pads) for p in pair]  # F.pad: last axis first
        z = conv(F.pad(x, flat), W, b, stride=strides, dilation=dilations)
    else:
        pads = 0 if padding == "valid" else per_axis(padding, rank)
        z = conv(x, W, b, stride=strides, padding=pads, dilation=dilations)
    y = ACTIVATIONS[activation](z)
    dy = torch.randn(y.shape, generator=gen, dtype=dtype)
    y.backward(dy)
    config = {"type": f"conv{rank}d", "filters": filters, "kernel_size": kernel_size,
              "stride": stride, "padding": padding, "dilation": dilation,
              "activation": activation}
    arrays = {"x": x, "W": W, "b": b, "y": y, "dy": dy, "dx": x.grad, "dW": W.grad,
              "db": b.grad}
    return config, arrays


def pool_case(gen, kind, rank, x_shape, pool_size, stride=None, dtype=torch.float64):
    x = torch.randn(x_shape, generator=gen, dtype=dtype, requires_grad=True)
    fn = {("max", 1): F.max_pool1d, ("max", 2): F.max_pool2d,
          ("avg", 1): F.avg_pool1d, ("avg", 2): F.avg_pool2d}[kind, rank]
    y = fn(x, pool_size, stride=stride)
    dy = torch.randn(y.shape, generator=gen, dtype=dtype)
    y.backward(dy)
    config = {"type": f"{kind}_pool{rank}d", "pool_size": pool_size, "stride": stride}
    return config, {"x": x, "y": y, "dy": dy, "dx": x.grad}


def batch_norm_case(gen, x_shape, momentum, eps, training, dtype=torch.float64):
    channels = x_shape[1]
    x = torch.randn(x_shape, generator=gen, dtype=dtype) * 2.0 + 0.5
    x.requires_grad_()
    gamma = (torch.rand(channels, generator=gen, dtype=dtype) + 0.5).requires_grad_()
    beta = torch.randn(channels, generator=gen, dtype=dtype).requires_grad_()
    running_mean = torch.randn(channels, generator=gen, dtype=dtype)
    running_var = torch.rand(channels, generator=gen, dtype=dtype) + 0.5
    arrays = {"x": x, "gamma": gamma, "beta": beta, "running_mean": running_mean.clone(),
              "running_var": running_var.clone()}
    y = F.batch_norm(x, running_mean, running_var, gamma, beta, training=training,
                     momentum=momentum, eps=eps)
    dy = torch.randn(y.shape, generator=gen, dtype=dtype)
    y.backward(dy)
    arrays.update(y=y, dy=dy, dx=x.grad, dgamma=gamma.grad, dbeta=beta.grad,
                  new_running_mean=running_mean, new_running_var=running_var)
    config = {"type": "batch_normalization", "momentum": momentum, "eps": eps,
              "training": training}
    return config, arrays


def cases(gen):
    f32 = torch.float32
    yield "conv2d_pad1", conv_case(gen, 2, (2, 3, 7, 8), 4, 3, padding=1, activation="relu")
    yield "conv2d_stride2_rect", conv_case(gen, 2, (2, 3, 7, 8), 4, (3, 2), stride=2)
    yield "conv2d_dilation2", conv_case(gen, 2, (2, 2, 9, 8), 3, 3, padding=2, dilation=2,
                                        activation="tanh")
    yield "conv2d_same_stride2", conv_case(gen, 2, (2, 3, 7, 8), 4, 3, stride=2,
                                           padding="same")
    yield "conv2d_same_even", conv_case(gen, 2, (2, 2, 7, 9), 3, (2, 4), stride=(2, 3),
                                        padding="same", dilation=(1, 2))
    yield "conv2d_valid_f32", conv_case(gen, 2, (3, 4, 10, 9), 5, 3, padding="valid",
                                        activation="relu", dtype=f32)
    yield "conv1d_valid", conv_case(gen, 1, (2, 3, 11), 4, 3)
    yield "conv1d_stride2_pad2", conv_case(gen, 1, (2, 3, 12), 4, 5, stride=2, padding=2,
                                           activation="tanh")
    yield "conv1d_same_dilation2", conv_case(gen, 1, (2, 2, 10), 3, 3, padding="same",
                                             dilation=2)
    yield "conv1d_same_even_stride3", conv_case(gen, 1, (2, 3, 11), 4, 4, stride=3,
                                                padding="same")
    yield "conv1d_f32", conv_case(gen, 1, (4, 3, 40), 8, 5, stride=2, dtype=f32)
    yield "max_pool2d_2", pool_case(gen, "max", 2, (2, 3, 7, 9), 2)
    yield "max_pool2d_3s2", pool_case(gen, "max", 2, (2, 3, 9, 8), 3, stride=2)
    yield "max_pool1d_3s2", pool_case(gen, "max", 1, (2, 3, 11), 3, stride=2)
    yield "avg_pool2d_rect", pool_case(gen, "avg", 2, (2, 3, 7, 9), (2, 3), stride=(2, 1))
    yield "avg_pool1d_2", pool_case(gen, "avg", 1, (2, 3, 11), 2)
    yield "max_pool2d_f32", pool_case(gen, "max", 2, (3, 4, 10, 10), 2, dtype=f32)
    yield "batch_norm_dense_train", batch_norm_case(gen, (8, 5), 0.1, 1e-5, True)
    yield "batch_norm_conv2d_train", batch_norm_case(gen, (4, 3, 5, 6), 0.3, 1e-3, True)
    yield "batch_norm_conv1d_train", batch_norm_case(gen, (3, 4, 7), 0.1, 1e-5, True)
    yield "batch_norm_conv2d_eval", batch_norm_case(gen, (4, 3, 5, 6), 0.1, 1e-5, False)
    yield "batch_norm_train_f32", batch_norm_case(gen, (16, 6, 4), 0.1, 1e-5, True,
                                                  dtype=f32)


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20240611)
    out, index = {}, []
    for name, (config, arrays) in cases(gen):
        dtype = str(arrays["x"].dtype).removeprefix("torch.")
        training = config.pop("training", True)  # a forward flag, not a layer argument
        index.append({"name": name, "config": config, "dtype": dtype, "training": training})
        for key, value in arrays.items():
            out[f"{name}/{key}"] = value.detach().numpy()
    out["__cases__"] = np.frombuffer(json.dumps(index).encode(), dtype=np.uint8)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(index)} cases)")


if __name__ == "__main__":
    main()

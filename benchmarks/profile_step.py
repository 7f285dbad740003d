"""Where one training step's time goes: `python -m benchmarks.profile_step [mlp_small|mlp]`.

Times each part of the training step that fit runs (`_train_step`, on batches already
checked and converted) on its own (the minimum over many repeats, so a busy machine disturbs
it little) and prints microseconds per part and its share.
"""

import sys
import time

import numpy as np

import nnx
from nnx import layers, optimizers
from nnx.kernels import matmul

SHAPES = {"mlp_small": ([64, 64, 10], 32), "mlp": ([784, 256, 256, 10], 128)}


def best_us(fn, repeats=300):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1e6


def profile(name):
    sizes, batch = SHAPES[name]
    hidden = [layers.Dense(s, activation="relu") for s in sizes[1:-1]]
    model = nnx.Sequential([*hidden, layers.Dense(sizes[-1], activation="softmax")],
                           input_shape=(sizes[0],), seed=0)
    model.compile(optimizer=optimizers.Adam(lr=1e-3), loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch * 40, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch * 40)
    model.fit(x, y, epochs=1, batch_size=batch, verbose=0)  # compile / load kernels
    xb, yb = x[:batch], y[:batch]
    order = rng.permutation(len(x))[:batch]
    model._train_step([xb], [yb])

    def loss_and_backward():  # on the training caches the last forward left in place
        outs = model._forward([xb], training=True)
        loss, grads = model._losses_and_grads(outs, [yb])
        model._backward(grads)
    params, grads = model.parameters(), model.gradients()
    dense = model.layers[0]
    z = np.empty((batch, dense.units), np.float32)
    flops = sum(2 * batch * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    flops += sum(2 * batch * a * b for a, b in zip(sizes[:-1], sizes[1:]))  # dW
    flops += sum(2 * batch * a * b for a, b in zip(sizes[1:-1], sizes[2:]))  # dx above layer 0
    parts = {
        "whole fit step (epoch / batches)": best_us(
            lambda: model.fit(x, y, epochs=1, batch_size=batch, verbose=0), 20) / 40,
        "train_step": best_us(lambda: model._train_step([xb], [yb])),
        "  forward (all layers)": best_us(lambda: model._forward([xb], training=True)),
        "  forward + loss + backward": best_us(loss_and_backward),
        "  optimizer step": best_us(lambda: model.optimizer.step(params, grads)),
        "  parameters()/gradients() lists": best_us(
            lambda: (model.parameters(), model.gradients())),
        "batch gather x[idx], y[idx]": best_us(lambda: (x[order], y[order])),
        "one empty numba call (dispatch)": best_us(lambda: matmul.gemm(xb[:1, :1], xb[:1, :1],
                                                                        z[:1, :1])),
        "GEMM of layer 0 forward (BLAS)": best_us(lambda: matmul.gemm(xb, dense.params["W"], z)),
        "np.empty of a layer output": best_us(lambda: np.empty((batch, dense.units),
                                                               np.float32)),
    }
    step = parts["train_step"]
    print(f"{name}: sizes {sizes}, batch {batch}; GEMM work {flops / 1e6:.1f} MFLOP per step "
          f"= {flops / step / 1e3:.1f} GFLOP/s over the whole train_step")
    for part, us in parts.items():
        print(f"  {part:<36} {us:9.1f} us  {100 * us / step:5.1f} % of train_step")


if __name__ == "__main__":
    for workload in sys.argv[1:] or list(SHAPES):
        profile(workload)

"""What `diagnostics: basic` costs: `python -m benchmarks.diagnostics_overhead`.

The same model fits one epoch with and without the Diagnostics callback, alternating
(A B A B ...); the figure is the median per-pair ratio of epoch times, minus one.
"""

import numpy as np

import nnx
from benchmarks.protocol import compare
from benchmarks.workloads import BATCHES_PER_EPOCH
from nnx import layers, optimizers
from nnx.diagnostics import Diagnostics

SHAPES = {"mlp_small": ([64, 64, 10], 32), "mlp": ([784, 256, 256, 10], 128)}


def overhead(sizes, batch, level, pairs):
    hidden = [layers.Dense(s, activation="relu") for s in sizes[1:-1]]
    model = nnx.Sequential([*hidden, layers.Dense(sizes[-1], activation="softmax")],
                           input_shape=(sizes[0],), seed=0)
    model.compile(optimizer=optimizers.Adam(lr=1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    n = batch * BATCHES_PER_EPOCH
    x = rng.standard_normal((n, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], n)

    def with_diagnostics():
        model.fit(x, y, epochs=1, batch_size=batch, callbacks=[Diagnostics(level)], verbose=0)
        return 1

    def without():
        model.fit(x, y, epochs=1, batch_size=batch, verbose=0)
        return 1

    return compare(with_diagnostics, without, pairs=pairs)


def main():
    for name, (sizes, batch) in SHAPES.items():
        for level in ("basic", "full"):
            result = overhead(sizes, batch, level, pairs=15)
            cost = 100 * (result["ratio"] - 1)
            print(f"{name:<10} {level:<6} epoch {result['peer_s'] * 1e3:8.2f} ms -> "
                  f"{result['nnx_s'] * 1e3:8.2f} ms: overhead {cost:+5.1f} % "
                  f"(pair ratios {result['ratio_min']:.3f}-{result['ratio_max']:.3f})")


if __name__ == "__main__":
    main()

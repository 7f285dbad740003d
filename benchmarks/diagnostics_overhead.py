"""What training diagnostics cost: `python -m benchmarks.diagnostics_overhead [SCALE]`.

The same model fits one epoch with diagnostics off, `basic` and `full` in turn
(off basic full off basic full ...) in one process, SCALE times the default rounds; a
figure is the median per-round ratio of epoch times to the round's "off" epoch, minus one,
with the range of the ratios.
The "off" epoch time itself is printed so that runs of two versions of nnx can be set side
by side (off must not get slower).
"""

import sys

import numpy as np

import nnx
from benchmarks.protocol import alternate, ratios
from benchmarks.workloads import BATCHES_PER_EPOCH
from nnx import layers, optimizers
from nnx.diagnostics import Diagnostics

# name: (layer sizes, batch size, rounds at the default scale); an mlp epoch is ~30x longer
SHAPES = {"mlp_small": ([64, 64, 10], 32, 200), "mlp": ([784, 256, 256, 10], 128, 30)}
LEVELS = ("basic", "full")


def epoch_times(sizes, batch, rounds):
    """{"off", "basic", "full": [seconds per epoch, one per round]}."""
    hidden = [layers.Dense(s, activation="relu") for s in sizes[1:-1]]
    model = nnx.Sequential([*hidden, layers.Dense(sizes[-1], activation="softmax")],
                           input_shape=(sizes[0],), seed=0)
    model.compile(optimizer=optimizers.Adam(lr=1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    n = batch * BATCHES_PER_EPOCH
    x = rng.standard_normal((n, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], n)

    def epoch(level):
        def run():
            watchers = [] if level == "off" else [Diagnostics(level)]
            model.fit(x, y, epochs=1, batch_size=batch, callbacks=watchers, verbose=0)
            return 1
        return run

    return alternate({level: epoch(level) for level in ("off", *LEVELS)}, rounds, warmup=3)


def main(scale=1.0):
    for name, (sizes, batch, rounds) in SHAPES.items():
        times = epoch_times(sizes, batch, max(1, round(rounds * scale)))
        for level in LEVELS:
            r = ratios(times, level, "off")
            print(f"{name:<10} {level:<6} epoch off {r['base_s'] * 1e3:7.2f} ms, "
                  f"{level} {r['s'] * 1e3:7.2f} ms: overhead {100 * (r['ratio'] - 1):+5.1f} % "
                  f"(pair ratios {r['ratio_min']:.3f}-{r['ratio_max']:.3f}, "
                  f"{r['pairs']} pairs)")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)

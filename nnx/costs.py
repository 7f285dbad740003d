"""The costs of a run that nnx measures itself, beside its metrics: what a search may trade
accuracy against (`search.objectives`). Every run records them in its JSON (`costs`).

- `params`: trainable parameters (`model.count_params()`);
- `model_bytes`: bytes of the arrays a model file holds (weights and state, uncompressed);
- `train_s`: wall time of training (`fit`), in seconds;
- `predict_ms`: milliseconds to predict 1,000 rows (null unless the run completed),
  measured the same way for every run so that trials compare: one batch of PREDICT_ROWS
  rows (the validation rows, else the test, else the training rows, repeated up to that
  count), one warm-up pass (the first call of a kernel pays for loading it), then the
  median of PREDICT_REPEATS timed passes. It depends on the machine and the thread count
  (both in the run record): compare it within a study, not across machines.

The name table imports nothing heavy: the experiment schema reads it.
"""

import statistics
import time

from nnx.registry import Described, Registry

PREDICT_ROWS = 1000
PREDICT_REPEATS = 5


COSTS = Registry.of("cost", (
    Described("params", "trainable parameters"),
    Described("predict_ms", f"milliseconds to predict {PREDICT_ROWS:,} rows (median of "
                            f"{PREDICT_REPEATS} timed passes after a warm-up)"),
    Described("train_s", "training wall time in seconds"),
    Described("model_bytes", "bytes of the weights and state a model file holds"),
))


def model_bytes(model):
    return int(sum(a.nbytes for layer in model.layers
                   for a in (*layer.params.values(), *layer.state.values())))


def predict_ms(model, x):
    """Milliseconds `model` takes to predict PREDICT_ROWS rows made from `x` (N, ...): its
    first PREDICT_ROWS rows, repeated when it has fewer."""
    import numpy as np

    first = np.asarray(x[:PREDICT_ROWS])
    rows = np.resize(first, (PREDICT_ROWS, *first.shape[1:]))
    model.predict(rows, batch_size=PREDICT_ROWS)
    times = []
    for _ in range(PREDICT_REPEATS):
        started = time.perf_counter()
        model.predict(rows, batch_size=PREDICT_ROWS)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def measure(model, x, train_s):
    """{cost name: value} of a trained model; `x` the rows to time predictions on (None:
    no prediction time)."""
    return {"params": int(model.count_params()),
            "predict_ms": None if x is None else round(predict_ms(model, x), 4),
            "train_s": round(train_s, 3), "model_bytes": model_bytes(model)}

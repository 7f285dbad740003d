"""Training diagnostics recorded with every run: dead units, gradient flow, overfitting.

An opt-in hook: the callback asks the optimizer to collect its figures while it watches
(`Optimizer.collect_stats`), and nothing is computed for diagnostics otherwise. Cheap when
on: gradient norms, update-to-weight ratios and weight norms come out of the optimizer
kernels' own pass over memory (`Optimizer.take_stats`); after each batch, a ReLU layer that
`reports_fired_units` marks the units that fired (one read per unit already seen firing),
until all have: the callback then skips the rest of the epoch's batches. The figures are
reduced to one value per layer once per epoch, in plain Python over a few numbers.
Levels:

- ``basic`` (default): per epoch, per layer with parameters: ``grad_norm`` (L2 norm of the
  layer's gradient after clipping, mean over the epoch's steps), ``weight_norm`` (at the end
  of the epoch), ``update_ratio`` (||update|| / ||weights||, mean over the steps) and, for
  ReLU layers, ``dead_fraction`` (units whose output was zero for every sample of the epoch;
  Dense and convolution layers, whose units or filters are on axis 1 of their output; a
  layer called several times in a graph model reports the units of one of its calls).
- ``full``: also the same three figures per parameter (``grad_norm.W``, ``grad_norm.b``, ...).
- ``off``: nothing is recorded.

Flags and their thresholds (``THRESHOLDS``, also written into the run JSON):
``dead_units`` (more than 50 % of a layer's units dead), ``vanishing_gradient`` (a layer's
gradient norm below 1e-3 of the largest layer's), ``exploding_gradient`` (a gradient norm
above 1e3, or 10x growth over 3 epochs), ``overfitting`` (the training metric better than
the validation metric by more than the gap while the validation loss rose 3 epochs running),
``diverged`` (training stopped on a non-finite loss; the last finite weights were kept).
"""

import math

import numpy as np

from nnx.activations import RELU_FAMILY
from nnx.callbacks import SKIP_REST_OF_EPOCH, Callback
from nnx.errors import NnxError
from nnx.metrics import higher_is_better

LEVELS = ("off", "basic", "full")

THRESHOLDS = {
    "dead_fraction": 0.5,
    "vanishing_ratio": 1e-3,
    "exploding_norm": 1e3,
    "exploding_growth": 10.0,
    "growth_epochs": 3,
    "overfitting_gap": 0.05,  # in the metric's units: 5 points of accuracy; for losses, relative
    "overfitting_epochs": 3,
}


def check_level(level):
    if level not in LEVELS:
        raise NnxError(f"diagnostics must be one of {', '.join(LEVELS)}, got {level!r}")
    return level


class Diagnostics(Callback):
    """Collects the per-epoch figures and raises the flags; `result()` is the JSON value."""

    def __init__(self, level="basic", thresholds=None):
        self.level = check_level(level)
        self.thresholds = {**THRESHOLDS, **(thresholds or {})}

    def on_train_begin(self, logs=None):
        model = self.model
        self.per_epoch, self.flags, self._flagged = {}, [], set()
        self._logs = []  # a copy of each epoch's logs, for the overfitting flag
        # Per layer with parameters: (its name, its record, its parameter keys, the optimizer
        # position of the first (the others follow on), the units that fired or None).
        self._layers = []
        self._fired = []  # (layer, (units,) bool) per watched ReLU layer
        position = 0
        for i, layer in enumerate(model.layers):
            if not layer.params:
                continue
            name = f"{i}.{layer.name}"
            fired = None
            if layer.reports_fired_units and layer.activation in RELU_FAMILY:
                fired = np.zeros(layer.output_shape[0], dtype=np.bool_)
                self._fired.append((layer, fired))
            keys = tuple(layer.params)
            self.per_epoch[name] = record = {}
            self._layers.append((name, record, keys, position, fired))
            position += len(keys)
        model.optimizer.collect_stats()

    def on_epoch_begin(self, epoch, logs=None):
        self._unsure = self._fired  # layers with units not seen firing yet

    def on_batch_end(self, batch, logs):
        self._unsure = [(layer, fired) for layer, fired in self._unsure
                        if not layer.mark_fired_units(fired)]
        if not self._unsure:  # most epochs: after the first batch
            return SKIP_REST_OF_EPOCH
        return None

    def on_epoch_end(self, epoch, logs):
        stats = self.model.optimizer.take_stats()
        full = self.level == "full"
        grad_norms = []
        for _, record, keys, first, fired in self._layers:
            rows = stats[first:first + len(keys)]
            grad_sq = weight_sq = update_sq = 0.0
            for grad, ratio, weight in rows:
                grad_sq += grad * grad
                weight_sq += weight * weight
                update_sq += (ratio * weight) ** 2
            grad_norm, weight_norm = math.sqrt(grad_sq), math.sqrt(weight_sq)
            grad_norms.append(grad_norm)
            _append(record, "grad_norm", grad_norm)
            _append(record, "weight_norm", weight_norm)
            _append(record, "update_ratio",
                    math.sqrt(update_sq) / weight_norm if weight_norm else 0.0)
            if full:
                for key, (grad, ratio, weight) in zip(keys, rows):
                    _append(record, f"grad_norm.{key}", grad)
                    _append(record, f"weight_norm.{key}", weight)
                    _append(record, f"update_ratio.{key}", ratio)
            if fired is not None:
                # a layer no longer in `_unsure` had every unit fire: nothing to count
                unsure = self._unsure and any(fired is f for _, f in self._unsure)
                _append(record, "dead_fraction",
                        1.0 - np.count_nonzero(fired) / len(fired) if unsure else 0.0)
                fired.fill(False)
        self._logs.append(dict(logs))
        self._raise_flags(epoch, max(grad_norms, default=0.0))

    def on_train_end(self, logs=None):
        self.model.optimizer.collect_stats(False)
        if self.model.status == "diverged":
            self._flag("diverged", None, len(self._logs) - 1,
                       f"{self.model.stop_reason}; the last finite weights were kept")

    # -- flags --------------------------------------------------------------------------
    def _raise_flags(self, epoch, largest):
        """`largest`: the largest layer's gradient norm this epoch."""
        t = self.thresholds
        for name, record, _, _, fired in self._layers:
            if fired is not None and record["dead_fraction"][-1] > t["dead_fraction"]:
                self._flag("dead_units", name, epoch,
                           f"{record['dead_fraction'][-1]:.0%} of the units never fired in "
                           f"epoch {epoch + 1}")
            history = record["grad_norm"]
            grad = history[-1]
            if largest > 0 and grad < t["vanishing_ratio"] * largest:
                self._flag("vanishing_gradient", name, epoch,
                           f"gradient norm {grad:.3g} is below {t['vanishing_ratio']:g} of the "
                           f"largest layer's ({largest:.3g})")
            back = t["growth_epochs"]
            grew = (len(history) > back and history[-1 - back] > 0
                    and history[-1] > t["exploding_growth"] * history[-1 - back])
            if grad > t["exploding_norm"] or not math.isfinite(grad) or grew:
                growth = (f", {history[-1] / history[-1 - back]:.3g}x in {back} epochs"
                          if grew else "")
                self._flag("exploding_gradient", name, epoch, f"gradient norm {grad:.3g}{growth}")
        self._check_overfitting(epoch)

    def _check_overfitting(self, epoch):
        t = self.thresholds
        n = t["overfitting_epochs"]
        recent = self._logs[-(n + 1):]
        if len(recent) <= n:
            return
        val_loss = [logs.get("val_loss", math.nan) for logs in recent]
        if any(math.isnan(v) for v in val_loss):
            return
        if not all(b > a for a, b in zip(val_loss, val_loss[1:])):
            return
        logs = recent[-1]
        metric = next((m for m in self.model.metric_names if m in logs), None)
        val = logs.get(f"val_{metric}", math.nan) if metric is not None else math.nan
        if not math.isnan(val):
            train = logs[metric]
            gap = (train - val) if higher_is_better(metric) else (val - train)
            what = metric
        else:
            train, val = logs.get("loss", math.nan), val_loss[-1]
            gap = (val - train) / max(abs(train), 1e-12)
            what = "loss"
        if gap > t["overfitting_gap"]:
            self._flag("overfitting", None, epoch,
                       f"train {what} {train:.4g} vs validation {val:.4g} while the validation "
                       f"loss rose for {n} epochs")

    def _flag(self, flag, layer, epoch, detail):
        if (flag, layer) in self._flagged:
            return
        self._flagged.add((flag, layer))
        self.flags.append({"flag": flag, "layer": layer, "epoch": epoch + 1, "detail": detail})

    def result(self, confusion=None):
        return {"level": self.level, "thresholds": self.thresholds, "per_epoch": self.per_epoch,
                "flags": self.flags, "confusion_matrix": confusion}


def confusion_matrix(pred, target, n_classes):
    """rows: true class, columns: predicted class (argmax; threshold 0.5 for one column)."""
    if pred.ndim == 2 and pred.shape[1] > 1:
        predicted = pred.argmax(axis=1)
    else:
        predicted = (pred.reshape(-1) > 0.5).astype(np.int64)
    true = np.asarray(target).reshape(len(predicted), -1)
    true = true[:, 0] if true.shape[1] == 1 else true.argmax(axis=1)
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (true.astype(np.int64), predicted), 1)
    return matrix.tolist()


def _append(record, key, value):
    record.setdefault(key, []).append(float(value))

"""Training diagnostics recorded with every run: dead units, gradient flow, overfitting.

An opt-in hook: the callback asks the optimizer to collect its figures while it watches
(`Optimizer.collect_stats`), and nothing is computed for diagnostics otherwise. Cheap when
on: gradient norms, update-to-weight ratios and weight norms come out of the optimizer
kernels' own pass over memory (`Optimizer.take_stats`); after each batch, a ReLU layer that
`reports_fired_units` marks the units that fired (one read per unit already seen firing).
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
from nnx.callbacks import Callback
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
        self._history = {"loss": [], "val_loss": [], "train": [], "val": []}
        self._positions = []  # (layer name, param key) per optimizer position
        self._fired = {}  # layer name -> (layer, (units,) bool: the units that fired)
        for i, layer in enumerate(model.layers):
            if not layer.params:
                continue
            name = f"{i}.{layer.name}"
            self.per_epoch[name] = {}
            self._positions += [(name, key) for key in layer.params]
            if layer.reports_fired_units and layer.activation in RELU_FAMILY:
                units = layer.output_shape[0]
                self._fired[name] = layer, np.zeros(units, dtype=np.bool_)
        model.optimizer.collect_stats()

    def on_epoch_begin(self, epoch, logs=None):
        self._unsure = list(self._fired.values())  # layers with units not seen firing yet

    def on_batch_end(self, batch, logs):
        if self._unsure:  # most epochs: empty after the first batch
            self._unsure = [(layer, fired) for layer, fired in self._unsure
                            if not layer.mark_fired_units(fired)]

    def on_epoch_end(self, epoch, logs):
        stats = self.model.optimizer.take_stats()
        by_layer = {}
        for (name, key), (grad, ratio, weight) in zip(self._positions, stats):
            by_layer.setdefault(name, []).append((key, grad, ratio, weight))
        for name, rows in by_layer.items():
            record = self.per_epoch[name]
            weight_norm = math.sqrt(sum(w * w for _, _, _, w in rows))
            update_norm = math.sqrt(sum((r * w) ** 2 for _, _, r, w in rows))
            _append(record, "grad_norm", math.sqrt(sum(g * g for _, g, _, _ in rows)))
            _append(record, "weight_norm", weight_norm)
            _append(record, "update_ratio", update_norm / weight_norm if weight_norm else 0.0)
            if self.level == "full":
                for key, grad, ratio, weight in rows:
                    _append(record, f"grad_norm.{key}", grad)
                    _append(record, f"weight_norm.{key}", weight)
                    _append(record, f"update_ratio.{key}", ratio)
            if name in self._fired:
                fired = self._fired[name][1]
                _append(record, "dead_fraction", 1.0 - np.count_nonzero(fired) / len(fired))
                fired[:] = False
        self._remember(logs)
        self._raise_flags(epoch)

    def on_train_end(self, logs=None):
        self.model.optimizer.collect_stats(False)
        if self.model.status == "diverged":
            self._flag("diverged", None, len(self._history["loss"]) - 1,
                       f"{self.model.stop_reason}; the last finite weights were kept")

    # -- flags --------------------------------------------------------------------------
    def _remember(self, logs):
        metric = next((m for m in self.model.metric_names if m in logs), None)
        self._metric = metric
        for key, source in (("loss", "loss"), ("val_loss", "val_loss"), ("train", metric),
                            ("val", f"val_{metric}" if metric else None)):
            self._history[key].append(logs.get(source, math.nan) if source else math.nan)

    def _raise_flags(self, epoch):
        t = self.thresholds
        grads = {name: rec["grad_norm"][-1] for name, rec in self.per_epoch.items()
                 if rec.get("grad_norm")}
        largest = max(grads.values(), default=0.0)
        for name, record in self.per_epoch.items():
            dead = record.get("dead_fraction")
            if dead and dead[-1] > t["dead_fraction"]:
                self._flag("dead_units", name, epoch,
                           f"{dead[-1]:.0%} of the units never fired in epoch {epoch + 1}")
            grad = grads.get(name)
            if grad is None:
                continue
            if largest > 0 and grad < t["vanishing_ratio"] * largest:
                self._flag("vanishing_gradient", name, epoch,
                           f"gradient norm {grad:.3g} is below {t['vanishing_ratio']:g} of the "
                           f"largest layer's ({largest:.3g})")
            history = record["grad_norm"]
            back = t["growth_epochs"]
            grew = (len(history) > back and history[-1 - back] > 0
                    and history[-1] > t["exploding_growth"] * history[-1 - back])
            if grad > t["exploding_norm"] or not math.isfinite(grad) or grew:
                growth = (f", {history[-1] / history[-1 - back]:.3g}x in {back} epochs"
                          if grew else "")
                self._flag("exploding_gradient", name, epoch, f"gradient norm {grad:.3g}{growth}")
        self._check_overfitting(epoch)

    def _check_overfitting(self, epoch):
        t, h = self.thresholds, self._history
        n = t["overfitting_epochs"]
        val_loss = h["val_loss"][-(n + 1):]
        if len(val_loss) <= n or any(math.isnan(v) for v in val_loss):
            return
        if not all(b > a for a, b in zip(val_loss, val_loss[1:])):
            return
        if self._metric is not None and not math.isnan(h["val"][-1]):
            train, val = h["train"][-1], h["val"][-1]
            higher = higher_is_better(self._metric)
            gap = (train - val) if higher else (val - train)
            what = self._metric
        else:
            train, val = h["loss"][-1], h["val_loss"][-1]
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

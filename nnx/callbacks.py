"""Callbacks: hooks the training loop calls around epochs and batches.

The loop calls `on_batch_end` only for callbacks that override it, so per-batch hooks cost
nothing when unused; one that returns `SKIP_REST_OF_EPOCH` is not called again until the
next epoch (a watcher done with the epoch's batches early costs nothing after that).
"""

import math

from nnx import checks, schedules
from nnx.errors import NnxError
from nnx.metrics import higher_is_better

SKIP_REST_OF_EPOCH = object()  # returned by on_batch_end: no more calls this epoch


class Callback:
    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_batch_end(self, batch, logs):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self, logs=None):
        pass


MODES = ("auto", "min", "max")


def monitor_mode(monitor, mode="auto"):
    """'max' for accuracy-like metrics, else 'min'."""
    if mode not in MODES:
        raise NnxError(f"mode must be auto, min or max, got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if higher_is_better(monitor) else "min"


class _Monitor(Callback):
    """Tracks the best value of a logged quantity."""

    def __init__(self, monitor, mode, min_delta=0.0):
        self.monitor = monitor
        self.mode = monitor_mode(monitor, mode)
        self.min_delta = float(min_delta)
        self.best = None

    def improved(self, logs):
        if self.monitor not in logs:
            if self.model.status == "diverged":  # the epoch broke off before validation
                return False
            known = ", ".join(sorted(logs))
            raise NnxError(f"cannot monitor {self.monitor!r}: the epoch logs have {known}")
        value = logs[self.monitor]
        if not math.isfinite(value):
            return False
        if self.best is None:
            better = True
        elif self.mode == "min":
            better = value < self.best - self.min_delta
        else:
            better = value > self.best + self.min_delta
        if better:
            self.best = value
        return better


class EarlyStopping(_Monitor):
    """Stop when `monitor` has not improved for `patience` epochs; restore the best weights."""

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=True):
        super().__init__(monitor, mode, min_delta)
        self.patience = checks.integer("early_stopping", "patience", patience)
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.best_epoch, self.best_weights = None, 0, None, None

    def on_epoch_end(self, epoch, logs):
        if self.improved(logs):
            self.wait, self.best_epoch = 0, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.model.stop_training = True
            self.model.stop_reason = (f"early stopping: {self.monitor} did not improve for "
                                      f"{self.patience} epochs (best {self.best:.6g} at epoch "
                                      f"{self.best_epoch + 1})")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class DivergenceGuard(Callback):
    """A non-finite loss stops training as 'diverged' and restores the last finite weights
    (those at the start of the epoch in which the loss broke)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.snapshot = self.model.get_weights()

    def on_batch_end(self, batch, logs):
        if not math.isfinite(logs["loss"]):
            self._diverge(f"loss became {logs['loss']} at batch {batch + 1}")

    def on_epoch_end(self, epoch, logs):
        bad = sorted(k for k, v in logs.items() if k.endswith("loss") and not math.isfinite(v))
        if bad and self.model.status != "diverged":
            self._diverge(f"{bad[0]} became {logs[bad[0]]} in epoch {epoch + 1}")

    def _diverge(self, reason):
        self.model.set_weights(self.snapshot)
        self.model.stop_training = True
        self.model.status = "diverged"
        self.model.stop_reason = reason


class LearningRateScheduler(Callback):
    """Sets the optimizer's lr at the start of every epoch from a schedule."""

    def __init__(self, schedule):
        self.schedule = schedules.get(schedule)

    def on_train_begin(self, logs=None):
        self.base_lr = self.model.optimizer.lr

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.lr = self.schedule.lr_at(epoch, self.base_lr)


class ModelCheckpoint(_Monitor):
    """Saves the model to `path` whenever `monitor` improves (or every epoch)."""

    def __init__(self, path, monitor="val_loss", mode="auto", save_best_only=True):
        super().__init__(monitor, mode)
        self.path = path
        self.save_best_only = bool(save_best_only)

    def on_epoch_end(self, epoch, logs):
        if self.improved(logs) or not self.save_best_only:
            self.model.save(self.path)


class ProgressReport(Callback):
    """Feeds a `nnx.progress` Reporter from training: `fit(verbose=...)` shows its progress
    through it, with `info` ({"epochs", "steps"}) for the reporter's header; a run of
    `nnx train` through its own subclass, which announces the run itself."""

    def __init__(self, reporter, info=None):
        self.reporter, self.info = reporter, info

    def on_train_begin(self, logs=None):
        if self.info is not None:
            self.reporter.run_begin(self.info)

    def on_epoch_begin(self, epoch, logs=None):
        self.reporter.epoch_begin(epoch)

    def on_batch_end(self, batch, logs):
        self.reporter.batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs):
        self.reporter.epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self.info is not None:
            self.reporter.run_end(None)


class LambdaCallback(Callback):
    """Calls the given functions; used by the CLI for progress displays."""

    def __init__(self, on_epoch_end=None, on_batch_end=None, on_epoch_begin=None):
        if on_epoch_end is not None:
            self.on_epoch_end = on_epoch_end
        if on_batch_end is not None:
            self.on_batch_end = on_batch_end
        if on_epoch_begin is not None:
            self.on_epoch_begin = on_epoch_begin


def overrides(callback, hook):
    """Whether a callback defines its own `hook` (the loop skips no-op hooks)."""
    return hook in vars(callback) or getattr(type(callback), hook) is not getattr(Callback, hook)


__all__ = ["SKIP_REST_OF_EPOCH", "Callback", "EarlyStopping", "DivergenceGuard",
           "LearningRateScheduler", "ModelCheckpoint", "LambdaCallback", "ProgressReport"]

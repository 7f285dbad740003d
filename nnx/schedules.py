"""Per-epoch learning-rate schedules (`train.schedule: {type: step|exponential|cosine, ...}`).

`lr_at(epoch, base_lr)` gives the rate for a 0-based epoch; `warmup_epochs` ramps linearly
from base/W up to base over the first W epochs, after which the decay starts counting.
"""

import inspect
import math

from nnx.errors import NnxError
from nnx.registry import Registry


class Schedule:
    name = ""

    def __init__(self, warmup_epochs=0):
        if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, int) or warmup_epochs < 0:
            raise NnxError(f"schedule: warmup_epochs must be an integer >= 0, got {warmup_epochs!r}")
        self.warmup_epochs = warmup_epochs

    def lr_at(self, epoch, base_lr):
        if epoch < self.warmup_epochs:
            return base_lr * (epoch + 1) / self.warmup_epochs
        return self.decay(epoch - self.warmup_epochs, base_lr)

    def decay(self, epoch, base_lr):
        raise NotImplementedError

    def get_config(self):
        params = inspect.signature(type(self).__init__).parameters
        return {"type": self.name, **{k: getattr(self, k) for k in params if k != "self"}}


class Constant(Schedule):
    name = "constant"

    def decay(self, epoch, base_lr):
        return base_lr


class StepDecay(Schedule):
    """lr * gamma ** (epoch // step_size), as PyTorch's StepLR."""

    name = "step"

    def __init__(self, step_size=10, gamma=0.1, warmup_epochs=0):
        super().__init__(warmup_epochs)
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise NnxError(f"schedule step: step_size must be a positive integer, got {step_size!r}")
        self.step_size, self.gamma = step_size, _positive("gamma", gamma)

    def decay(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(Schedule):
    """lr * gamma ** epoch, as PyTorch's ExponentialLR."""

    name = "exponential"

    def __init__(self, gamma=0.95, warmup_epochs=0):
        super().__init__(warmup_epochs)
        self.gamma = _positive("gamma", gamma)

    def decay(self, epoch, base_lr):
        return base_lr * self.gamma ** epoch


class CosineDecay(Schedule):
    """Half a cosine from lr to min_lr over `epochs` epochs (PyTorch's CosineAnnealingLR)."""

    name = "cosine"

    def __init__(self, epochs, min_lr=0.0, warmup_epochs=0):
        super().__init__(warmup_epochs)
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise NnxError(f"schedule cosine: epochs must be a positive integer, got {epochs!r}")
        self.epochs = epochs
        if isinstance(min_lr, bool) or not isinstance(min_lr, (int, float)) or min_lr < 0:
            raise NnxError(f"schedule cosine: min_lr must be a number >= 0, got {min_lr!r}")
        self.min_lr = float(min_lr)

    def decay(self, epoch, base_lr):
        progress = min(epoch, self.epochs) / self.epochs
        return self.min_lr + (base_lr - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2


def _positive(field, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise NnxError(f"schedule: {field} must be a number > 0, got {value!r}")
    return float(value)


SCHEDULES = Registry("schedule", {cls.name: cls for cls in (
    Constant, StepDecay, ExponentialDecay, CosineDecay)})


def get(spec):
    return spec if isinstance(spec, Schedule) else SCHEDULES.create(spec)

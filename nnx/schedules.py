"""Per-epoch learning-rate schedules (`train.schedule: {type: step|exponential|cosine, ...}`).

`lr_at(epoch, base_lr)` gives the rate for a 0-based epoch; `warmup_epochs` ramps linearly
from base/W up to base over the first W epochs, after which the decay starts counting.
"""

import inspect
import math

from nnx import checks
from nnx.registry import Registry


class Schedule:
    name = ""

    def __init__(self, warmup_epochs=0):
        self.warmup_epochs = checks.integer("schedule", "warmup_epochs", warmup_epochs)

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
        self.step_size = checks.integer("schedule step", "step_size", step_size, minimum=1)
        self.gamma = checks.number("schedule step", "gamma", gamma, above=0.0)

    def decay(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(Schedule):
    """lr * gamma ** epoch, as PyTorch's ExponentialLR."""

    name = "exponential"

    def __init__(self, gamma=0.95, warmup_epochs=0):
        super().__init__(warmup_epochs)
        self.gamma = checks.number("schedule exponential", "gamma", gamma, above=0.0)

    def decay(self, epoch, base_lr):
        return base_lr * self.gamma ** epoch


class CosineDecay(Schedule):
    """Half a cosine from lr to min_lr over `epochs` epochs (PyTorch's CosineAnnealingLR)."""

    name = "cosine"

    def __init__(self, epochs, min_lr=0.0, warmup_epochs=0):
        super().__init__(warmup_epochs)
        self.epochs = checks.integer("schedule cosine", "epochs", epochs, minimum=1)
        self.min_lr = checks.number("schedule cosine", "min_lr", min_lr, minimum=0.0)

    def decay(self, epoch, base_lr):
        progress = min(epoch, self.epochs) / self.epochs
        return self.min_lr + (base_lr - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2


SCHEDULES = Registry("schedule", {cls.name: cls for cls in (
    Constant, StepDecay, ExponentialDecay, CosineDecay)})


def get(spec):
    return spec if isinstance(spec, Schedule) else SCHEDULES.create(spec)

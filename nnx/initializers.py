"""Weight initializers, by name or as `{type: NAME, ...arguments}`.

Each initializer is called as `init(shape, fan_in, fan_out, rng)` and returns float64 values;
the layer casts them to its dtype. The layer computes the fans from its parameter layout.
Normal variants draw from a plain (untruncated) normal, as PyTorch's `nn.init` does.
"""

import inspect
import math

import numpy as np

from nnx import checks
from nnx.errors import NnxError
from nnx.registry import Registry


class Initializer:
    """Base: subclasses set their arguments in __init__ and implement __call__."""

    name = ""

    def get_config(self):
        params = inspect.signature(type(self).__init__).parameters
        return {"type": self.name, **{k: getattr(self, k) for k in params if k != "self"}}


class Zeros(Initializer):
    name = "zeros"

    def __call__(self, shape, fan_in, fan_out, rng):
        return np.zeros(shape)


class Ones(Initializer):
    name = "ones"

    def __call__(self, shape, fan_in, fan_out, rng):
        return np.ones(shape)


class Constant(Initializer):
    name = "constant"

    def __init__(self, value=0.0):
        self.value = _number("constant", "value", value)

    def __call__(self, shape, fan_in, fan_out, rng):
        return np.full(shape, self.value)


class RandomNormal(Initializer):
    name = "random_normal"

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean = _number(self.name, "mean", mean)
        self.stddev = _number(self.name, "stddev", stddev, positive=True)

    def __call__(self, shape, fan_in, fan_out, rng):
        return rng.normal(self.mean, self.stddev, shape)


class RandomUniform(Initializer):
    name = "random_uniform"

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval = _number(self.name, "minval", minval)
        self.maxval = _number(self.name, "maxval", maxval)
        if self.minval >= self.maxval:
            raise NnxError(f"random_uniform: minval ({minval}) must be below maxval ({maxval})")

    def __call__(self, shape, fan_in, fan_out, rng):
        return rng.uniform(self.minval, self.maxval, shape)


class _FanScaled(Initializer):
    """Variance scaling: std (normal) or limit (uniform) from the fans, times `gain`."""

    distribution = "normal"

    def __init__(self, gain=1.0):
        self.gain = _number(self.name, "gain", gain, positive=True)

    def variance(self, fan_in, fan_out):
        raise NotImplementedError

    def __call__(self, shape, fan_in, fan_out, rng):
        std = self.gain * math.sqrt(self.variance(max(fan_in, 1), max(fan_out, 1)))
        if self.distribution == "normal":
            return rng.normal(0.0, std, shape)
        limit = math.sqrt(3.0) * std
        return rng.uniform(-limit, limit, shape)


class GlorotUniform(_FanScaled):
    name, distribution = "glorot_uniform", "uniform"

    def variance(self, fan_in, fan_out):
        return 2.0 / (fan_in + fan_out)


class GlorotNormal(GlorotUniform):
    name, distribution = "glorot_normal", "normal"


class HeUniform(_FanScaled):
    name, distribution = "he_uniform", "uniform"

    def variance(self, fan_in, fan_out):
        return 2.0 / fan_in


class HeNormal(HeUniform):
    name, distribution = "he_normal", "normal"


class LecunNormal(_FanScaled):
    name, distribution = "lecun_normal", "normal"

    def variance(self, fan_in, fan_out):
        return 1.0 / fan_in


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix: first axis against the rest, like torch's orthogonal_."""

    name = "orthogonal"

    def __init__(self, gain=1.0):
        self.gain = _number(self.name, "gain", gain, positive=True)

    def __call__(self, shape, fan_in, fan_out, rng):
        if len(shape) < 2:
            raise NnxError(f"orthogonal initialization needs a matrix, got shape {tuple(shape)}")
        rows, cols = shape[0], int(np.prod(shape[1:]))
        a = rng.normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        q = q if rows >= cols else q.T
        return (self.gain * q[:rows, :cols]).reshape(shape)


def _number(initializer, field, value, positive=False):
    return checks.number(initializer, field, value, above=0.0 if positive else None)


INITIALIZERS = Registry(
    "initializer",
    {
        cls.name: cls
        for cls in (Zeros, Ones, Constant, RandomNormal, RandomUniform, GlorotUniform,
                    GlorotNormal, HeUniform, HeNormal, LecunNormal, Orthogonal)
    },
)
for _alias, _target in {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal",
                        "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal"}.items():
    INITIALIZERS.register(_alias, INITIALIZERS.get(_target))


def get(spec):
    """An Initializer from a name, a `{type: NAME, ...}` mapping, or an Initializer."""
    return spec if isinstance(spec, Initializer) else INITIALIZERS.create(spec)

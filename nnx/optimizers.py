"""Optimizers: `step(params, grads)` updates every parameter in place.

The base clips gradients (`clipnorm`: global norm over all gradients like PyTorch's
`clip_grad_norm_`; `clipvalue`: element-wise) and keeps per-position state; a subclass
is one `_update` that calls its kernel. Rules and defaults are PyTorch's.
"""

import inspect
import math

import numpy as np

from nnx import checks
from nnx.errors import NnxError
from nnx.kernels import lazy
from nnx.registry import Registry

kernels = lazy("optim")


class Optimizer:
    name = ""
    slots = ()  # names of the per-parameter state arrays

    def __init__(self, lr, clipnorm=None, clipvalue=None):
        self.lr = _number(self.name, "lr", lr, minimum=0.0)
        self.clipnorm = None if clipnorm is None else _number(self.name, "clipnorm", clipnorm,
                                                              minimum=0.0, strict=True)
        self.clipvalue = None if clipvalue is None else _number(self.name, "clipvalue", clipvalue,
                                                                minimum=0.0, strict=True)
        self.iterations = 0
        self.state = []  # one {slot: flat array} per parameter position
        self.stats = np.zeros((0, 3))  # per position: see nnx/kernels/optim.py
        self._stats_rows = []
        self.stats_steps = 0

    def step(self, params, grads):
        if self.clipnorm is not None:
            clip_by_global_norm(grads, self.clipnorm)
        if self.clipvalue is not None:
            for g in grads:
                np.clip(g, -self.clipvalue, self.clipvalue, out=g)
        if len(self.state) != len(params):
            self.state = [{s: np.zeros(p.size, dtype=p.dtype) for s in self.slots} for p in params]
            self.stats = np.zeros((len(params), 3))
            self._stats_rows = list(self.stats)
        self.iterations += 1
        self.stats_steps += 1
        for p, g, state, stats in zip(params, grads, self.state, self._stats_rows):
            self._update(p.reshape(-1), g.reshape(-1), state, stats)

    def take_stats(self):
        """Per parameter since the last call: (mean gradient norm, mean update-to-weight
        ratio, weight norm) as an (n_params, 3) array; then starts counting afresh."""
        steps = max(self.stats_steps, 1)
        taken = self.stats.copy()
        taken[:, :2] /= steps
        self.stats[:, :2] = 0.0
        self.stats_steps = 0
        return taken

    def _update(self, p, g, state, stats):
        raise NotImplementedError

    def get_config(self):
        params = inspect.signature(type(self).__init__).parameters
        return {"type": self.name, **{k: getattr(self, k) for k in params if k != "self"}}


class SGD(Optimizer):
    name, slots = "sgd", ("velocity",)

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, clipnorm=None,
                 clipvalue=None):
        super().__init__(lr, clipnorm, clipvalue)
        self.momentum = _number(self.name, "momentum", momentum, minimum=0.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise NnxError("sgd: nesterov needs momentum > 0")
        self.weight_decay = _number(self.name, "weight_decay", weight_decay, minimum=0.0)

    def _update(self, p, g, state, stats):
        kernels.sgd(p, g, state["velocity"], self.lr, self.momentum, self.nesterov,
                    self.weight_decay, stats)


class Momentum(Optimizer):
    name, slots = "momentum", ("velocity",)

    def __init__(self, lr=0.01, beta=0.9, clipnorm=None, clipvalue=None):
        super().__init__(lr, clipnorm, clipvalue)
        self.beta = _unit(self.name, "beta", beta)

    def _update(self, p, g, state, stats):
        kernels.momentum_ema(p, g, state["velocity"], self.lr, self.beta, stats)


class Adagrad(Optimizer):
    name, slots = "adagrad", ("accumulator",)

    def __init__(self, lr=0.01, eps=1e-10, clipnorm=None, clipvalue=None):
        super().__init__(lr, clipnorm, clipvalue)
        self.eps = _number(self.name, "eps", eps, minimum=0.0, strict=True)

    def _update(self, p, g, state, stats):
        kernels.adagrad(p, g, state["accumulator"], self.lr, self.eps, stats)


class RMSprop(Optimizer):
    name, slots = "rmsprop", ("square_avg",)

    def __init__(self, lr=0.01, rho=0.9, eps=1e-8, clipnorm=None, clipvalue=None):
        super().__init__(lr, clipnorm, clipvalue)
        self.rho = _unit(self.name, "rho", rho)
        self.eps = _number(self.name, "eps", eps, minimum=0.0, strict=True)

    def _update(self, p, g, state, stats):
        kernels.rmsprop(p, g, state["square_avg"], self.lr, self.rho, self.eps, stats)


class Adam(Optimizer):
    name, slots = "adam", ("m", "v")
    decoupled = False

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                 clipnorm=None, clipvalue=None):
        super().__init__(lr, clipnorm, clipvalue)
        self.beta1 = _unit(self.name, "beta1", beta1)
        self.beta2 = _unit(self.name, "beta2", beta2)
        self.eps = _number(self.name, "eps", eps, minimum=0.0, strict=True)
        self.weight_decay = _number(self.name, "weight_decay", weight_decay, minimum=0.0)

    def _update(self, p, g, state, stats):
        kernels.adam(p, g, state["m"], state["v"], self.lr, self.beta1, self.beta2, self.eps,
                     self.weight_decay, self.decoupled, self.iterations, stats)


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step."""

    name = "adamw"
    decoupled = True

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01,
                 clipnorm=None, clipvalue=None):
        super().__init__(lr, beta1, beta2, eps, weight_decay, clipnorm, clipvalue)


def clip_by_global_norm(grads, max_norm):
    """Scale all gradients by max_norm / (norm + 1e-6) when their joint L2 norm exceeds it."""
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= g.dtype.type(coef)
    return total


def _number(optimizer, field, value, minimum=None, strict=False):
    if strict:
        return checks.number(optimizer, field, value, above=minimum)
    return checks.number(optimizer, field, value, minimum=minimum)


def _unit(optimizer, field, value):
    return checks.number(optimizer, field, value, minimum=0.0, below=1.0)


OPTIMIZERS = Registry("optimizer", {cls.name: cls for cls in (
    SGD, Momentum, Adagrad, RMSprop, Adam, AdamW)})


def get(spec):
    """An Optimizer from a name, a `{type: NAME, ...}` mapping, or an Optimizer."""
    return spec if isinstance(spec, Optimizer) else OPTIMIZERS.create(spec)

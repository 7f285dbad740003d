"""Optimizers: `step(params, grads)` updates every parameter in place.

The base clips gradients (`clipnorm`: global norm over all gradients like PyTorch's
`clip_grad_norm_`; `clipvalue`: element-wise), checks what the kernels will trust, and keeps
one `ParamState` per parameter array, keyed by the array itself: one optimizer may serve
several models (as Keras users reuse optimizer objects), each array with its own slots and
step count. Copying values into an array (`set_weights`, a restore of the best weights)
keeps its state; an array replaced by another (a cast) starts afresh. A subclass is one
`_update` that calls its kernel. Rules and defaults are PyTorch's.

Training diagnostics ask for figures per parameter (`collect_stats`, `take_stats`); the
kernels compute them in their own pass over memory, and only while asked: without them a
step does no work for diagnostics.
"""

import inspect
import math
import weakref

import numpy as np

from nnx import arrays, checks
from nnx.errors import NnxError
from nnx.kernels import lazy
from nnx.registry import Registry

kernels = lazy("optim")


class ParamState:
    """What an optimizer keeps for one parameter array: its slot arrays (flat, as the
    kernels take them), its number of steps, and, while the optimizer collects them, its
    diagnostics figures since the last `take_stats` (see nnx/kernels/optim.py)."""

    def __init__(self, param, slot_names, with_stats=False):
        self.param = weakref.ref(param)  # the state must not keep a replaced array alive
        self.shape, self.dtype = param.shape, param.dtype
        self.slots = {name: np.zeros(param.size, dtype=param.dtype) for name in slot_names}
        self.steps = 0
        self.stats = None  # (3,) float64 while collecting: the kernels add to it
        self.steps_at_take = 0  # `steps` when take_stats last read `stats`
        self.collect_stats(with_stats)

    def collect_stats(self, on):
        self.stats = np.zeros(3) if on else None
        self.steps_at_take = self.steps

    def take_stats(self):
        """(mean gradient norm, mean update ratio, weight norm) since the last take."""
        stats = self.stats
        grad_sum, ratio_sum, weight = stats.tolist()
        steps = max(self.steps - self.steps_at_take, 1)
        stats[0] = stats[1] = 0.0  # stats[2] stays: the weight norm until the next step
        self.steps_at_take = self.steps
        return grad_sum / steps, ratio_sum / steps, weight

    def belongs_to(self, param):
        return self.param() is param and param.shape == self.shape and param.dtype == self.dtype


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
        self._collecting = False  # whether the steps add diagnostics figures (collect_stats)
        self._states = {}  # id(param) -> ParamState, for arrays still alive
        self._order = []  # the states of the last step's (or build's) params, in their order
        self._checked = None  # (params, grads, states) of the last checked step, as tuples

    def build(self, params):
        """Give each array in `params` its state (an array seen before keeps its own):
        `compile` calls this for the model's parameters, `step` for arrays it meets."""
        params = self._sequence(params, "params")
        for i, p in enumerate(params):
            wrong = arrays.problem(p)
            if wrong is not None:
                raise NnxError(f"{self.name}: parameter {i} {wrong}")
        self._states = {key: state for key, state in self._states.items()
                        if state.param() is not None}
        order = []
        for p in params:
            state = self._states.get(id(p))
            if state is None or not state.belongs_to(p):
                state = self._states[id(p)] = ParamState(p, self.slots, self._collecting)
            order.append(state)
        self._order = order
        return order

    def slots_of(self, param):
        """The state arrays of `param`, shaped like it ({} for an array it does not know)."""
        state = self._states.get(id(param))
        if state is None or not state.belongs_to(param):
            return {}
        return {name: slot.reshape(param.shape) for name, slot in state.slots.items()}

    def step(self, params, grads):
        states = self._checked_states(params, grads)
        if self.clipnorm is not None:
            clip_by_global_norm(grads, self.clipnorm)
        if self.clipvalue is not None:
            for g in grads:
                np.clip(g, -self.clipvalue, self.clipvalue, out=g)
        self.iterations += 1
        for p, g, state in zip(params, grads, states):
            state.steps += 1
            self._update(p.reshape(-1), g.reshape(-1), state)

    def _checked_states(self, params, grads):
        """The states of `params`. The kernels trust sizes, so both lists are checked unless
        they hold the same arrays as at the last step (an identity comparison; none at all
        for the very same tuples, which a model hands over)."""
        last = self._checked
        if last is None or params is not last[0] or grads is not last[1]:
            params, grads = self._sequence(params, "params"), self._sequence(grads, "grads")
            if last is None or not (arrays.same_objects(params, last[0])
                                    and arrays.same_objects(grads, last[1])):
                last = self._check_step(params, grads)
        self._order = last[2]
        return last[2]

    def _check_step(self, params, grads):
        """NnxError unless params and grads pair up as the kernels need; then (params, grads,
        states) as tuples, kept (which also keeps the arrays' ids from being reused)."""
        self._checked = None
        if len(params) != len(grads):
            raise NnxError(f"{self.name}: step got {len(params)} parameters and "
                           f"{len(grads)} gradients")
        states = self.build(params)
        clips = self.clipnorm is not None or self.clipvalue is not None
        for i, (p, g) in enumerate(zip(params, grads)):
            wrong = arrays.problem(g, p.shape, (p.dtype,), contiguous=False, writable=clips)
            if wrong is not None:
                raise NnxError(f"{self.name}: the gradient of parameter {i} {wrong}")
        self._checked = tuple(params), tuple(grads), tuple(states)
        return self._checked

    def _sequence(self, values, what):
        if not isinstance(values, (list, tuple)):
            raise NnxError(f"{self.name}: {what} must be a list of arrays, got "
                           f"{type(values).__name__}")
        return values

    def collect_stats(self, on=True):
        """Have every step add diagnostics figures per parameter for `take_stats` (from
        zero), or (`on=False`) stop: the steps then do no work for them."""
        self._collecting = bool(on)
        for state in self._states.values():
            state.collect_stats(self._collecting)

    def take_stats(self):
        """Per parameter of the last step, in its order, since `collect_stats` or the last
        call: a list of (mean gradient norm, mean update-to-weight ratio, weight norm)
        tuples of floats; then starts counting afresh."""
        if not self._collecting:
            raise NnxError(f"{self.name}: take_stats needs collect_stats() first")
        return [state.take_stats() for state in self._order]

    def _update(self, p, g, state):
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

    def _update(self, p, g, state):
        kernels.sgd(p, g, state.slots["velocity"], self.lr, self.momentum, self.nesterov,
                    self.weight_decay, state.stats)


class Momentum(Optimizer):
    name, slots = "momentum", ("velocity",)

    def __init__(self, lr=0.01, beta=0.9, clipnorm=None, clipvalue=None):
        super().__init__(lr, clipnorm, clipvalue)
        self.beta = _unit(self.name, "beta", beta)

    def _update(self, p, g, state):
        kernels.momentum_ema(p, g, state.slots["velocity"], self.lr, self.beta, state.stats)


class Adagrad(Optimizer):
    name, slots = "adagrad", ("accumulator",)

    def __init__(self, lr=0.01, eps=1e-10, clipnorm=None, clipvalue=None):
        super().__init__(lr, clipnorm, clipvalue)
        self.eps = _number(self.name, "eps", eps, minimum=0.0, strict=True)

    def _update(self, p, g, state):
        kernels.adagrad(p, g, state.slots["accumulator"], self.lr, self.eps, state.stats)


class RMSprop(Optimizer):
    name, slots = "rmsprop", ("square_avg",)

    def __init__(self, lr=0.01, rho=0.9, eps=1e-8, clipnorm=None, clipvalue=None):
        super().__init__(lr, clipnorm, clipvalue)
        self.rho = _unit(self.name, "rho", rho)
        self.eps = _number(self.name, "eps", eps, minimum=0.0, strict=True)

    def _update(self, p, g, state):
        kernels.rmsprop(p, g, state.slots["square_avg"], self.lr, self.rho, self.eps,
                        state.stats)


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

    def _update(self, p, g, state):
        """Bias correction counts this array's own steps (a shared optimizer's
        `iterations` also counts other models' steps)."""
        kernels.adam(p, g, state.slots["m"], state.slots["v"], self.lr, self.beta1, self.beta2,
                     self.eps, self.weight_decay, self.decoupled, state.steps, state.stats)


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

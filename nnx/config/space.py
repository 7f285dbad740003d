"""The search space as data: parsing `search.space`, conditions (`when:`), grid points, and
setting chosen values on an experiment. Sampling through an Optuna trial is the search
engine's (`nnx.search.suggest`); whether each path is a field the experiment accepts is
checked in `nnx.config.space_check`.

A space maps dotted experiment paths to parameters:

    train.optimizer.lr: {type: float, low: 1.0e-4, high: 0.1, log: true}
    train.optimizer.type: {type: categorical, choices: [sgd, adam]}
    train.optimizer.momentum: {type: float, low: 0, high: 0.9, when: {train.optimizer.type: sgd}}
    model.layers.0.repeat: {type: int, low: 1, high: 3}

A parameter with `when: {path: value}` (or `{path: [values]}`) is sampled and set only when
every named parameter is active and holds one of the values. The parameters are kept in an
order where each comes after those its conditions name, so define-by-run sampling and grid
expansion decide a condition before they reach the parameter it guards.

Imports neither optuna nor numba (`nnx validate` checks a space without them), nor the
experiment schema (which reads this module to check a `search:` section).
"""

import math
import re
from dataclasses import dataclass

from nnx.config.errors import ConfigError, describe, join, unknown_key
from nnx.config.overrides import with_overrides
from nnx.errors import closest

PARAMETER_TYPES = ("float", "int", "categorical")
KEYS = {"float": ("type", "low", "high", "step", "log", "when"),
        "int": ("type", "low", "high", "step", "log", "when"),
        "categorical": ("type", "choices", "when")}
MAX_GRID_POINTS = 1_000_000
_PATH = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
_NOT_SET = object()


@dataclass(frozen=True)
class Param:
    """One searched field. `when` is ((path, allowed values), ...)."""

    path: str
    type: str
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    log: bool = False
    choices: tuple = ()
    when: tuple = ()

    def contains(self, value):
        if self.type == "categorical":
            return any(_same(value, c) for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.type == "int" and value != int(value):
            return False
        return self.low <= value <= self.high

    def grid_values(self, where):
        """Every value a grid visits: the choices, or low..high by step."""
        if self.type == "categorical":
            return list(self.choices)
        if self.type == "int":
            return list(range(self.low, self.high + 1, self.step or 1))
        if self.step is None:
            raise ConfigError(join(where, self.path),
                              "a grid needs a step for a float range (e.g. step: 0.1), or "
                              "give categorical choices")
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        return [float(f"{self.low + i * self.step:.12g}") for i in range(count)]

    def probe_values(self):
        """A few values that show whether the experiment accepts this field."""
        if self.type == "categorical":
            return list(self.choices)
        top = self.high
        if self.step is not None:  # the last value on the step grid
            top = self.low + math.floor((self.high - self.low) / self.step + 1e-9) * self.step
            top = float(f"{top:.12g}") if self.type == "float" else top
        return [self.low] if top == self.low else [self.low, top]


class Space:
    """The parsed space: `params` in dependency order, `written` as in the experiment file."""

    def __init__(self, params, written):
        self.params = params
        self.written = written
        self._by_path = {p.path: p for p in params}

    def __len__(self):
        return len(self.params)

    @property
    def paths(self):
        return [p.path for p in self.params]

    @property
    def conditional(self):
        return any(p.when for p in self.params)

    def active(self, param, values):
        """Whether `param`'s conditions hold for the parameter values chosen so far."""
        return all(path in values and any(_same(values[path], v) for v in allowed)
                   for path, allowed in param.when)

    def grid_points(self, where="search.space"):
        """Every distinct effective configuration of a grid, as {path: value} dicts.

        An inactive parameter is left out rather than multiplied in, so two points never
        differ only in a value that is not used.
        """
        points = [{}]
        for param in self.params:
            values = param.grid_values(where)
            expanded = []
            for point in points:
                if self.active(param, point):
                    expanded.extend({**point, param.path: v} for v in values)
                else:
                    expanded.append(point)
            points = expanded
            if len(points) > MAX_GRID_POINTS:
                raise ConfigError(where, f"the grid has more than {MAX_GRID_POINTS:,} points; "
                                         "use fewer values, a larger step, or --method random")
        return points

    def effective(self, params):
        """The active subset of `params` (e.g. an earlier study's best) that lies in this
        space, in sampling order; values outside a parameter's range are dropped."""
        values = {}
        for param in self.params:
            value = params.get(param.path, _NOT_SET)
            if self.active(param, values) and value is not _NOT_SET and param.contains(value):
                values[param.path] = value
        return values

    def apply(self, raw, values):
        """A copy of the raw experiment mapping with the parameter `values` set."""
        return with_overrides(raw, values)

    def prerequisites(self, param, where="search.space"):
        """Values for the parameters `param`'s conditions name that make it active;
        ConfigError when no such values exist."""
        values = {}
        pending = list(param.when)
        while pending:
            path, allowed = pending.pop(0)
            if path in values:
                continue
            target = self._by_path[path]
            values[path] = next(v for v in allowed if target.contains(v))
            pending.extend(target.when)
        chain = [p for p in self.params if p.path in values]
        if not all(self.active(p, values) for p in chain) or not self.active(param, values):
            raise ConfigError(join(join(where, param.path), "when"),
                              "its conditions can never hold together")
        return values


def parse_space(space, where="search.space"):
    """A Space from the `search.space` mapping; ConfigError naming the bad field."""
    if space is None:
        space = {}
    if not isinstance(space, dict):
        raise ConfigError(where, "must be a mapping of dotted experiment paths to parameters, "
                                 f"got {describe(space)}")
    params = {}
    for path, spec in space.items():
        if not isinstance(path, str) or not _PATH.match(path):
            raise ConfigError(where, f"{path!r} is not a dotted experiment path such as "
                                     "train.optimizer.lr or model.layers.0.units")
        if path.startswith("search.") or path in ("search", "name"):
            raise ConfigError(join(where, path), "the search settings and the name cannot be "
                                                 "searched")
        params[path] = _parse_param(path, spec, join(where, path))
    _check_overlaps(params, where)
    for param in params.values():
        _check_conditions(param, params, join(join(where, param.path), "when"))
    return Space(_dependency_order(params, where), dict(space))


def _parse_param(path, spec, where):
    if not isinstance(spec, dict):
        raise ConfigError(where, "must be a mapping such as {type: float, low: 0.0001, "
                                 f"high: 0.1, log: true}}, got {describe(spec)}")
    kind = spec.get("type")
    if kind not in PARAMETER_TYPES:
        hint = closest(kind, PARAMETER_TYPES) if isinstance(kind, str) else None
        raise ConfigError(join(where, "type"),
                          f"must be one of {', '.join(PARAMETER_TYPES)}, got {describe(kind)}"
                          + (f" (did you mean {hint!r}?)" if hint else ""))
    for key in spec:
        if key not in KEYS[kind]:
            raise unknown_key(where, key, list(KEYS[kind]), what=f"key of a {kind} parameter")
    when = _parse_when(spec.get("when"), join(where, "when"))
    if kind == "categorical":
        return Param(path, kind, choices=_parse_choices(spec, where), when=when)
    return Param(path, kind, when=when, **_parse_range(kind, spec, where))


def _parse_choices(spec, where):
    choices = spec.get("choices")
    path = join(where, "choices")
    if choices is None:
        raise ConfigError(path, "missing; a categorical parameter needs a list of choices")
    if not isinstance(choices, list):
        raise ConfigError(path, f"must be a list of values, got {describe(choices)}")
    if not choices:
        raise ConfigError(path, "is empty; give at least one value")
    for i, choice in enumerate(choices):
        if choice is not None and not isinstance(choice, (str, int, float, bool)):
            raise ConfigError(join(path, i), "a choice must be a number, a string, true/false "
                                             f"or null, got {describe(choice)}")
        if isinstance(choice, float) and not math.isfinite(choice):
            raise ConfigError(join(path, i), f"must be finite, got {choice!r}")
        if any(_same(choice, c) for c in choices[:i]):
            raise ConfigError(join(path, i), f"the choice {choice!r} is listed twice")
    return tuple(choices)


def _parse_range(kind, spec, where):
    number = int if kind == "int" else (int, float)
    what = "an integer" if kind == "int" else "a number"
    out = {}
    for key in ("low", "high"):
        if key not in spec:
            raise ConfigError(join(where, key), f"missing; a {kind} parameter needs low and high")
        value = spec[key]
        if isinstance(value, bool) or not isinstance(value, number) or (
                isinstance(value, float) and not math.isfinite(value)):
            raise ConfigError(join(where, key), f"must be {what}, got {describe(value)}")
        out[key] = value
    low, high = out["low"], out["high"]
    if kind == "float":
        low, high = float(low), float(high)
    if low > high:
        raise ConfigError(join(where, "low"), f"low ({low}) is greater than high ({high})")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(join(where, "log"), f"must be true or false, got {describe(log)}")
    if log and low <= 0:
        raise ConfigError(join(where, "low"), f"a log range needs low > 0, got {low}")
    step = spec.get("step")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, number) or not step > 0 or (
                isinstance(step, float) and not math.isfinite(step)):
            raise ConfigError(join(where, "step"), f"must be {what} > 0, got {describe(step)}")
        if log and (kind == "float" or step != 1):
            raise ConfigError(join(where, "step"), "step and log: true cannot be combined "
                                                   "(a log range has no even step)")
        step = float(step) if kind == "float" else step
    return {"low": low, "high": high, "step": step, "log": log}


def _parse_when(when, where):
    if when is None:
        return ()
    if not isinstance(when, dict) or not when:
        raise ConfigError(where, "must be a mapping of parameter paths to the value (or list "
                                 f"of values) that activates this one, got {describe(when)}")
    out = []
    for path, allowed in when.items():
        allowed = tuple(allowed) if isinstance(allowed, list) else (allowed,)
        if not allowed:
            raise ConfigError(join(where, path), "is an empty list; give the value(s) that "
                                                 "activate this parameter")
        out.append((str(path), allowed))
    return tuple(out)


def _check_overlaps(params, where):
    """A path inside another searched path would be set twice."""
    for path in params:
        for other in params:
            if other != path and other.startswith(path + "."):
                raise ConfigError(join(where, other), f"lies inside {path}, which is searched "
                                                      "too; search one or the other")


def _check_conditions(param, params, where):
    for path, allowed in param.when:
        if path == param.path:
            raise ConfigError(join(where, path), "a parameter cannot depend on itself")
        if path not in params:
            hint = closest(path, [p for p in params if p != param.path])
            raise ConfigError(join(where, path),
                              f"the condition names {path!r}, which is not in the search space"
                              f" (searched: {', '.join(params)})"
                              + (f"; did you mean {hint!r}?" if hint else ""))
        target = params[path]
        if not any(target.contains(v) for v in allowed):
            values = ", ".join(repr(v) for v in allowed)
            raise ConfigError(join(where, path), f"{path} never takes {values}, so this "
                                                 "parameter would never be used")


def _dependency_order(params, where):
    """The parameters with each after those its conditions name (file order otherwise)."""
    ordered, placed, visiting = [], set(), []

    def visit(path):
        if path in placed:
            return
        if path in visiting:
            cycle = " -> ".join(visiting[visiting.index(path):] + [path])
            raise ConfigError(join(where, path), f"the when: conditions form a cycle: {cycle}")
        visiting.append(path)
        for other, _ in params[path].when:
            visit(other)
        visiting.pop()
        placed.add(path)
        ordered.append(params[path])

    for path in params:
        visit(path)
    return ordered


def _same(a, b):
    """Equal as configuration values: True is not 1, and 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b

"""What a registry entry knows about its metric: tasks, direction, arguments and names.

A metric with arguments has one name per set of values, used in logs, the run JSON,
`search.metric` and reports: `variant` spells it from the values (`"{name}_{average}"` gives
`f1_micro`, `"top_{k}_accuracy"` gives `top_3_accuracy`), and a value left to a default that
depends on the task (None) keeps the bare name (`f1`). A name is read back into its values
by the same pattern, so `f1_micro` and `{type: f1, average: micro}` are the same metric.
"""

import re
import string
from collections.abc import Callable
from dataclasses import dataclass

from nnx.errors import NnxError


class MetricError(NnxError):
    """A metric spec that names no metric or gives a bad argument; `argument` is the key at
    fault (`type` for the name of a mapping), or None for the spec as a whole."""

    def __init__(self, message, argument=None):
        super().__init__(message)
        self.argument = argument


@dataclass(frozen=True)
class Argument:
    """An argument a metric takes: one of `choices`, or an integer >= `minimum` (below the
    number of classes with `below_classes`); `default` None means "depends on the task"."""

    name: str
    default: object
    choices: tuple = ()
    minimum: int = 1
    below_classes: bool = False
    doc: str = ""

    def problem(self, value):
        """What is wrong with `value`, or None."""
        if self.choices:
            if value is None and self.default is None or value in self.choices:
                return None
            allowed = ", ".join(self.choices) + (" or null" if self.default is None else "")
            return f"must be one of {allowed}, got {value!r}"
        if isinstance(value, bool) or not isinstance(value, int) or value < self.minimum:
            return f"must be an integer >= {self.minimum}, got {value!r}"
        return None

    def pattern(self):
        choices = "|".join(re.escape(c) for c in self.choices)
        return f"(?P<{self.name}>{choices or '[0-9]+'})"

    def read(self, text):
        return text if self.choices else int(text)


@dataclass(frozen=True)
class Metric:
    """A registry entry: `fn(pred, target, decision, **arguments) -> float`, the tasks it
    means something for (the data decide the task), whether a larger value is better (early
    stopping, search and report read this to pick a direction), its arguments and how a
    variant is named."""

    fn: Callable
    tasks: tuple
    higher_is_better: bool = False
    arguments: tuple = ()
    variant: str = ""

    @property
    def name(self):
        return self.fn.__name__

    def defaults(self):
        return {a.name: a.default for a in self.arguments}

    def values(self, given):
        """The argument values of a `{type: ..., **given}` spec, defaults filled in."""
        known = {a.name: a for a in self.arguments}
        for key in given:
            if key not in known:
                takes = ", ".join(known) or "no arguments"
                raise MetricError(f"metric {self.name!r} does not take {key!r}; it takes: "
                                  f"{takes}", key)
        values = {**self.defaults(), **given}
        for key, value in values.items():
            problem = known[key].problem(value)
            if problem:
                raise MetricError(f"{self.name} {key} {problem}", key)
        return values

    def log_name(self, values):
        """The name of this metric with these argument values in logs and the run JSON."""
        if not self.arguments or any(values[a.name] is None for a in self.arguments):
            return self.name
        return self.variant.format(name=self.name, **values)

    def read_name(self, text):
        """The argument values that `text` spells as a variant of this metric, or None."""
        if not self.variant:
            return None
        pattern = "".join(
            re.escape(literal) + (self._field_pattern(field) if field is not None else "")
            for literal, field, _, _ in string.Formatter().parse(self.variant))
        found = re.fullmatch(pattern, text)
        if found is None:
            return None
        known = {a.name: a for a in self.arguments}
        return {key: known[key].read(value) for key, value in found.groupdict().items()}

    def spelled_variants(self):
        """Every variant name of a choice argument (`f1_micro`, ...): closest-name hints."""
        return [self.log_name({**self.defaults(), a.name: choice})
                for a in self.arguments for choice in a.choices]

    def too_few_classes(self, values, n_classes, data):
        """Why `data` with `n_classes` cannot be scored with these values, or None."""
        for a in self.arguments:
            if a.below_classes and values[a.name] >= n_classes:
                return (f"needs {a.name} below the {n_classes} classes of {data}, got "
                        f"{a.name}={values[a.name]}")
        return None

    def _field_pattern(self, field):
        if field == "name":
            return re.escape(self.name)
        return next(a for a in self.arguments if a.name == field).pattern()

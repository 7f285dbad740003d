"""A name table per family (activations, layers, losses, ...): config name -> implementation.

Registries hold plain Python objects and import nothing heavy, so that the CLI help and
config validation can read them without loading numba.
"""

import inspect
from dataclasses import dataclass

from nnx.errors import NnxError, closest, unknown_name


@dataclass(frozen=True)
class Described:
    """An entry that is a name and the one line `nnx schema` and the help print for it."""

    name: str
    summary: str


class Registry:
    """Maps config names to implementations; `get` names the closest match on a miss."""

    def __init__(self, family, entries=None):
        self.family = family
        self._entries = dict(entries or {})

    @classmethod
    def of(cls, family, entries):
        """A registry of `entries` (each with a `name`), under their names."""
        return cls(family, {entry.name: entry for entry in entries})

    def register(self, name, value):
        if name in self._entries:
            raise ValueError(f"{self.family} {name!r} is registered twice")
        self._entries[name] = value
        return value

    def get(self, name):
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise unknown_name(self.family, name, self._entries) from None

    def names(self):
        return list(self._entries)

    def items(self):
        return self._entries.items()

    def __contains__(self, name):
        return name in self._entries

    def create(self, spec):
        """An instance from a name or a `{type: NAME, ...keyword arguments}` mapping.

        Arguments the constructor does not take are an error that lists those it does.
        """
        if not isinstance(spec, dict):
            return self.get(spec)()
        args = dict(spec)
        if "type" not in args:
            raise NnxError(f"a {self.family} needs a 'type' (one of: {', '.join(self.names())})")
        factory = self.get(args.pop("type"))
        allowed = [name for name, p in inspect.signature(factory).parameters.items()
                   if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        unknown = sorted(set(args) - set(allowed))
        if unknown:
            hint = closest(unknown[0], allowed)
            raise NnxError(f"{self.family} {spec['type']!r} does not take {', '.join(unknown)}; "
                           f"it takes: {', '.join(allowed) or 'no arguments'}"
                           + (f" (did you mean {hint!r}?)" if hint else ""))
        missing = [name for name, p in inspect.signature(factory).parameters.items()
                   if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD
                   and name not in args]
        if missing:
            raise NnxError(f"{self.family} {spec['type']!r} needs {', '.join(missing)}")
        return factory(**args)

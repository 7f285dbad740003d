"""ConfigError: an NnxError that knows the field path it is about and where the value came from."""

from nnx.errors import NnxError, closest


class ConfigError(NnxError):
    """A bad experiment value: `path` is the dotted field (`model.layers.2.units`).

    The loader fills in `source` (the file) and, when a `--set` override put the value
    there, `origin` (the override as typed), so that the one-line message names both.
    """

    def __init__(self, path, problem, source=None):
        super().__init__(problem)
        self.path, self.problem, self.source, self.origin = path, problem, source, None

    def __str__(self):
        message = self.problem
        if self.path and not message.startswith(self.path):
            message = f"{self.path}: {message}"
        if self.source:
            message = f"{self.source}: {message}"
        if self.origin:
            message += f" (from --set {self.origin})"
        return message


def join(path, key):
    """The dotted path of `key` under `path`."""
    return f"{path}.{key}" if path else str(key)


def describe(value):
    """A value as messages show it: its repr, and its YAML type for containers."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def unknown_key(path, key, allowed, what="key", owner=None):
    """A ConfigError for a key outside `allowed`, naming the closest allowed key.

    With `owner` (e.g. "layer type 'dense'") the key is an argument that owner lacks.
    """
    hint = closest(key, allowed)
    if owner is not None:
        problem = (f"{owner} takes no argument {str(key)!r}; it takes: "
                   f"{', '.join(allowed) or 'no arguments'}")
    else:
        problem = f"unknown {what} {str(key)!r}; allowed: {', '.join(allowed)}"
    if hint is not None:
        problem += f" (did you mean {hint!r}?)"
    return ConfigError(join(path, key), problem)

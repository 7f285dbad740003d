"""The one exception nnx raises for bad input; only the CLI turns it into a message and exit 2."""

import difflib


class NnxError(Exception):
    """Bad input or usage: a config, a data file, a shape, a name, a damaged file."""


def closest(name, known):
    """The known name nearest to `name`, or None when nothing is close."""
    matches = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.5)
    return matches[0] if matches else None


def unknown_name(family, name, known):
    """An NnxError for a name outside a registry, listing the known names and the closest one."""
    known = sorted(known)
    hint = closest(name, known)
    message = f"unknown {family} {name!r}; known: {', '.join(known)}"
    if hint is not None:
        message += f" (did you mean {hint!r}?)"
    return NnxError(message)

"""nnx's exceptions: NnxError for bad input (exit 2), WriteError for a result that could not be
written (exit 1); only the CLI turns them into a message and an exit code."""

import difflib
import os


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


class WriteError(OSError):
    """A file nnx writes could not be written: a full disk, a quota, a read-only or
    unwritable folder. The job failed, not its input: the CLI exits 1, not 2."""

    def __init__(self, path, cause):
        super().__init__(cause.errno, cause.strerror, os.fspath(path))
        self.cause = cause

    def __str__(self):
        reason = self.strerror or str(self.cause)
        return f"cannot write {self.filename}: {reason[:1].lower()}{reason[1:]}"

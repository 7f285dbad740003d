"""Atomic file replacement: a reader sees the old file or the whole new one, never half.

The content goes to a temporary file `.<name>.<random>.tmp` in the same folder, is flushed
to disk, and is renamed over the target; a crash (even SIGKILL) leaves at most a stray
temporary file, which `nnx.leftovers` removes later. The file gets the permissions a plain
`open(path, "w")` would give: a new one 0666 less the umask (the kernel applies it, and a
folder's default ACL), a replaced one keeps its own.
"""

import os
import secrets
import stat
import tempfile
from pathlib import Path

from nnx.errors import NnxError, WriteError

TEMPORARY_SUFFIX = ".tmp"


def replace_atomically(path, write, binary=False):
    """Create or replace `path` with what `write(handle)` writes; returns the path.
    WriteError (an OSError) names `path` when the disk, the folder or a quota refuses."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temporary(path)
    except OSError as err:
        raise WriteError(path, err) from err
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) \
                as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        _remove_quietly(tmp)
        if isinstance(err, OSError):
            raise WriteError(path, err) from err
        raise
    _fsync_folder(path.parent)
    return path


def creatable_folder(start, what):
    """The nearest existing folder at or above `start`, checked before anything is written
    to be a folder nnx can create files in; NnxError starting with `what` (the option and
    its value) otherwise."""
    start = Path(start).absolute()
    folder = next(p for p in (start, *start.parents) if p.exists())
    if not folder.is_dir():
        raise NnxError(f"{what}: {folder} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):  # what creating a file there needs
            pass
    except OSError as err:
        raise NnxError(f"{what}: cannot create a file in {folder} "
                       f"({err.strerror or err})") from None
    return folder


def _create_temporary(path):
    """(fd, path) of a new temporary file beside `path`, with the permissions of `path`
    when it exists."""
    try:
        keep = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        keep = None
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        if keep is not None:
            os.chmod(tmp, keep)
        return fd, tmp


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass  # gone already, or the folder refuses: a leftover for `nnx.leftovers`


def _fsync_folder(folder):
    """Make the rename itself durable (best effort: not every platform allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

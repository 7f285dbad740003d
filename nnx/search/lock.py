"""`nnx search --exclusive`: one sweep per study at a time on this host (for cron).

The lock is `fcntl.flock` on `<results>/studies/<study>.lock`, held while the sweep runs.
The kernel drops it when its process ends, however it ends (SIGKILL, a crash, a reboot), so
a lock can never stay stuck; the file stays behind and the next sweep takes it over. The
file holds its holder (host, pid, start time, command) as one JSON line, so that the next
sweep can say who holds it. A file there that is not such a lock is left alone (NnxError).

The lock guards one host's results folder; machines that share a study through PostgreSQL
are meant to run at the same time, and the study's budget (`--max-trials`) keeps them in step.
"""

import errno
import json
import os
import socket
import sys
from dataclasses import dataclass

from nnx.errors import NnxError
from nnx.results import utc_now
from nnx.results.studies import studies_dir

LOCK_SCHEMA = "nnx.lock/1"
LOCK_SUFFIX = ".lock"


def lock_path(results_dir, study):
    return studies_dir(results_dir) / f"{study}{LOCK_SUFFIX}"


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a study lock."""

    host: str | None
    pid: int | None
    started: str | None
    command: str | None = None

    def describe(self):
        if self.pid is None:
            return "a sweep that is starting"
        return f"pid {self.pid} on {self.host}, since {self.started}"


class StudyLock:
    """An exclusive lock on one study; `acquire()` returns None when taken, else the live
    Holder. Use as a context manager or call `release()`."""

    def __init__(self, path):
        self.path = path
        self._fd = None
        self.previous = None  # the holder before us, when its sweep had ended

    def acquire(self):
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise NnxError(f"cannot open the lock file {self.path}: {err.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = self._read(fd)
            os.close(fd)
            if err.errno in (errno.EWOULDBLOCK, errno.EACCES):
                return holder or Holder(None, None, None)
            raise NnxError(f"cannot lock {self.path}: {err.strerror}") from None
        try:
            self.previous = self._read(fd)
            record = {"schema": LOCK_SCHEMA, "host": socket.gethostname(), "pid": os.getpid(),
                      "started": utc_now(), "command": " ".join(sys.argv)}
            data = (json.dumps(record) + "\n").encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        except BaseException:
            os.close(fd)  # a foreign file stays as it was: nothing was written yet
            raise
        self._fd = fd
        return None

    def _read(self, fd):
        """The holder written in the file (None when empty); NnxError when the file is not
        an nnx lock."""
        try:
            text = os.pread(fd, 4096, 0).decode("utf-8", errors="replace")
        except OSError:
            text = ""
        if not text.strip():
            return None
        try:
            record = json.loads(text)
            if not isinstance(record, dict) or record.get("schema") != LOCK_SCHEMA:
                raise ValueError
        except ValueError:
            shown = text.strip().splitlines()[0][:60]
            raise NnxError(f"{self.path} is not an nnx lock file (it holds {shown!r}); it was "
                           "left as it is: move it away, or run without --exclusive") from None
        pid = record.get("pid")
        return Holder(record.get("host"), pid if isinstance(pid, int) else None,
                      record.get("started"), record.get("command"))

    def release(self):
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing drops the lock; the file stays for the next holder

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

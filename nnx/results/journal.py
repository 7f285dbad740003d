"""A study's journal file kept whole when a write is torn.

The journal is one JSON record per line, appended under the journal's lock. A full disk, a
power cut or a writer killed in the middle of its record leaves an incomplete record (or NUL
bytes, or garbage) at the end. Optuna's JournalFileBackend skips such a last line when it
reads, but appends the next record straight after it: the two glue into one bad line, and
from then on the journal no longer loads, losing every trial in it. So before each append,
holding the lock every append takes (no other writer is then in the middle of a record),
`JournalBackend` cuts the file back to its last complete record and keeps the cut bytes
beside it as `<journal>.torn-<UTC time>`. (This module reads and cuts the file; the
backend Optuna appends through is `nnx.search.journal_backend`, apart because it imports
Optuna, which the report does without.)

A bad record followed by good ones is not a torn write: nothing here cuts it (that would
drop the good ones); `JournalDamaged` names the file, the line and the byte, and the file is
left as it is for its owner to look at.
"""

import itertools
import json
import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from nnx.errors import NnxError

TAIL_PROBE = 64 * 1024  # bytes read from the end to find the last record (records are small)


class JournalDamaged(NnxError):
    """A bad record in the middle of a journal, followed by good ones."""

    def __init__(self, path, line, offset):
        self.path, self.line, self.offset = Path(path), line, offset
        super().__init__(
            f"study journal {path} is damaged at line {line} (byte {offset}): a broken record "
            "with whole ones after it; left as it is (to resume from the records before it, "
            f"cut it to its first {offset} bytes: truncate -s {offset} "
            f"{shlex.quote(str(path))})")


@dataclass(frozen=True)
class TornTail:
    """The incomplete end of a journal, cut off and kept in `kept`."""

    journal: Path
    kept: Path
    size: int

    def describe(self):
        return (f"study journal {self.journal} ended in a torn record ({self.size} bytes, "
                "as left by a full disk, a power cut or a killed writer): cut back to its last "
                f"whole record; the cut bytes are kept in {self.kept}")


def is_record(line):
    """Whether `line` (bytes, with its line end) is a whole journal record."""
    if not line.endswith(b"\n"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:  # JSONDecodeError, or bytes that are not UTF-8
        return False


def complete_length(path):
    """The length of the journal's run of complete records, read up to its size now (a
    record appended meanwhile is not read half); JournalDamaged when a bad record has
    complete ones after it."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        end, offset, first_bad = 0, 0, None
        for number, line in enumerate(handle, start=1):
            line = line[:size - offset]
            if is_record(line):
                if first_bad is not None:
                    raise JournalDamaged(path, *first_bad)
                end = offset + len(line)
            elif first_bad is None:
                first_bad = (number, offset)
            offset += len(line)
            if offset >= size:
                break
    return end


def find_damage(path):
    """The JournalDamaged of a damaged journal, else None (a torn end is not damage: the next
    append cuts it). Reads without the lock; for listings."""
    try:
        complete_length(path)
    except JournalDamaged as err:
        return err
    return None


def ends_whole(path):
    """Whether the journal ends with a complete record (or is empty, or absent); reads only
    its last record."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return True
    with handle:
        size = os.fstat(handle.fileno()).st_size
        probe = min(size, TAIL_PROBE)
        while probe:
            handle.seek(size - probe)
            tail = handle.read(probe)
            if not tail.endswith(b"\n"):
                return False
            start = tail.rfind(b"\n", 0, len(tail) - 1)
            if start >= 0 or probe == size:
                return is_record(tail[start + 1:])
            probe = min(size, probe * 2)
    return True


def cut_torn_tail(path):
    """Cut the journal back to its last complete record, keeping the cut bytes beside it;
    returns the TornTail, or None when it ends whole. The caller holds the journal's lock."""
    path = Path(path)
    if ends_whole(path):
        return None
    end = complete_length(path)
    with open(path, "r+b") as handle:
        size = os.fstat(handle.fileno()).st_size
        handle.seek(end)
        kept = keep_beside(path, handle.read(size - end))
        handle.truncate(end)
        handle.flush()
        os.fsync(handle.fileno())
    return TornTail(path, kept, size - end)


def keep_beside(path, data):
    """Write `data` to a new `<path>.torn-<UTC yyyymmddTHHMMSSZ>` (synced before the journal
    is cut); returns its path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = f"{os.fspath(path)}.torn-{stamp}"
    for attempt in itertools.count():  # two cuts within one second: -1, -2, ...
        target = Path(base if attempt == 0 else f"{base}-{attempt}")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target

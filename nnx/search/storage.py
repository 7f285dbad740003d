"""Where studies live.

Default: one Optuna journal file per study beside its JSON, `<results>/studies/<study>.journal`
(JournalStorage + JournalFileBackend). It needs no server, appends under a file lock, and is
what Optuna recommends for several processes on one machine; SQLite is not (its writers
lock each other out and several creating the schema at once can crash). The journal's lock
is a kernel `flock` on `<study>.journal.flock` (`FlockLock`), not Optuna's default symlink
lock: a worker killed while it appends leaves no stale lock behind (the symlink lock would
stall every other worker for its 30 s grace period and then log a warning). Its name is not
Optuna's `<journal>.lock`: a tool that writes through Optuna's own lock (optuna-dashboard)
would remove that file after its grace period, and nnx's processes would then lock
different files.
`--storage URL` (postgresql://..., sqlite:///...) uses Optuna's RDB storage, so several
machines can work on one study.
"""

import glob
import os
import random
import re
import time
from pathlib import Path

from nnx.errors import NnxError, closest
from nnx.results.studies import embedded_study_names, journal_path, studies_dir

FLOCK_SUFFIX = ".flock"  # beside the file it guards
CONNECT_TIMEOUT_S = 5  # a wrong host fails within this, instead of TCP's minutes
SCHEMA_RETRIES = 3  # machines creating the tables of a fresh database at once may collide
_STUDY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def quiet_optuna():
    """Optuna's own log lines and experimental-feature warnings would mix with nnx's."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def check_study_name(name):
    if not isinstance(name, str) or not _STUDY_NAME.match(name) or name.startswith("."):
        raise NnxError(f"--study: {name!r} is not a study name: use 1-100 letters, digits, "
                       "'_', '.' or '-' (it names the study's files)")
    return name


def describe_url(url):
    """The URL with any password hidden, for messages and the study JSON."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL sqlalchemy knows: show it as given
        return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


class Storage:
    """An opened storage: the Optuna object and a label for messages and the study JSON."""

    def __init__(self, optuna_storage, label, journal=None):
        self.optuna = optuna_storage
        self.label = label
        self.journal = journal  # the journal file, for the embedded storage

    def study_names(self):
        import optuna

        return optuna.get_all_study_names(storage=self.optuna)


class FlockLock:
    """The lock of a file (a journal, an SQLite database), held with `fcntl.flock` on
    `<file>.flock`: the kernel releases it when its process dies, however it dies. (Optuna's
    JournalFileBackend takes any object with `acquire()` and `release()`.) Re-entrant: the
    journal backend holds it while it checks the file's end, and Optuna's append inside
    takes it again; a second FlockLock on the same file waits, in this process too."""

    def __init__(self, target):
        self.path = f"{os.fspath(target)}{FLOCK_SUFFIX}"
        self._fd = None
        self._depth = 0

    def acquire(self):
        import fcntl

        if self._depth:
            self._depth += 1
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._depth = fd, 1
        return True

    def release(self):
        if self._depth > 1:
            self._depth -= 1
            return
        fd, self._fd, self._depth = self._fd, None, 0
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the lock

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def open_journal(path, create=True, on_repair=None):
    """The embedded storage of one study (`create`: the file is created on first use, else
    it must exist). A torn end is cut now (Optuna might not load the file otherwise) and
    before every append; each cut goes to `on_repair(TornTail)`. JournalDamaged (nothing
    changed) when a bad record has good ones after it."""
    from optuna.storages import JournalStorage

    from nnx.results.journal import find_damage
    from nnx.search.journal_backend import JournalBackend

    path = Path(path)
    if not create and not path.is_file():
        raise NnxError(f"no study journal at {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # An OSError (a full disk, a read-only folder) goes up as it is, like any failed write.
    backend = JournalBackend(path, FlockLock(path), on_repair)
    backend.cut_torn_tail()
    try:
        return Storage(JournalStorage(backend), os.fspath(path), journal=path)
    except (ValueError, LookupError, TypeError, AttributeError) as err:  # a record Optuna
        damage = find_damage(path)  # cannot replay: where is it?
        if damage is not None:
            raise damage from None
        raise NnxError(f"cannot open the study journal {path}: {type(err).__name__}: "
                       f"{err}") from None


def open_url(url):
    """Optuna's RDB storage at `url`; NnxError (nothing created) when it cannot be reached:
    a wrong scheme, host, port, user or password gives one line, within CONNECT_TIMEOUT_S."""
    shown = describe_url(url)
    if "://" not in url:
        raise NnxError(f"--storage {shown!r} is not a database URL; use e.g. "
                       "postgresql://user:password@host/db or sqlite:///path/to/file.db")
    scheme = url.split("://", 1)[0].lower()
    if scheme == "postgres":  # what Heroku and libpq write; sqlalchemy does not know it
        raise NnxError(f"--storage {shown}: write postgresql://, not postgres://")
    from optuna.storages import RDBStorage

    engine_kwargs = {}
    if scheme.startswith("postgresql"):
        engine_kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    if scheme == "postgresql":
        url = f"{postgresql_driver()}://{url.split('://', 1)[1]}"
    for attempt in range(SCHEMA_RETRIES):
        try:
            with _schema_lock(url):
                storage = RDBStorage(url, engine_kwargs=engine_kwargs or None)
            break
        except ModuleNotFoundError as err:
            hint = " (pip install 'nnx[postgres]')" if scheme.startswith("postgres") else ""
            raise NnxError(f"cannot open storage {shown}: the database driver {err.name!r} is "
                           f"not installed{hint}") from None
        except Exception as err:  # noqa: BLE001 - sqlalchemy's errors are many
            reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
            if _schema_race(reason) and attempt + 1 < SCHEMA_RETRIES:
                time.sleep(0.2 + random.random())  # another machine is creating the tables
                continue
            raise NnxError(f"cannot open storage {shown}: {_storage_reason(reason, scheme)}"
                           ) from None
    return Storage(storage, shown)


def postgresql_driver():
    """`postgresql+psycopg2` when psycopg2 is installed (the `postgres` extra), else plain
    `postgresql`: SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, 2.0 as psycopg2."""
    import importlib.util

    return "postgresql+psycopg2" if importlib.util.find_spec("psycopg2") else "postgresql"


def _schema_lock(url):
    """For an SQLite file, its FlockLock (`<file>.flock`): processes that open a new file at
    once would race to create its tables and version row ("UNIQUE constraint failed:
    alembic_version.version_num"). A server database needs none (the retry covers it), nor
    does a file whose folder nnx cannot write (SQLite then says what is wrong)."""
    from contextlib import nullcontext

    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - not a URL sqlalchemy knows: RDBStorage says so
        return nullcontext()
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or (
            database.startswith("file:")):
        return nullcontext()
    lock = FlockLock(database)
    folder = Path(lock.path).parent
    return lock if os.access(folder, os.W_OK | os.X_OK) else nullcontext()


def _schema_race(reason):
    """Whether another process created the same table or version row first: PostgreSQL's
    words ("already exists", "duplicate key"), SQLite's ("UNIQUE constraint failed")."""
    return any(words in reason for words in ("already exists", "duplicate key",
                                             "UNIQUE constraint failed"))


def _storage_reason(reason, scheme):
    if "Failed to import DB access module" in reason:  # Optuna's words for a missing driver
        return "its database driver is not installed" + (
            " (pip install 'nnx[postgres]')" if scheme.startswith("postgres") else "")
    if "Can't load plugin" in reason:
        return (f"unknown database scheme {scheme!r}; use postgresql:// (or "
                "postgresql+psycopg2://), mysql://, or sqlite:///")
    return reason


def open_storage(url, results_dir, study, on_repair=None):
    """The storage a study lives in, to be written: `url`, else its journal file in the
    results folder (`on_repair`: see open_journal)."""
    if url:
        return open_url(url)
    return open_journal(journal_path(results_dir, study), on_repair=on_repair)


def find_study(name, results_dir, url=None, read=True, on_repair=None):
    """The storage holding study `name`, to be read (a journal with `read=False`: None, the
    file not even opened, so that a damaged one can still be deleted; `on_repair`: see
    open_journal); NnxError naming the closest study when absent."""
    if url:
        storage = open_url(url)
        names = storage.study_names()
        where = storage.label
    else:
        names = embedded_study_names(results_dir)
        where = str(studies_dir(results_dir))
        storage = open_journal(journal_path(results_dir, name), create=False,
                               on_repair=on_repair) if read and name in names else None
    if name not in names:
        hint = closest(name, names)
        raise NnxError(f"no study named {name!r} in {where}"
                       + (f"; did you mean {hint!r}?" if hint else "")
                       + ("" if names else " (it holds no studies)"))
    return storage


def delete_study(name, results_dir, url=None):
    """Remove a study from its storage, with its journal (damaged or not), lock, torn-end
    and JSON files; returns the paths removed (run records and models of its trials stay)."""
    import optuna

    storage = find_study(name, results_dir, url, read=False)
    removed = []
    if storage is None:
        journal = journal_path(results_dir, name)
        torn = sorted(journal.parent.glob(f"{glob.escape(journal.name)}.torn-*"))
        exclusive = studies_dir(results_dir) / f"{name}.lock"  # the --exclusive lock
        for path in (journal, Path(f"{journal}{FLOCK_SUFFIX}"), *torn, exclusive):
            if path.exists():
                path.unlink()
                removed.append(path)
    else:
        optuna.delete_study(study_name=name, storage=storage.optuna)
    document = studies_dir(results_dir) / f"{name}.json"
    if document.exists():
        document.unlink()
        removed.append(document)
    return removed

"""Where studies live (design.md §6).

Default: one Optuna journal file per study beside its JSON, `<results>/studies/<study>.journal`
(JournalStorage + JournalFileBackend). It needs no server, appends under a file lock, and is
what Optuna recommends for several processes on one machine; SQLite is not (its writers
lock each other out and several creating the schema at once can crash).
`--storage URL` (postgresql://..., sqlite:///...) uses Optuna's RDB storage, so several
machines can work on one study.
"""

import os
import re
from pathlib import Path

from nnx.errors import NnxError, closest

JOURNAL_SUFFIX = ".journal"
_STUDY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def studies_dir(results_dir):
    return Path(results_dir) / "studies"


def journal_path(results_dir, study):
    return studies_dir(results_dir) / f"{study}{JOURNAL_SUFFIX}"


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


def open_journal(path, create=True):
    """The embedded storage of one study (the file is created on first use)."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = Path(path)
    if not create and not path.is_file():
        raise NnxError(f"no study journal at {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        backend = JournalFileBackend(os.fspath(path))
        return Storage(JournalStorage(backend), os.fspath(path), journal=path)
    except (OSError, ValueError) as err:
        raise NnxError(f"cannot open the study journal {path}: {err}") from None


def open_url(url):
    """Optuna's RDB storage at `url`; NnxError (nothing created) when it cannot be reached."""
    shown = describe_url(url)
    if "://" not in url:
        raise NnxError(f"--storage {shown!r} is not a database URL; use e.g. "
                       "postgresql://user@host/db or sqlite:///path/to/file.db")
    from optuna.storages import RDBStorage

    engine_kwargs = {}
    if url.startswith("postgresql"):
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        storage = RDBStorage(url, engine_kwargs=engine_kwargs or None)
    except ModuleNotFoundError as err:
        hint = " (pip install 'nnx[postgres]')" if url.startswith("postgres") else ""
        raise NnxError(f"cannot open storage {shown}: the database driver {err.name!r} is "
                       f"not installed{hint}") from None
    except Exception as err:  # noqa: BLE001 - sqlalchemy's errors are many; all mean the same
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        if "Failed to import DB access module" in reason:  # Optuna's words for a missing driver
            reason = "its database driver is not installed" + (
                " (pip install 'nnx[postgres]')" if url.startswith("postgres") else "")
        raise NnxError(f"cannot open storage {shown}: {reason}") from None
    return Storage(storage, shown)


def open_storage(url, results_dir, study):
    """The storage a study lives in: `url`, else its journal file in the results folder."""
    if url:
        return open_url(url)
    return open_journal(journal_path(results_dir, study))


def embedded_study_names(results_dir):
    folder = studies_dir(results_dir)
    if not folder.is_dir():
        return []
    return sorted(p.name[:-len(JOURNAL_SUFFIX)] for p in folder.glob(f"*{JOURNAL_SUFFIX}"))


def find_study(name, results_dir, url=None):
    """The storage holding study `name`; NnxError naming the closest study when absent."""
    if url:
        storage = open_url(url)
        names = storage.study_names()
        where = storage.label
    else:
        names = embedded_study_names(results_dir)
        where = str(studies_dir(results_dir))
        storage = open_journal(journal_path(results_dir, name)) if name in names else None
    if name not in names:
        hint = closest(name, names)
        raise NnxError(f"no study named {name!r} in {where}"
                       + (f"; did you mean {hint!r}?" if hint else "")
                       + ("" if names else " (it holds no studies)"))
    return storage


def delete_study(name, results_dir, url=None):
    """Remove a study from its storage, with its journal, lock and JSON files; returns the
    paths removed (run records and models of its trials stay)."""
    import optuna

    storage = find_study(name, results_dir, url)
    removed = []
    if storage.journal is not None:
        for path in (storage.journal, Path(f"{storage.journal}.lock")):
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

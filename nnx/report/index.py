"""The results folder as the report sees it: run records (`runs/*.json`) and study documents
(`studies/*.json`), read with nnx.results' tolerant readers; a damaged or foreign file is
kept as skipped, with the reason, and the report goes on.

An argument names a run or a study: tried as a file path, then a run id, then a study name,
then a unique run-id prefix.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

from nnx.errors import NnxError, closest
from nnx.results import RUN_SCHEMA, find_run, load_runs, read_json, read_run, runs_dir
from nnx.results.journal import find_damage
from nnx.results.studies import (
    STUDY_SCHEMA,
    damaged_document,
    embedded_study_names,
    journal_path,
    studies_dir,
)


@dataclass
class Item:
    """One run record or study document, with where it came from."""

    kind: str  # run | study
    document: dict
    path: Path

    @property
    def name(self):
        return self.document["run_id"] if self.kind == "run" else self.document["study"]


@dataclass
class Results:
    root: Path
    runs: list = field(default_factory=list)  # run records
    studies: list = field(default_factory=list)  # (study document, path)
    skipped: list = field(default_factory=list)  # (path, reason)

    def run(self, run_id):
        """The run record of `run_id` (None when the folder has none)."""
        if not hasattr(self, "_by_id"):
            self._by_id = {r["run_id"]: r for r in self.runs}
        return self._by_id.get(run_id)


def read_study(path):
    """A study document, checked for the keys the report needs to use it."""
    document = read_json(path, STUDY_SCHEMA)
    if not isinstance(document.get("study"), str):
        raise NnxError(f"{path}: damaged study document: 'study' is missing or not a string")
    trials = document.get("trials")
    if not isinstance(trials, list) or not all(isinstance(t, dict) for t in trials):
        raise NnxError(f"{path}: damaged study document: 'trials' is not a list of trials")
    return document


def load_results(root):
    """Every run and study under `root`; damaged files in `skipped`."""
    results = Results(Path(root))
    results.runs, problems = load_runs(root)
    results.skipped = [(Path(p), _reason(p, m)) for p, m in problems]
    folder = studies_dir(root)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            results.studies.append((read_study(path), path))
        except NnxError as err:
            results.skipped.append((path, _reason(path, str(err))))
    listed = {document["study"] for document, _ in results.studies}
    for name in embedded_study_names(root):
        if name not in listed:
            damaged = damaged_study(root, name)
            if damaged is not None:
                results.studies.append((damaged, journal_path(root, name)))
    for document, _ in results.studies:
        mark_damaged(document, root)
    return results


def damaged_study(root, name):
    """The stand-in document of study `name` when its journal is damaged, else None. The
    journal is read, never changed."""
    path = journal_path(root, name)
    damage = find_damage(path) if path.is_file() else None
    return None if damage is None else damaged_document(name, path, str(damage))


def mark_damaged(document, root):
    """Note in a study document (`damaged`: the message) when its journal is damaged."""
    damaged = damaged_study(root, document["study"])
    if damaged is not None:
        document["damaged"] = damaged["damaged"]


def _reason(path, message):
    """The error message without the path it starts with (the listing shows the path)."""
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def resolve(reference, root):
    """The run or study an argument names: a file, a run id, a study, a run-id prefix."""
    text = os.fspath(reference)
    if os.path.isfile(text):
        return read_file(Path(text))
    exact = runs_dir(root) / f"{text}.json"
    if exact.is_file():
        return Item("run", read_run(exact), exact)
    study = studies_dir(root) / f"{text}.json"
    if study.is_file():
        document = read_study(study)
        mark_damaged(document, root)
        return Item("study", document, study)
    damaged = damaged_study(root, text) if text in embedded_study_names(root) else None
    if damaged is not None:
        return Item("study", damaged, journal_path(root, text))
    try:
        path = find_run(text, root)
    except NnxError as err:
        if "matches" in str(err):  # an ambiguous prefix: say so
            raise
        names = _study_names(root)
        runs = sorted(p.stem for p in runs_dir(root).glob("*.json")) \
            if runs_dir(root).is_dir() else []
        hint = closest(text, names + runs)
        raise NnxError(f"{text!r} is no file, run id or study in {root}"
                       + (f"; did you mean {hint!r}?" if hint else
                          f" ({len(runs)} runs, {len(names)} studies there)")) from None
    return Item("run", read_run(path), path)


def read_file(path):
    """A run record or study document from a JSON file, whichever it holds."""
    schema = read_json(path).get("schema")
    if schema == RUN_SCHEMA:
        return Item("run", read_run(path), path)
    if schema == STUDY_SCHEMA:
        return Item("study", read_study(path), path)
    raise NnxError(f"{path}: not an nnx result (schema {schema!r}; expected {RUN_SCHEMA!r} "
                   f"or {STUDY_SCHEMA!r})")


def _study_names(root):
    folder = studies_dir(root)
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

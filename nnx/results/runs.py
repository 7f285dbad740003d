"""The JSON documents under the results folder: written atomically, read tolerantly.

A write goes to a temporary file in the target folder, is flushed to disk (fsync) and
renamed over the target (os.replace), so a reader or a crash never sees half a document.
Readers skip keys they do not know and report a damaged file instead of stopping.
"""

import json
import math
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from nnx.atomic import replace_atomically
from nnx.errors import NnxError, closest
from nnx.nesting import loads_json

RUN_SCHEMA = "nnx.run/1"
RUN_STATUSES = ("completed", "pruned", "diverged", "interrupted", "failed")
RUN_KEYS = ("schema", "run_id", "name", "status", "created", "duration_s", "config",
            "environment", "history", "metrics", "costs", "diagnostics", "model_path", "error")
DEFAULT_RESULTS_DIR = "results"
RUN_ID_TAIL = re.compile(r"-\d{8}T\d{6}-[0-9a-f]{6}$")  # what new_run_id appends to the name


def results_dir(option=None):
    """The results folder: the option, else $NNX_RESULTS_DIR, else ./results; NnxError when
    that path is something other than a folder (it may not exist yet)."""
    path = Path(option or os.environ.get("NNX_RESULTS_DIR") or DEFAULT_RESULTS_DIR)
    if path.exists() and not path.is_dir():
        source = "--results-dir" if option else (
            "$NNX_RESULTS_DIR" if os.environ.get("NNX_RESULTS_DIR") else "the results folder")
        raise NnxError(f"{source} {str(path)!r} is not a folder")
    return path


def runs_dir(root):
    return Path(root) / "runs"


def new_run_id(name, now=None):
    """`<name>-<UTC yyyymmddTHHMMSS>-<6 hex>`: unique across workers and hosts."""
    now = now or datetime.now(UTC)
    return f"{name}-{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


def is_run_id(text):
    return bool(RUN_ID_TAIL.search(text))


def utc_now():
    """The current UTC time as ISO 8601 with a Z (seconds precision)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_json(value):
    """`value` as plain JSON: numpy scalars and arrays unwrapped, tuples as lists, paths as
    strings, NaN and infinities as null (JSON has no spelling for them)."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy
        return to_json(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path, document):
    """Write `document` to `path` atomically (temp file, fsync, rename); returns the path."""
    text = json.dumps(to_json(document), indent=2, allow_nan=False) + "\n"
    return replace_atomically(path, lambda handle: handle.write(text))


def read_json(path, schema=None):
    """The JSON mapping in `path`; NnxError naming the file when it is missing or damaged."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NnxError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise NnxError(f"{path}: cannot read it ({err})") from None
    try:
        document = loads_json(text, f"{path}: damaged JSON")
    except json.JSONDecodeError as err:
        raise NnxError(f"{path}: damaged JSON ({err.msg} at line {err.lineno}, column "
                       f"{err.colno})") from None
    if not isinstance(document, dict):
        raise NnxError(f"{path}: damaged: expected a JSON object, got "
                       f"{type(document).__name__}")
    if schema is not None and document.get("schema") != schema:
        raise NnxError(f"{path}: not a {schema!r} document (schema "
                       f"{document.get('schema')!r})")
    return document


def read_run(path):
    """A run record, checked for the keys nnx needs to use it."""
    record = read_json(path, RUN_SCHEMA)
    for key, kind in (("run_id", str), ("status", str), ("config", dict)):
        if not isinstance(record.get(key), kind):
            raise NnxError(f"{path}: damaged run record: {key!r} is missing or not a "
                           f"{kind.__name__}")
    return record


def write_run(root, record):
    """Write a run record to `<root>/runs/<run_id>.json`; returns its path."""
    return write_json(runs_dir(root) / f"{record['run_id']}.json", record)


def find_run(reference, root):
    """The path of a run's JSON from a file path, a run id, or a unique run-id prefix."""
    reference = os.fspath(reference)
    if os.path.isfile(reference):
        return Path(reference)
    folder = runs_dir(root)
    exact = folder / f"{reference}.json"
    if exact.is_file():
        return exact
    ids = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
    matches = [i for i in ids if i.startswith(reference)]
    if len(matches) == 1:
        return folder / f"{matches[0]}.json"
    if len(matches) > 1:
        raise NnxError(f"{reference!r} matches {len(matches)} runs in {folder}: "
                       f"{', '.join(matches[:5])}{', ...' if len(matches) > 5 else ''}")
    hint = closest(reference, ids)
    raise NnxError(f"no file and no run named {reference!r} (looked in {folder})"
                   + (f"; did you mean {hint!r}?" if hint else ""))


def load_runs(root):
    """(records, problems) of every run in `<root>/runs`: damaged files are listed in
    `problems` as (path, message) instead of stopping the read."""
    records, problems = [], []
    folder = runs_dir(root)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            records.append(read_run(path))
        except NnxError as err:
            problems.append((path, str(err)))
    return records, problems


def model_file(record, record_path=None):
    """The model file of a run record: its `model_path`, else the .npz beside the JSON."""
    candidates = []
    if record.get("model_path"):
        candidates.append(Path(record["model_path"]))
    if record_path is not None:
        candidates.append(Path(record_path).with_suffix(".npz"))
        if record.get("model_path"):
            candidates.append(Path(record_path).parent / Path(record["model_path"]).name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if not record.get("model_path"):
        if record.get("cv"):
            raise NnxError(f"run {record.get('run_id')!r} is cross-validated (data.folds), "
                           "which keeps no model; train without data.folds for one")
        raise NnxError(f"run {record.get('run_id')!r} kept no model file")
    raise NnxError(f"run {record.get('run_id')!r}: its model file {record['model_path']!r} "
                   "is missing")

"""`results/studies/<study>.json` (`nnx.study/1`), rebuilt from the study's storage after
every trial so that any host can regenerate it; with `--save-model best`, the model files
of the trials it does not name best removed; the `nnx train` command that reproduces a
trial; the best trial as a ready experiment file (`--export-best`).

A study of several objectives adds `objectives` ([{metric, direction}]), each trial's
`values` ({objective: value}) and `pareto`: the Pareto-optimal trials (Optuna's
`best_trials`), best first on the first objective. Its `best` is the front member a pick
selects (`nnx.results.pareto`; `knee` unless `--pick` says otherwise), with its `values`
and the `pick`; `value` and `metric` stay those of the first objective.
"""

import json
import math
import os
import shlex
from pathlib import Path

from nnx.atomic import creatable_folder
from nnx.errors import NnxError
from nnx.results.pareto import KNEE, document_objectives, pick_row, sort_front
from nnx.results.studies import (
    STUDY_SCHEMA,
    TRIAL_STATES,
    damaged_document,
    studies_dir,
)

_OPTUNA_STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed",
                  "RUNNING": "running", "WAITING": "waiting"}


def trial_state(trial):
    """nnx's state of an Optuna trial: its `nnx_state` once finished, else Optuna's."""
    if trial.state.is_finished() and trial.user_attrs.get("nnx_state") in TRIAL_STATES:
        return trial.user_attrs["nnx_state"]
    return _OPTUNA_STATES.get(trial.state.name, "failed")


def trial_row(trial):
    attrs = trial.user_attrs
    value = attrs["value"] if "value" in attrs else (trial.values or [None])[0]
    duration = attrs.get("duration_s")
    if duration is None and trial.datetime_start and trial.datetime_complete:
        duration = round((trial.datetime_complete - trial.datetime_start).total_seconds(), 3)
    params = attrs.get("params", trial.params)
    if trial.state.name == "WAITING":  # queued (warm start, retry): the values it will use
        params = dict(trial.system_attrs.get("fixed_params", {}))
    return {"number": trial.number, "state": trial_state(trial), "params": params,
            "value": value,
            "intermediate": {str(step): v for step, v in sorted(
                trial.intermediate_values.items())} or dict(attrs.get("curve") or {}),
            "duration_s": duration, "seed": attrs.get("seed"), "run_id": attrs.get("run_id"),
            "host": attrs.get("host"), "pid": attrs.get("pid"), "error": attrs.get("error"),
            "command": attrs.get("command"),
            "started": trial.datetime_start.isoformat() if trial.datetime_start else None,
            **({"values": attrs["values"]} if "values" in attrs else {})}


def best_row(rows, direction):
    """The best complete trial's row (None when no trial completed with a value)."""
    scored = [r for r in rows if r["state"] == "complete" and _finite(r["value"])]
    if not scored:
        return None
    if direction == "maximize":  # ties: the earlier trial
        return max(scored, key=lambda r: (r["value"], -r["number"]))
    return min(scored, key=lambda r: (r["value"], r["number"]))


def build_document(study, storage_label):
    """The study JSON document from what the storage holds."""
    attrs = study.user_attrs
    objectives = study_objectives(study)
    rows = [trial_row(t) for t in study.get_trials(deepcopy=False)]
    counts = {state: 0 for state in TRIAL_STATES}
    for row in rows:
        counts[row["state"]] += 1
    document = {
        "schema": STUDY_SCHEMA, "study": study.study_name, "method": attrs.get("nnx_method"),
        "storage": storage_label, "metric": objectives[0]["metric"],
        "direction": objectives[0]["direction"],
        "space": attrs.get("nnx_space"), "fingerprint": attrs.get("nnx_fingerprint"),
        "experiment": attrs.get("nnx_experiment"), "overrides": attrs.get("nnx_overrides", []),
        "created": attrs.get("nnx_created"), "best": None, "trials": rows, "counts": counts,
    }
    if len(objectives) > 1:
        document["objectives"] = objectives
        document["pareto"] = [front_entry(row) for row in pareto_rows(study, rows, objectives)]
    document["best"] = picked_trial(document)
    return document


def study_objectives(study):
    """[{metric, direction}] of an nnx study (studies made before several objectives
    existed name one metric and direction)."""
    attrs = study.user_attrs
    if attrs.get("nnx_objectives"):
        return attrs["nnx_objectives"]
    direction = attrs.get("nnx_direction") or study.direction.name.lower()
    return [{"metric": attrs.get("nnx_metric"), "direction": direction}]


def pareto_rows(study, rows, objectives):
    """The rows of the Pareto-optimal trials (Optuna's `best_trials`: complete trials no
    other complete trial dominates), best first on the first objective."""
    on_front = {t.number for t in study.best_trials}
    front = [r for r in rows if r["number"] in on_front and r["state"] == "complete"
             and all(_finite((r.get("values") or {}).get(o["metric"])) for o in objectives)]
    return sort_front(front, objectives)


def front_entry(row):
    return {"trial": row["number"], "values": row["values"], "params": row["params"],
            "run_id": row["run_id"], "command": row["command"]}


def picked_trial(document, pick=None):
    """The `best` entry of a study document: the best complete trial of one objective, or
    the front member `pick` selects (default: the knee) of several; None when no trial
    completed."""
    objectives = document_objectives(document)
    if len(objectives) == 1:
        best = best_row(document["trials"], objectives[0]["direction"])
        return None if best is None else {
            "trial": best["number"], "value": best["value"], "params": best["params"],
            "run_id": best["run_id"], "command": best["command"]}
    pick = pick or KNEE
    front = [{**entry, "number": entry["trial"]} for entry in document["pareto"]]
    row = pick_row(front, objectives, pick)
    return None if row is None else {
        "trial": row["trial"], "value": row["values"][objectives[0]["metric"]],
        "values": row["values"], "pick": pick, "params": row["params"],
        "run_id": row["run_id"], "command": row["command"]}


def write_document(results_dir, document):
    from nnx.results import write_json

    return write_json(studies_dir(results_dir) / f"{document['study']}.json", document)


def refresh_document(study, storage_label, results_dir):
    """Rebuild the study JSON from the storage and write it; returns the document."""
    document = build_document(study, storage_label)
    write_document(results_dir, document)
    return document


def keep_only_best_model(document, results_dir):
    """`--save-model best`: delete the model files of trials that are not the best one (nor,
    with several objectives, on the Pareto front) and clear `model_path` in their run
    records."""
    from nnx.results import read_run, runs_dir, write_run

    kept = {document["best"]["run_id"]} if document["best"] else set()
    kept |= {entry["run_id"] for entry in document.get("pareto", ())}
    folder = runs_dir(results_dir)
    for row in document["trials"]:
        run_id = row["run_id"]
        if row["state"] in ("running", "waiting"):
            continue  # not told yet: it may become the best (another worker's trial)
        if not run_id or run_id in kept or not (folder / f"{run_id}.npz").exists():
            continue
        record_path = folder / f"{run_id}.json"
        try:
            record = read_run(record_path)
        except NnxError:
            continue
        model = record.get("model_path")
        if model:
            Path(model).unlink(missing_ok=True)  # another worker may have removed it first
        record["model_path"] = None
        write_run(results_dir, record)


def reproduce_command(experiment, overrides, params, threads):
    """`nnx train EXPERIMENT --set ... --threads T`: the trial's run again."""
    words = ["nnx", "train", str(experiment)]
    for override in overrides:
        if not override.startswith("train.threads="):
            words += ["--set", override]
    for path, value in params.items():
        words += ["--set", f"{path}={yaml_scalar(value)}"]
    if threads:
        words += ["--threads", str(threads)]
    return shlex.join(words)


def yaml_scalar(value):
    """`value` written so that YAML (as `--set` reads it) gives it back exactly."""
    from nnx.config.yaml_io import parse_value

    if isinstance(value, float):
        return repr(value)  # shortest exact form: 0.001, 1e-05, 128.0
    if isinstance(value, str):
        try:
            if parse_value(value) == value:
                return value
        except Exception:  # noqa: BLE001 - not plain YAML: quote it
            pass
        return json.dumps(value)
    return json.dumps(value)  # int, bool, None


def export_best(path, raw, space, document, best=None):
    """Write the best trial's experiment (the file, the --set overrides and its parameters,
    without the search section) as YAML to `path`; returns the best row. `best`: the trial
    to write instead (a `picked_trial` of the document)."""
    import yaml

    from nnx.results import to_json

    best = best or document["best"]
    config = space.apply({k: v for k, v in raw.items() if k != "search"}, best["params"])
    values = best.get("values") or {document["metric"]: best["value"]}
    which = f"{best['pick']} trial" if best.get("pick") else "best trial"
    header = (f"# {which} {best['trial']} of study {document['study']}: "
              + ", ".join(f"{name} {value:.6g}" for name, value in values.items()) + "\n"
              f"# exported by nnx search; reproduce with: nnx train {path}\n")
    text = header + yaml.safe_dump(to_json(config), sort_keys=False, default_flow_style=None)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return best


def check_export_path(path):
    """Refuse, before any trial runs, a `--export-best` path that `export_best` could not
    write: not a .yaml/.yml name, a folder, or below a file or a folder nnx cannot write in
    (a missing folder is fine: it is created)."""
    target = Path(path)
    if target.suffix.lower() not in (".yaml", ".yml"):
        raise NnxError(f"--export-best {path}: the best trial is written as an experiment "
                       "file, whose name ends in .yaml or .yml")
    if target.is_dir():
        raise NnxError(f"--export-best {path} is a folder; give a file name in it, such as "
                       f"{target / 'best.yaml'}")
    creatable_folder(target.parent, f"--export-best {path}")
    if target.exists() and not os.access(target, os.W_OK):
        raise NnxError(f"--export-best {path}: the file is read-only")


def _finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def study_documents(results_dir, url=None, write=True, on_repair=None):
    """(documents, problems): the study JSON of every study in the results folder's journals
    (or in the storage at `url`), rebuilt from storage and (`write`) written to the results
    folder — so that `nnx studies --storage URL` brings this host's study JSONs, and with
    them `nnx report`, up to date with what every machine ran. A damaged journal is listed
    in `problems` as (where, message) instead of stopping the listing, and one whose records
    are damaged in the middle as a `damaged_document` (the file is not changed); a torn end
    is cut (`on_repair`: see storage.open_journal)."""
    import optuna

    from nnx.errors import NnxError
    from nnx.results.journal import JournalDamaged
    from nnx.search import storage as storage_module

    documents, problems = [], []
    if url:
        stores = [storage_module.open_url(url)]
    else:
        stores, names = [], storage_module.embedded_study_names(results_dir)
        for name in names:
            path = storage_module.journal_path(results_dir, name)
            try:
                stores.append(storage_module.open_journal(path, create=False,
                                                          on_repair=on_repair))
            except JournalDamaged as err:
                documents.append(damaged_document(name, path, str(err)))
            except (NnxError, OSError) as err:  # an unreadable journal: listed as a problem
                stores.append(err)
    for store in stores:
        if isinstance(store, Exception):
            problems.append(("journal", str(store)))
            continue
        try:
            for name in store.study_names():
                study = optuna.load_study(study_name=name, storage=store.optuna)
                documents.append(build_document(study, store.label))
                if write:
                    _write_quietly(results_dir, documents[-1], problems)
        except Exception as err:  # noqa: BLE001 - a damaged journal must not stop the list
            problems.append((store.label, f"cannot read it: {type(err).__name__}: {err}"))
    return documents, problems


def _write_quietly(results_dir, document, problems):
    try:
        write_document(results_dir, document)
    except OSError as err:  # a read-only results folder still lists
        problems.append((str(studies_dir(results_dir)), f"cannot write {document['study']}"
                                                        f".json: {err.strerror or err}"))

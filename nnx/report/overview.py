"""`nnx report`: one line per run and per study, newest first, with filters and sorting.

The runs a search made for its trials are folded into their study's line (the study view
lists them); `--all` lists them too. Reads JSON only: no numba, optuna or scikit-learn.
"""

import fnmatch
from dataclasses import dataclass
from datetime import UTC, datetime

from nnx.errors import NnxError, closest
from nnx.format import fmt_duration, fmt_metric
from nnx.metrics import higher_is_better
from nnx.report.values import (
    as_dict,
    as_list,
    as_number,
    as_text,
    better,
    fmt_date,
    main_metric,
    parse_time,
    run_metric,
)
from nnx.report.view import Column, Note, Table, View, cell
from nnx.results import RUN_STATUSES, runs_dir
from nnx.results.studies import FINISHED_STATES, TRIAL_STATES, study_status

STUDY_STATUSES = ("running", "idle", "finished", "empty", "damaged")
STATUSES = tuple(dict.fromkeys((*RUN_STATUSES, *STUDY_STATUSES, *FINISHED_STATES)))
SORT_KEYS = ("date", "name", "duration", "status")
STATUS_STYLE = {"completed": "green", "complete": "green", "finished": "green",
                "pruned": "yellow", "interrupted": "yellow", "running": "cyan",
                "diverged": "red", "failed": "red", "empty": "dim", "idle": "dim",
                "damaged": "red"}


@dataclass
class Row:
    kind: str  # run | study
    name: str
    experiment: str
    status: str
    metric: str
    value: float | None
    maximize: bool
    counts: dict | None
    duration_s: float | None
    date: object  # datetime or None
    notes: str
    flags: list
    path: str
    document: dict


def run_row(record, path=""):
    metric = main_metric(record)
    diagnostics = as_dict(record.get("diagnostics"))
    flags = list(dict.fromkeys(as_text(as_dict(f).get("flag"), "?")
                               for f in as_list(diagnostics.get("flags"))))
    error = as_text(record.get("error")) or as_text(record.get("stop_reason"))
    notes = ", ".join(flags)
    if record["status"] in ("failed", "diverged", "interrupted") and error:
        notes = f"{error}; {notes}" if notes else error
    return Row("run", record["run_id"], as_text(record.get("name")), record["status"], metric,
               run_metric(record, metric), higher_is_better(metric), None,
               as_number(record.get("duration_s")), parse_time(record.get("created")),
               " ".join(notes.split()), flags, str(path), record)


def study_counts(document):
    """Trials by state: the document's counts, else counted from its trials."""
    counts = document.get("counts")
    if isinstance(counts, dict) and all(isinstance(v, int) for v in counts.values()):
        return dict(counts)
    out = {}
    for trial in document["trials"]:
        state = as_text(trial.get("state"), "failed")
        out[state] = out.get(state, 0) + 1
    return out


def trial_span(document):
    """(first start, last end, wall seconds) over the study's trials (None when unknown)."""
    starts, ends = [], []
    for trial in document["trials"]:
        start = parse_time(trial.get("started"))
        if start is None:
            continue
        starts.append(start)
        duration = as_number(trial.get("duration_s"))
        ends.append(start.timestamp() + duration if duration is not None else start.timestamp())
    if not starts:
        return None, None, None
    first = min(starts)
    return first, max(ends), max(ends) - first.timestamp()


def study_row(document, path=""):
    counts = study_counts(document)
    best = as_dict(document.get("best"))
    metric = as_text(document.get("metric"), "value")
    first, last_end, span = trial_span(document)
    created = parse_time(document.get("created"))
    date = created
    if last_end is not None:
        last = datetime.fromtimestamp(last_end, UTC)
        date = last if created is None or last > created else created
    notes = f"best #{best['trial']}" if isinstance(best.get("trial"), int) else ""
    if notes and best.get("pick"):  # several objectives: the value is the picked trial's
        notes = (f"{best['pick']} #{best['trial']} of a front of "
                 f"{len(as_list(document.get('pareto')))}")
    running = counts.get("running", 0)
    if running:
        notes = f"{notes}, {running} running" if notes else f"{running} running"
    if "damaged" in document:
        notes = document["damaged"]
    return Row("study", document["study"], as_text(document.get("experiment")),
               study_status(counts, "damaged" in document), metric,
               as_number(best.get("value")),
               document.get("direction") == "maximize", counts, span, date, notes, [],
               str(path), document)


@dataclass
class Filters:
    statuses: tuple = ()
    name: str | None = None
    since: object = None  # datetime or None
    sort: str | None = None
    top: int | None = None
    all_runs: bool = False


def check_filters(filters):
    for status in filters.statuses:
        if status not in STATUSES:
            hint = closest(status, STATUSES)
            raise NnxError(f"--status: unknown status {status!r}; known: {', '.join(STATUSES)}"
                           + (f" (did you mean {hint!r}?)" if hint else ""))
    if filters.top is not None and filters.top < 1:
        raise NnxError(f"--top must be at least 1, got {filters.top}")


def _matches(row, filters):
    if filters.statuses:
        states = {row.status} | {s for s, n in (row.counts or {}).items() if n}
        if row.status == "completed":
            states.add("complete")
        if not states & set(filters.statuses):
            return False
    if filters.name:
        pattern = filters.name.lower()
        names = (row.name.lower(), row.experiment.lower())
        if any(ch in pattern for ch in "*?["):
            if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
                return False
        elif not any(pattern in n for n in names):
            return False
    if filters.since is not None and (row.date is None or row.date < filters.since):
        return False
    return True


def sort_metric_value(row, metric, results):
    """A row's value of `metric`: a run's final model; a study's best trial (from the
    study when it is the study's metric, else from the best trial's run record)."""
    if row.kind == "run":
        return run_metric(row.document, metric)
    if metric == row.metric:
        return row.value
    best = as_dict(row.document.get("best"))
    record = results.run(best.get("run_id")) if isinstance(best.get("run_id"), str) else None
    return None if record is None else run_metric(record, metric)


def overview_rows(results, filters):
    """(rows, hidden, totals): the rows to show, how many trial runs were folded away, and
    {kind: rows of that kind before the filters and --top}."""
    trial_runs, rows = set(), []
    for document, path in results.studies:
        trial_runs.update(t.get("run_id") for t in document["trials"]
                          if isinstance(t.get("run_id"), str))
        _add_row(rows, results, study_row, document, path)
    hidden = 0
    folder = runs_dir(results.root)
    for record in results.runs:
        if record["run_id"] in trial_runs and not filters.all_runs:
            hidden += 1
            continue
        _add_row(rows, results, run_row, record, folder / f"{record['run_id']}.json")
    totals = {kind: sum(r.kind == kind for r in rows) for kind in ("run", "study")}
    rows = [r for r in rows if _matches(r, filters)]
    rows.sort(key=lambda r: r.name)
    rows.sort(key=lambda r: r.date.timestamp() if r.date else float("-inf"), reverse=True)
    sort = filters.sort
    if sort in ("name", "status"):
        rows.sort(key=lambda r: getattr(r, sort))
    elif sort == "duration":
        rows.sort(key=lambda r: -(r.duration_s or 0.0))
    elif sort not in (None, "date"):
        rows = _sorted_by_metric(rows, sort, results)
    if filters.top:
        rows = rows[:filters.top]
    return rows, hidden, totals


def _add_row(rows, results, make, document, path):
    """A row, or the file listed as skipped when its values make no sense."""
    try:
        rows.append(make(document, path))
    except (TypeError, ValueError, AttributeError, KeyError) as err:
        results.skipped.append((path, f"damaged ({type(err).__name__}: {err})"))


def _sorted_by_metric(rows, metric, results):
    maximize = higher_is_better(metric)
    for row in rows:
        row.metric, row.value = metric, sort_metric_value(row, metric, results)
        row.maximize = maximize
    present = [r for r in rows if r.value is not None]
    if rows and not present:
        known = sorted({name for record in results.runs for name in _metric_names(record)}
                       | set(SORT_KEYS))
        hint = closest(metric, known)
        raise NnxError(f"--sort: no run or study has a value of {metric!r}; known: "
                       f"{', '.join(known)}" + (f" (did you mean {hint!r}?)" if hint else ""))
    present.sort(key=lambda r: r.value, reverse=maximize)
    return present + [r for r in rows if r.value is None]


def _metric_names(record):
    for split, values in as_dict(record.get("metrics")).items():
        for base in as_dict(values):
            yield base if split == "train" else f"{split}_{base}"


def counts_text(counts):
    if counts is None:
        return "-"
    return "/".join(str(counts.get(s, 0)) for s in FINISHED_STATES)


def overview_view(results, filters):
    check_filters(filters)
    rows, hidden, totals = overview_rows(results, filters)
    best_index = _best_row(rows) if filters.sort not in (None, *SORT_KEYS) else None
    metrics = {row.metric for row in rows}
    one_metric = len(metrics) == 1
    with_year = len({r.date.year for r in rows if r.date} | {datetime.now(UTC).year}) > 1
    columns = [Column("name", shrink=2), Column("kind"), Column("status"),
               *([] if one_metric else [Column("metric")]),
               Column("best", "right"),
               Column("c/p/d/f", "right"), Column("duration", "right"),
               Column("date (UTC)"), Column("notes", shrink=1, min_width=5)]
    table = Table(None, columns,
                  empty="no runs or studies match" if results.runs or results.studies
                  else f"no runs or studies in {results.root}")
    for i, row in enumerate(rows):
        table.add([row.name, row.kind,
                   cell(row.status, style=STATUS_STYLE.get(row.status)),
                   *([] if one_metric else [row.metric]),
                   cell(row.value, fmt_metric(row.value),
                                    style="bold" if i == best_index else None),
                   cell(row.counts, counts_text(row.counts)),
                   cell(row.duration_s, fmt_duration(row.duration_s)),
                   cell(row.date, fmt_date(row.date, with_year)),
                   cell(row.notes, style="red" if row.flags or row.status in (
                       "failed", "diverged", "damaged") else None)])
    shown = {kind: sum(r.kind == kind for r in rows) for kind in totals}
    counted, why = shown_text(shown, totals, filters)
    why += [f"best: {next(iter(metrics))}"] if one_metric else []
    title = f"{results.root}: {counted}" + (f" ({'; '.join(why)})" if why else "")
    sections = [table, Note("c/p/d/f: trials complete / pruned / diverged / failed", "dim")] \
        if any(r.kind == "study" for r in rows) else [table]
    if hidden:
        sections.append(Note(f"{hidden} run{'s' * (hidden != 1)} made by study trials not "
                             "listed: `nnx report STUDY` shows them, --all lists them",
                             style="dim"))
    sections += skipped_sections(results.skipped)
    document = {**overview_document(results, rows, hidden),
                "counts": {KINDS[kind]: {"shown": shown[kind], "total": totals[kind]}
                           for kind in totals}}
    return View("overview", title, sections, document, overview_csv(rows), name="overview")


KINDS = {"run": "runs", "study": "studies"}


def shown_text(shown, totals, filters):
    """(`4 runs, 2 studies`, []), or what is shown of them and why: (`0 of 4 runs, 2 of 2
    studies shown`, [`--top 2`])."""
    def counted(n, kind):
        return f"{n} {kind if n == 1 else KINDS[kind]}"

    if shown == totals:
        return ", ".join(counted(totals[k], k) for k in totals), []
    why = [flag for flag, given in (("--status", filters.statuses), ("--name", filters.name),
                                    ("--since", filters.since)) if given]
    if filters.top and sum(shown.values()) == filters.top:
        why.append(f"--top {filters.top}")
    return ", ".join(f"{shown[k]} of {counted(totals[k], k)}" for k in totals) + " shown", why


def _best_row(rows):
    best = None
    for i, row in enumerate(rows):
        if best is None or better(row.value, rows[best].value, row.maximize):
            best = i
    return best if best is not None and rows[best].value is not None else None


def skipped_sections(skipped):
    if not skipped:
        return []
    table = Table(f"skipped {len(skipped)} file{'s' * (len(skipped) != 1)}",
                  [Column("file", shrink=2), Column("reason", shrink=1)])
    for path, reason in skipped:
        table.add([str(path), cell(reason, style="yellow")])
    return [table]


def row_document(row):
    return {"kind": row.kind, "name": row.name, "experiment": row.experiment,
            "status": row.status, "metric": row.metric, "value": row.value,
            "direction": "maximize" if row.maximize else "minimize",
            "trials": None if row.counts is None else
            {s: row.counts.get(s, 0) for s in TRIAL_STATES},
            "duration_s": row.duration_s,
            "date": None if row.date is None else row.date.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "flags": row.flags, "notes": row.notes, "path": row.path}


def overview_document(results, rows, hidden):
    return {"view": "overview", "results_dir": str(results.root),
            "rows": [row_document(r) for r in rows], "hidden_trial_runs": hidden,
            "skipped": [{"path": str(p), "reason": r} for p, r in results.skipped]}


def overview_csv(rows):
    columns = ["kind", "name", "status", "metric", "value", *FINISHED_STATES, "duration_s",
               "date", "notes"]
    table = Table(None, [Column(c) for c in columns])
    for row in rows:
        doc = row_document(row)
        counts = doc["trials"] or {}
        table.add([row.kind, row.name, row.status, row.metric, cell(row.value),
                   *[cell(counts.get(s) if row.counts is not None else None)
                     for s in FINISHED_STATES],
                   cell(row.duration_s), cell(doc["date"]), row.notes])
    return table

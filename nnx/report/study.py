"""`nnx report STUDY`: a study in depth — the best trial and how to reproduce it, the top
trials, counts by state, convergence, the learning curves of the best trials, parameter
importance (PED-ANOVA) and a slice view (the value against each parameter).

A study of several objectives shows its Pareto front instead of the top trials (a table,
and a scatter of two objectives: `nnx.report.pareto`) and its picked trial (the knee) as
the best; convergence, curves, importance and slices follow the first objective."""

from nnx.format import fmt_duration, fmt_metric, fmt_objective, fmt_param
from nnx.report.charts import BarChart, LineChart, Series
from nnx.report.importance import param_importances
from nnx.report.overview import STATUS_STYLE, study_counts, trial_span
from nnx.report.pareto import (
    front_data,
    front_objectives,
    front_scatter,
    front_table,
    objectives_text,
)
from nnx.report.values import (
    as_dict,
    as_number,
    as_text,
    better,
    fmt_date,
    parse_time,
)
from nnx.report.view import Charts, Column, Fields, Note, Table, View, cell
from nnx.results.studies import FINISHED_STATES, TRIAL_STATES, study_status

STATE_STYLE = {**STATUS_STYLE, "waiting": "dim"}
CURVES = 3  # learning curves of this many best trials
DEFAULT_TOP = 10


def scored_trials(document):
    """The complete trials with a finite value, best first (ties: the earlier trial)."""
    maximize = document.get("direction") == "maximize"
    trials = [t for t in document["trials"]
              if t.get("state") == "complete" and as_number(t.get("value")) is not None
              and isinstance(t.get("number"), int)]
    trials.sort(key=lambda t: t["number"])
    trials.sort(key=lambda t: t["value"], reverse=maximize)
    return trials


def convergence(document):
    """[(trial number, value, best so far)] over the complete trials, in trial order."""
    maximize = document.get("direction") == "maximize"
    best, out = None, []
    for trial in sorted(scored_trials(document), key=lambda t: t["number"]):
        value = float(trial["value"])
        if better(value, best, maximize):
            best = value
        out.append((trial["number"], value, best))
    return out


def intermediate_curve(trial):
    """(epochs, values) of a trial's per-epoch reports."""
    points = []
    for step, value in as_dict(trial.get("intermediate")).items():
        try:
            points.append((int(step), as_number(value)))
        except (TypeError, ValueError):
            continue
    points.sort()
    return [p[0] for p in points], [p[1] for p in points]


def param_names(document):
    space = as_dict(document.get("space"))
    names = list(space)
    for trial in document["trials"]:
        names += [k for k in as_dict(trial.get("params")) if k not in names]
    return list(dict.fromkeys(names))


def short_param(name):
    """`model.layers.0.units` -> `layers.0.units`: the last parts that still tell it apart."""
    parts = name.split(".")
    return ".".join(parts[-3:]) if len(parts) > 3 else name


def study_facts(document, path=""):
    """Status, method, metric, trials by state, experiment, storage and times of a study,
    as (label, value) pairs."""
    counts = study_counts(document)
    first, _, span = trial_span(document)
    status = study_status(counts, "damaged" in document)
    return [("status", cell(status, style=STATE_STYLE.get(status))),
            ("method", as_text(document.get("method"), "?")),
            objective_field(document),
            ("trials", ", ".join(f"{counts.get(s, 0)} {s}" for s in TRIAL_STATES
                                 if counts.get(s, 0) or s in FINISHED_STATES)),
            ("experiment", " ".join([as_text(document.get("experiment"), "?"),
                                     *[f"--set {o}" for o in document.get("overrides") or []
                                       if isinstance(o, str)]])),
            ("storage", as_text(document.get("storage"), "?")),
            ("created", fmt_date(parse_time(document.get("created")))),
            ("trial time", f"{fmt_duration(span)} from {fmt_date(first)}" if span is not None
             else "-"),
            ("document", str(path))]


def objective_field(document):
    """What the study optimizes, as a (label, value) pair: its metric and direction, or its
    objectives (`?` when they are damaged)."""
    if "objectives" not in document:
        return ("metric", f"{as_text(document.get('metric'), 'value')} "
                          f"({as_text(document.get('direction'), '?')})")
    objectives = front_objectives(document)
    return ("objectives", objectives_text(objectives) if objectives else "?")


def study_view(document, path="", top=None):
    top = top or DEFAULT_TOP
    counts = study_counts(document)
    metric = as_text(document.get("metric"), "value")
    best = as_dict(document.get("best"))
    names = param_names(document)
    pareto = front_data(document)
    sections = [Fields(None, study_facts(document, path)), best_fields(best, metric)]
    if "damaged" in document:
        sections.insert(1, Note(document["damaged"], style="red"))
    sections.append(trials_table(document, pareto, names, top))
    scatter = front_scatter(pareto)
    if scatter is not None:
        sections.append(Charts([scatter]))
    sections.append(BarChart("trials by state", [(s, counts.get(s, 0), str(counts.get(s, 0)))
                                                 for s in TRIAL_STATES if counts.get(s, 0)]))
    charts = [convergence_chart(document, metric), curves_chart(document, metric)]
    charts = [c for c in charts if c is not None]
    if charts:
        sections.append(Charts(charts))
    importances, reason = param_importances(document)
    if importances:
        sections.append(BarChart("parameter importance (PED-ANOVA)",
                                 [(n, v, f"{v:.3f}") for n, v in importances.items()],
                                 style="green", max_value=1.0))
    else:
        sections.append(Note(f"parameter importance: {reason}", style="dim"))
    slices = slice_charts(document, names, metric)
    if slices:
        sections.append(Charts(slices, f"slices: {metric} against each parameter"))
    data = study_document(document, counts, top, importances, reason, path)
    if pareto:
        data.update(objectives=pareto["objectives"], pareto=pareto)
    return View("study", f"study {document['study']}", sections, data,
                trials_csv(document, names, pareto), name=document["study"])


def best_fields(best, metric):
    if not best:
        return Note("best trial: none yet (no trial completed with a finite value)",
                    style="yellow")
    values = as_dict(best.get("values")) or {metric: best.get("value")}
    items = [("trial", f"#{best.get('trial')}"),
             *[(name, cell(value, fmt_objective(name, value), style="bold"))
               for name, value in values.items()]]
    for name, value in as_dict(best.get("params")).items():
        items.append((name, fmt_param(value)))
    items.append(("run", as_text(best.get("run_id"), "-")))
    items.append(("reproduce", as_text(best.get("command"), "-")))
    pick = best.get("pick")
    return Fields("best trial" if not pick else "knee of the Pareto front" if pick == "knee"
                  else f"best {pick} on the Pareto front", items)


def trials_table(document, pareto, names, top):
    """The trials a study is judged by: its Pareto front (`pareto`: `front_data`), else
    its `top` trials."""
    if pareto:
        return front_table(document, pareto, names, short_param)
    return top_table(document, names, top)


def top_table(document, names, top):
    scored = scored_trials(document)
    columns = [Column("rank", "right"), Column("trial", "right"), Column("value", "right"),
               *[Column(short_param(n), "right") for n in names],
               Column("epochs", "right"), Column("duration", "right"),
               Column("run", shrink=1)]
    title = f"top {min(top, len(scored))} of {len(scored)} complete trials"
    table = Table(title, columns, empty="no complete trial yet")
    for rank, trial in enumerate(scored[:top], 1):
        params = as_dict(trial.get("params"))
        epochs, _ = intermediate_curve(trial)
        table.add([rank, f"#{trial['number']}",
                   cell(trial["value"], fmt_metric(trial["value"]),
                        style="bold" if rank == 1 else None),
                   *[cell(params.get(n), fmt_param(params.get(n))) for n in names],
                   cell(len(epochs)), cell(trial.get("duration_s"),
                                           fmt_duration(trial.get("duration_s"))),
                   as_text(trial.get("run_id"), "-")])
    return table


def convergence_chart(document, metric):
    points = convergence(document)
    if not points:
        return None
    numbers = [p[0] for p in points]
    return LineChart(f"convergence ({metric})", [
        Series("trial value", numbers, [p[1] for p in points], kind="points", marker="."),
        Series("best so far", numbers, [p[2] for p in points], kind="step", marker="*")],
        x_label="trial", y_label=metric, height=9)


def curves_chart(document, metric):
    series = []
    for trial in scored_trials(document)[:CURVES]:
        epochs, values = intermediate_curve(trial)
        if epochs:
            series.append(Series(f"#{trial['number']}", epochs, values))
    if not series:
        return None
    return LineChart(f"learning curves of the best {len(series)} ({metric})", series,
                     x_label="epoch", y_label=metric, height=9)


def slice_charts(document, names, metric):
    """One scatter per parameter: the value of each complete trial against the parameter;
    a categorical parameter gets one column per choice."""
    space = as_dict(document.get("space"))
    scored = scored_trials(document)
    best_number = scored[0]["number"] if scored else None
    charts = []
    for name in names:
        spec = as_dict(space.get(name))
        pairs = [(as_dict(t.get("params")).get(name), float(t["value"]), t["number"])
                 for t in scored if name in as_dict(t.get("params"))]
        if not pairs:
            continue
        categorical = spec.get("type") == "categorical" or any(
            isinstance(p[0], (str, bool)) or p[0] is None for p in pairs)
        x_labels = {}
        if categorical:
            choices = list(spec.get("choices") or dict.fromkeys(p[0] for p in pairs))
            index = {repr(c): i for i, c in enumerate(choices)}
            pairs = [(index.get(repr(p[0])), p[1], p[2]) for p in pairs]
            x_labels = {i: fmt_param(c) for i, c in enumerate(choices)}
        others = [p for p in pairs if p[2] != best_number]
        bests = [p for p in pairs if p[2] == best_number]
        series = [Series("trial", [p[0] for p in others], [p[1] for p in others],
                         kind="points", marker=".")]
        if bests:
            series.append(Series("best", [p[0] for p in bests], [p[1] for p in bests],
                                 kind="points", marker="*"))
        charts.append(LineChart(short_param(name), series, x_label=short_param(name),
                                y_label=metric, log_x=bool(spec.get("log")) and not categorical,
                                height=7, max_width=60, x_labels=x_labels))
    return charts


def trial_document(trial):
    epochs, values = intermediate_curve(trial)
    return {"number": trial.get("number"), "state": trial.get("state"),
            "value": as_number(trial.get("value")), "params": as_dict(trial.get("params")),
            "epochs": len(epochs), "duration_s": as_number(trial.get("duration_s")),
            "run_id": trial.get("run_id"), "error": trial.get("error")}


def study_document(document, counts, top, importances, reason, path):
    return {"view": "study", "study": document["study"], "method": document.get("method"),
            "metric": document.get("metric"), "direction": document.get("direction"),
            "storage": document.get("storage"), "experiment": document.get("experiment"),
            "status": study_status(counts, "damaged" in document), "counts": counts,
            "damaged": document.get("damaged"), "best": document.get("best"),
            "top": [trial_document(t) for t in scored_trials(document)[:top]],
            "convergence": [{"trial": n, "value": v, "best_so_far": b}
                            for n, v, b in convergence(document)],
            "importance": importances, "importance_note": reason, "path": str(path)}


def trials_csv(document, names, pareto=None):
    """Every trial, in trial order: number, state, value (with several objectives: each
    objective's value, and whether it is on the Pareto front), each parameter, run."""
    objectives = [o["metric"] for o in pareto["objectives"]] if pareto else []
    front = pareto["front"] if pareto else []
    values = [*objectives, "pareto"] if pareto else ["value"]
    table = Table(None, [Column(c) for c in ("number", "state", *values, *names, "epochs",
                                             "duration_s", "run_id", "error")])
    for trial in sorted(document["trials"], key=lambda t: as_number(t.get("number")) or 0):
        params = as_dict(trial.get("params"))
        row = trial_document(trial)
        shown = [as_dict(trial.get("values")).get(name) for name in objectives]
        shown = [*shown, row["number"] in front] if pareto else [row["value"]]
        table.add([cell(row["number"]), cell(row["state"]), *[cell(v) for v in shown],
                   *[cell(params.get(n)) for n in names], cell(row["epochs"]),
                   cell(row["duration_s"]), cell(row["run_id"]), cell(row["error"])])
    return table

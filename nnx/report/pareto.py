"""The Pareto front of a study with several objectives, from its JSON: the data every view
of it draws (`front_data`, its knee: `front_knee`), the terminal scatter of two objectives
and the front's table.

A damaged document is read as the rest of the report reads it: objectives that are not
each a metric name and a direction are missing (the study reads as one of its first
objective), and so is a front entry or a trial without a trial number.
"""

from nnx.format import fmt_objective, fmt_param
from nnx.report.charts import LineChart, Series
from nnx.report.values import as_dict, as_int, as_number
from nnx.report.view import Column, Table, cell
from nnx.results.pareto import KNEE, pick_row

LOG_SPAN = 10  # an objective whose positive values span this factor is drawn on a log axis
DIRECTIONS = ("minimize", "maximize")


def front_data(document):
    """{"objectives": [{metric, direction}], "points": [{"trial", "values" (in objective
    order; a count stays an int), "front" (on the Pareto front?), "params", "run_id"}] for
    every complete trial with a value for each objective, in trial order, and "front": the
    front's trial numbers, best first on the first objective}; None for a study of one
    objective (or of damaged objectives)."""
    objectives = front_objectives(document)
    if objectives is None or not isinstance(document.get("pareto"), list):
        return None
    numbers = (as_int(as_dict(entry).get("trial")) for entry in document["pareto"])
    front = [number for number in dict.fromkeys(numbers) if number is not None]
    points = []
    for trial in sorted(document["trials"], key=lambda t: as_number(t.get("number")) or 0):
        values = [as_number(as_dict(trial.get("values")).get(o["metric"]), keep_int=True)
                  for o in objectives]
        if trial.get("state") != "complete" or as_int(trial.get("number")) is None \
                or None in values:
            continue
        points.append({"trial": trial.get("number"), "values": values,
                       "front": trial.get("number") in front,
                       "params": as_dict(trial.get("params")), "run_id": trial.get("run_id")})
    return {"objectives": objectives, "points": points, "front": front}


def front_objectives(document):
    """The [{metric, direction}] of a study of several objectives; None for a study of one
    and for a damaged list."""
    objectives = document.get("objectives")
    if not isinstance(objectives, list) or len(objectives) < 2:
        return None
    if not all(isinstance(o, dict) and isinstance(o.get("metric"), str)
               and o.get("direction") in DIRECTIONS for o in objectives):
        return None
    return [{"metric": o["metric"], "direction": o["direction"]} for o in objectives]


def objectives_text(objectives):
    """`maximize val_accuracy, minimize params`."""
    return ", ".join(f"{o['direction']} {o['metric']}" for o in objectives)


def front_knee(data):
    """The point of `data` that is the front's knee (as the study's `best` picks it by
    default); None for an empty front."""
    metrics = [o["metric"] for o in data["objectives"]]
    rows = [{"number": p["trial"], "values": dict(zip(metrics, p["values"])), "point": p}
            for p in data["points"] if p["front"]]
    row = pick_row(rows, data["objectives"], KNEE)
    return None if row is None else row["point"]


def front_scatter(data):
    """The first objective (y) against the second (x), the front as a staircase; None
    unless there are exactly two objectives."""
    if data is None or len(data["objectives"]) != 2 or not data["points"]:
        return None
    (y_name, x_name) = (o["metric"] for o in data["objectives"])
    others = [p for p in data["points"] if not p["front"]]
    front = sorted((p for p in data["points"] if p["front"]), key=lambda p: p["values"][1])
    series = [Series("trial", [p["values"][1] for p in others], [p["values"][0] for p in others],
                     kind="points", marker="."),
              Series("Pareto front", [p["values"][1] for p in front],
                     [p["values"][0] for p in front], kind="step", marker="*")]
    return LineChart(f"Pareto front: {y_name} against {x_name}", series, x_label=x_name,
                     y_label=y_name, log_x=log_axis(data, 1), log_y=log_axis(data, 0),
                     height=12)


def log_axis(data, index):
    """Whether objective `index` is drawn on a log axis: its values are positive and span
    a decade or more."""
    values = [p["values"][index] for p in data["points"]]
    return min(values) > 0 and max(values) >= LOG_SPAN * min(values)


def front_table(document, data, names, short):
    """One row per front member, best first on the first objective: its objective values,
    parameters and run."""
    objectives = data["objectives"]
    by_trial = {p["trial"]: p for p in data["points"]}
    picked = as_dict(document.get("best")).get("trial")
    columns = [Column("trial", "right"), *[Column(o["metric"], "right") for o in objectives],
               *[Column(short(n), "right") for n in names], Column("run", shrink=1)]
    title = (f"Pareto front: {len(data['front'])} of {len(data['points'])} complete trials ("
             f"{objectives_text(objectives)})")
    table = Table(title, columns, empty="no complete trial yet")
    for number in data["front"]:
        point = by_trial.get(number)
        if point is None:
            continue
        table.add([f"#{number}",
                   *[cell(v, fmt_objective(o["metric"], v)) for o, v in zip(objectives,
                                                                             point["values"])],
                   *[cell(point["params"].get(n), fmt_param(point["params"].get(n)))
                     for n in names],
                   point["run_id"] or "-"], style="bold" if number == picked else None)
    return table

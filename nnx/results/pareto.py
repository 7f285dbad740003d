"""Picking one trial from the Pareto front of a multi-objective study, from the study JSON
alone (no Optuna: the report and the export use it on any host).

The front itself is Optuna's (`study.best_trials`: the complete trials that no other
complete trial dominates; equal points are all kept). A pick is `knee` — the front member
closest to the utopia point (the best value of each objective over the front) once each
objective is scaled to [0, 1] over the front — or an objective's name: the front member
best on that objective, ties going to the one better on the other objectives, in order.
"""

import math

KNEE = "knee"


def document_objectives(document):
    """[{metric, direction}] of a study document: its `objectives`, else its one metric."""
    objectives = document.get("objectives")
    if isinstance(objectives, list) and objectives:
        return objectives
    return [{"metric": document.get("metric"), "direction": document.get("direction")}]


def pick_names(objectives):
    """What `--pick` accepts for these objectives."""
    return [KNEE, *(o["metric"] for o in objectives)]


def losses(row, objectives):
    """The row's objective values as losses (lower is better): maximized ones negated."""
    values = row["values"]
    return [values[o["metric"]] if o["direction"] == "minimize" else -values[o["metric"]]
            for o in objectives]


def pick_row(front, objectives, pick=KNEE):
    """The row of `front` (rows with `number` and `values` {metric: value}) that `pick`
    selects; None for an empty front."""
    if not front:
        return None
    if pick == KNEE:
        return knee_row(front, objectives)
    first = next(i for i, o in enumerate(objectives) if o["metric"] == pick)
    order = [first, *(i for i in range(len(objectives)) if i != first)]
    return min(front, key=lambda r: ([losses(r, objectives)[i] for i in order], r["number"]))


def knee_row(front, objectives):
    """The front member nearest the utopia point after scaling each objective over the front
    to [0, 1] (0 its best value); an objective equal over the whole front counts 0. Ties:
    the earlier trial."""
    points = [losses(row, objectives) for row in front]
    low = [min(column) for column in zip(*points)]
    high = [max(column) for column in zip(*points)]

    def distance(point):
        return math.sqrt(sum(((v - lo) / (hi - lo) if hi > lo else 0.0) ** 2
                             for v, lo, hi in zip(point, low, high)))

    return min(zip(front, points), key=lambda rp: (distance(rp[1]), rp[0]["number"]))[0]


def sort_front(front, objectives):
    """The front best first on the first objective (then on the others, then trial number)."""
    return sorted(front, key=lambda r: (losses(r, objectives), r["number"]))

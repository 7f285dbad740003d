"""The Pareto front nnx writes into a study document against a brute-force non-dominated
filter over its trials (mixed directions, ties, pruned, diverged and failed trials left
out), and the trial a pick selects from it against a known front."""

import math
import random

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from nnx.results.pareto import knee_row, pick_row
from nnx.search.study_json import build_document

OPTUNA_STATE = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED,
                "diverged": TrialState.PRUNED, "failed": TrialState.FAIL}


def objectives_of(*pairs):
    return [{"metric": m, "direction": d} for m, d in pairs]


def nnx_study(objectives, trials):
    """An in-memory study as nnx search leaves it: `trials` are (state, values) with the
    values in objective order (a pruned, diverged or failed trial keeps its values in its
    attributes only, as a run that ended early would)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=[o["direction"] for o in objectives])
    for key, value in {"nnx_objectives": objectives, "nnx_metric": objectives[0]["metric"],
                       "nnx_direction": objectives[0]["direction"], "nnx_space": {}}.items():
        study.set_user_attr(key, value)
    names = [o["metric"] for o in objectives]
    for number, (state, values) in enumerate(trials):
        attrs = {"nnx_state": state, "params": {"x": number}, "run_id": f"run-{number}",
                 "command": f"nnx train exp.yaml --set x={number}", "value": values[0],
                 "values": dict(zip(names, values))}
        study.add_trial(create_trial(
            state=OPTUNA_STATE[state], values=list(values) if state == "complete" else None,
            params={"x": float(number)}, distributions={"x": FloatDistribution(0, 1e6)},
            user_attrs=attrs))
    return study


def brute_force_front(rows, objectives):
    """The numbers of the complete trials that no other complete trial dominates."""
    def loss(row):
        return [row["values"][o["metric"]] * (1 if o["direction"] == "minimize" else -1)
                for o in objectives]

    def dominates(a, b):
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

    complete = [r for r in rows if r["state"] == "complete"]
    return {r["number"] for r in complete
            if not any(dominates(loss(other), loss(r)) for other in complete)}


def reference_knee(front, objectives):
    """Distance to the utopia point with each objective scaled to [0, 1] over the front."""
    def scaled(row, o):
        values = [r["values"][o["metric"]] for r in front]
        low, high = min(values), max(values)
        if high == low:
            return 0.0
        best = high if o["direction"] == "maximize" else low
        return abs(row["values"][o["metric"]] - best) / (high - low)

    return min(front, key=lambda r: (math.hypot(*[scaled(r, o) for o in objectives]),
                                     r["number"]))


DIRECTIONS = {
    "max-min": objectives_of(("val_accuracy", "maximize"), ("params", "minimize")),
    "min-max": objectives_of(("val_loss", "minimize"), ("val_accuracy", "maximize")),
    "min-min": objectives_of(("predict_ms", "minimize"), ("params", "minimize")),
    "three": objectives_of(("val_accuracy", "maximize"), ("params", "minimize"),
                           ("predict_ms", "minimize")),
}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("case", list(DIRECTIONS))
def test_front_is_the_brute_force_non_dominated_set(case, seed):
    objectives = DIRECTIONS[case]
    rng = random.Random(seed)
    levels = [0.5, 0.8, 0.9, 0.95, 1.0]  # few levels: many ties on one objective or all
    trials = []
    for _ in range(40):
        state = rng.choice(["complete"] * 6 + ["pruned", "diverged", "failed"])
        values = [rng.choice(levels) * (1000 if o["metric"] == "params" else 1)
                  for o in objectives]
        if state != "complete" and rng.random() < 0.5:  # would dominate everything
            values = [1000.0 if o["direction"] == "maximize" else -1.0 for o in objectives]
        trials.append((state, values))
    document = build_document(nnx_study(objectives, trials), "memory")
    expected = brute_force_front(document["trials"], objectives)
    assert {e["trial"] for e in document["pareto"]} == expected and expected
    rows = {r["number"]: r for r in document["trials"]}
    assert all(e["values"] == rows[e["trial"]]["values"] for e in document["pareto"])
    first = objectives[0]
    ordered = [e["values"][first["metric"]] for e in document["pareto"]]
    assert ordered == sorted(ordered, reverse=first["direction"] == "maximize")
    knee = reference_knee([rows[n] for n in expected], objectives)
    assert document["best"]["trial"] == knee["number"] and document["best"]["pick"] == "knee"


def test_equal_trials_are_all_on_the_front_and_a_tie_on_one_objective_is_decided_by_the_other():
    objectives = DIRECTIONS["max-min"]
    trials = [("complete", [0.9, 500]), ("complete", [0.9, 500]),  # equal: both kept
              ("complete", [0.9, 800]),  # same accuracy, more parameters: dominated
              ("complete", [0.95, 800]), ("complete", [0.95, 800]),
              ("failed", [0.99, 100]), ("diverged", [0.99, 100]), ("pruned", [0.99, 100])]
    document = build_document(nnx_study(objectives, trials), "memory")
    assert sorted(e["trial"] for e in document["pareto"]) == [0, 1, 3, 4]
    assert [e["trial"] for e in document["pareto"]] == [3, 4, 0, 1]  # best accuracy first


KNOWN_FRONT = [  # (trial, val_accuracy, params): scaled, #2 lies nearest the utopia point
    (0, 0.99, 10000), (1, 0.98, 2000), (2, 0.95, 500), (3, 0.70, 100)]


def known_front():
    return [{"number": n, "values": {"val_accuracy": a, "params": p}}
            for n, a, p in KNOWN_FRONT]


def test_knee_of_a_known_front():
    objectives = DIRECTIONS["max-min"]
    assert knee_row(known_front(), objectives)["number"] == 2
    assert pick_row(known_front(), objectives, "knee")["number"] == 2
    flipped = objectives_of(("params", "minimize"), ("val_accuracy", "maximize"))
    assert pick_row(known_front(), flipped)["number"] == 2  # the order does not matter


def test_pick_an_objective_takes_the_fronts_best_on_it():
    objectives = DIRECTIONS["max-min"]
    assert pick_row(known_front(), objectives, "val_accuracy")["number"] == 0
    assert pick_row(known_front(), objectives, "params")["number"] == 3
    tied = [{"number": 0, "values": {"val_accuracy": 0.9, "params": 300}},
            {"number": 1, "values": {"val_accuracy": 0.9, "params": 200}}]
    assert pick_row(tied, objectives, "val_accuracy")["number"] == 1  # then fewer params
    assert pick_row([], objectives, "knee") is None


def test_a_single_objective_document_is_unchanged():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    for key, value in {"nnx_metric": "val_accuracy", "nnx_direction": "maximize"}.items():
        study.set_user_attr(key, value)
    for number, value in enumerate([0.8, 0.9, 0.85]):
        study.add_trial(create_trial(
            value=value, params={"x": float(number)},
            distributions={"x": FloatDistribution(0, 10)},
            user_attrs={"nnx_state": "complete", "value": value, "params": {"x": number},
                        "run_id": f"run-{number}", "command": "c"}))
    document = build_document(study, "memory")
    assert "pareto" not in document and "objectives" not in document
    assert all("values" not in row for row in document["trials"])
    assert document["best"] == {"trial": 1, "value": 0.9, "params": {"x": 1},
                                "run_id": "run-1", "command": "c"}

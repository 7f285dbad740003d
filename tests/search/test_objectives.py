"""Searches with several objectives through the CLI: every trial's objective values in the
study JSON (also over a resume and two workers), the Pareto front, the methods that support
them, `--pick` with `--export-best`, warm start, the report, and bad input refused with one
line before anything is written."""

import copy
import json
import math

import pytest
import yaml
from search_helpers import BASE
from test_bad_input import refused
from test_pareto import brute_force_front, reference_knee

from nnx.costs import COSTS

OBJECTIVES = [{"metric": "val_accuracy", "direction": "maximize"},
              {"metric": "params", "direction": "minimize"}]
SPACE = {"train.optimizer.lr": {"type": "float", "low": 1.0e-3, "high": 0.1, "log": True},
         "model.layers.0.units": {"type": "int", "low": 2, "high": 16}}


def write(ws, objectives=None, filename="exp.yaml", name="tiny", space=SPACE, **search):
    """BASE with `search.objectives` instead of its one metric."""
    config = copy.deepcopy(BASE)
    config["name"] = name
    config["search"] = {"objectives": objectives or OBJECTIVES, "n_trials": 3,
                        "space": space, **search}
    (ws.root / filename).write_text(yaml.safe_dump(config, sort_keys=False))
    return filename


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def check_values(ws, study, objectives=OBJECTIVES):
    """Every complete trial holds each objective's value, as its run record has it; the
    front is the brute-force non-dominated set; the best is its knee."""
    complete = [t for t in study["trials"] if t["state"] == "complete"]
    assert complete
    for trial in complete:
        record = ws.run_record(trial["run_id"])
        expected = {o["metric"]: record["costs"][o["metric"]] if o["metric"] in COSTS
                    else record["metrics"]["val"][o["metric"].removeprefix("val_")]
                    for o in objectives}
        assert trial["values"] == expected
        assert trial["value"] == expected[objectives[0]["metric"]]
    front = brute_force_front(study["trials"], objectives)
    assert {e["trial"] for e in study["pareto"]} == front
    knee = reference_knee([t for t in complete if t["number"] in front], objectives)
    assert study["best"]["trial"] == knee["number"]
    assert study["best"]["command"] == knee["command"]
    return complete


def test_every_complete_trial_records_each_objective(ws):
    result = ok(ws.nnx("search", write(ws), "--method", "random", "--n-trials", 4))
    output = result.output
    assert "several objectives: trials run without pruning" in output
    assert "pruner none, maximize val_accuracy, minimize params" in output
    study = ws.study()
    assert study["objectives"] == OBJECTIVES
    assert len(check_values(ws, study)) == 4
    knee = study["best"]
    assert f"knee of the Pareto front ({len(study['pareto'])} trials): trial {knee['trial']}" \
        in output and f"reproduce: {knee['command']}" in output
    for trial in study["trials"]:  # no per-epoch reports in Optuna: the curve is kept aside
        record = ws.run_record(trial["run_id"])
        assert list(trial["intermediate"].values()) == record["history"]["val_accuracy"]
        assert set(record["costs"]) == set(COSTS.names())


def test_resume_and_two_workers_keep_every_trials_values(ws):
    path = write(ws)
    ok(ws.nnx("search", path, "--method", "bayes", "--n-trials", 2))
    result = ok(ws.nnx("search", path, "--method", "bayes", "--n-trials", 4, "--n-jobs", 2))
    assert "resuming study tiny" in result.output and "2 workers" in result.output
    study = ws.study()
    assert [t["number"] for t in study["trials"]] == list(range(6))
    assert len(check_values(ws, study)) == 6
    assert len({t["values"]["params"] for t in study["trials"]}) > 1


@pytest.mark.parametrize("method", ["bayes", "nsga2", "nsga3", "grid"])
def test_methods_with_several_objectives(ws, method):
    space = SPACE if method != "grid" else {
        "model.layers.0.units": {"type": "categorical", "choices": [2, 4, 8]}}
    result = ok(ws.nnx("search", write(ws, space=space), "--method", method))
    assert f"{method} over" in result.output
    study = ws.study()
    assert study["method"] == method and len(check_values(ws, study)) == 3


def test_three_objectives_and_the_report(ws):
    three = [*OBJECTIVES, {"metric": "predict_ms", "direction": "minimize"}]
    ok(ws.nnx("search", write(ws, three), "--method", "random", "--n-trials", 4))
    study = ws.study()
    check_values(ws, study, three)
    assert all(t["values"]["predict_ms"] > 0 for t in study["trials"])
    report = ok(ws.nnx("report", "tiny", "--results-dir", ws.results))
    assert (f"Pareto front: {len(study['pareto'])} of 4 complete trials (maximize "
            "val_accuracy, minimize params, minimize predict_ms)") in report.output
    assert "Pareto front: val_accuracy against" not in report.output  # two objectives only
    assert "objectives  maximize val_accuracy, minimize params, minimize predict_ms" \
        in report.output
    data = json.loads(ok(ws.nnx("report", "tiny", "--results-dir", ws.results,
                                "--format", "json")).output)
    points = data["pareto"]["points"]
    assert [p["trial"] for p in points if p["front"]] == sorted(
        e["trial"] for e in study["pareto"])
    assert all(p["values"] == [study["trials"][p["trial"]]["values"][o["metric"]]
                               for o in three] for p in points)


def test_the_report_draws_two_objectives_as_a_scatter(ws):
    ok(ws.nnx("search", write(ws), "--method", "random", "--n-trials", 4))
    study = ws.study()
    report = ok(ws.nnx("report", "tiny", "--results-dir", ws.results)).output
    assert "Pareto front: val_accuracy against params" in report
    assert "* Pareto front" in report and "knee of the Pareto front" in report
    lines = report.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("Pareto front: ")
                             and "complete trials" in line))
    rows = [line.split() for line in lines[start + 3:start + 3 + len(study["pareto"])]]
    assert [r[0] for r in rows] == [f"#{e['trial']}" for e in study["pareto"]]
    csv_text = ok(ws.nnx("report", "tiny", "--results-dir", ws.results, "--format", "csv"))
    header = csv_text.output.splitlines()[0].split(",")
    assert header[:5] == ["number", "state", "val_accuracy", "params", "pareto"]


def test_pick_exports_the_picked_trial_and_prints_its_command(ws):
    path = write(ws)
    ok(ws.nnx("search", path, "--method", "random", "--n-trials", 5))
    study = ws.study()
    by_number = {t["number"]: t for t in study["trials"]}
    front = [by_number[e["trial"]] for e in study["pareto"]]
    expected = {"knee": reference_knee(front, OBJECTIVES),
                "params": min(front, key=lambda t: (t["values"]["params"],
                                                    -t["values"]["val_accuracy"])),
                "val_accuracy": max(front, key=lambda t: (t["values"]["val_accuracy"],
                                                          -t["values"]["params"]))}
    for pick, trial in expected.items():
        out = ws.root / f"{pick}.yaml"
        result = ok(ws.nnx("search", path, "--max-trials", 5, "--export-best", out,
                           "--pick", pick))
        assert "nothing to do" in result.output  # the budget is met: no new trial
        assert f"trial {trial['number']}" in result.output
        assert f"reproduce: {trial['command']}" in result.output
        exported = yaml.safe_load(out.read_text())
        assert exported["model"]["layers"][0]["units"] == trial["params"][
            "model.layers.0.units"]
        assert math.isclose(exported["train"]["optimizer"]["lr"],
                            trial["params"]["train.optimizer.lr"])
        assert "search" not in exported
        assert out.read_text().startswith(f"# {pick} trial {trial['number']} of study tiny")
    assert ws.study()["trials"] == study["trials"]


def test_warm_start_from_a_multi_objective_study_queues_its_front(ws):
    ok(ws.nnx("search", write(ws), "--method", "random", "--n-trials", 4))
    front = ws.study()["pareto"]
    result = ok(ws.nnx("search", write(ws, filename="next.yaml", name="next"),
                       "--warm-start", "tiny", "--n-trials", 1))
    queued = min(len(front), 5)
    assert f"warm start: {queued} trials queued" in result.output
    first = ws.study("next")["trials"][0]
    assert first["params"] == front[0]["params"]


def test_a_study_of_several_objectives_on_postgresql(ws, postgres_url, pg_study):
    ok(ws.nnx("search", write(ws), "--method", "random", "--n-trials", 2, "--storage",
              postgres_url, "--study", pg_study))
    ok(ws.nnx("search", write(ws), "--method", "random", "--n-trials", 1, "--storage",
              postgres_url, "--study", pg_study))
    study = ws.study(pg_study)
    assert len(check_values(ws, study)) == 3


# -- bad input: one line, exit 2, nothing written -------------------------------------------
@pytest.fixture
def existing(ws):
    """A study `tiny` of two objectives with one trial; yields a check that it is exactly
    as it was."""
    ok(ws.nnx("search", write(ws), "--method", "random", "--n-trials", 1))
    journal, document = ws.journal(), ws.study()
    runs = sorted(p.name for p in (ws.results / "runs").iterdir())

    def untouched():
        assert ws.journal() == journal and ws.study() == document
        assert sorted(p.name for p in (ws.results / "runs").iterdir()) == runs

    return untouched


def objective(metric, direction="minimize"):
    return {"metric": metric, "direction": direction}


BAD_FILES = {
    "named twice": ({"objectives": [objective("val_accuracy", "maximize"),
                                    objective("params"), objective("val_accuracy")]},
                    "search.objectives.2.metric", "'val_accuracy' is named twice"),
    "unknown cost": ({"objectives": [objective("val_accuracy", "maximize"),
                                     objective("parms")]},
                     "search.objectives.1.metric", "did you mean 'params'"),
    "unknown metric": ({"objectives": [objective("val_acuracy", "maximize"),
                                       objective("params")]},
                       "search.objectives.0.metric", "did you mean 'val_accuracy'"),
    "bad direction": ({"objectives": [objective("val_accuracy", "maximise"),
                                      objective("params")]},
                      "search.objectives.0.direction", "did you mean 'maximize'"),
    "a pruner": ({"objectives": OBJECTIVES, "pruner": "median"},
                 "search.pruner", "pruning needs a single objective"),
    "single-objective method": ({"objectives": OBJECTIVES, "method": "cmaes"},
                                "search.method", "cmaes optimizes a single objective"),
    "another first metric": ({"objectives": OBJECTIVES, "metric": "val_loss"},
                             "search.metric", "not the first of search.objectives"),
    "not a list": ({"objectives": {"metric": "params"}}, "search.objectives",
                   "must be a list"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_objectives_in_the_file(ws, existing, case):
    search, *fragments = BAD_FILES[case]
    config = copy.deepcopy(BASE)
    config["search"] = {"space": SPACE, **search}
    (ws.root / "exp.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    refused(ws.nnx("search", "exp.yaml", "--method", "random"), "exp.yaml", *fragments)
    existing()
    refused(ws.nnx("validate", "exp.yaml"), *fragments)


@pytest.mark.parametrize("flags, fragments", [
    (["--pick", "accuracy"], ["--pick accuracy: not an objective", "knee, val_accuracy, "
                              "params", "did you mean 'val_accuracy'"]),
    (["--pruner", "median"], ["--pruner median: pruning needs a single objective"]),
    (["--method", "cmaes"], ["cmaes"]),
])
def test_bad_options_with_several_objectives(ws, existing, flags, fragments):
    refused(ws.nnx("search", "exp.yaml", "--export-best", "best.yaml", *flags), *fragments)
    existing()
    assert not (ws.root / "best.yaml").exists()


def test_a_single_objective_study_refuses_objectives_when_resumed(ws):
    ok(ws.nnx("search", ws.experiment(), "--method", "random", "--n-trials", 1))
    journal = ws.journal()
    refused(ws.nnx("search", write(ws), "--method", "random"),
            "study 'tiny' was started from a different experiment",
            "search.objectives: (absent) then")
    assert ws.journal() == journal


def test_objectives_resolve_with_default_directions_and_resolve_again_unchanged():
    from nnx.config import resolve_config
    from nnx.config.search import SEARCH_KEYS

    assert "objectives" in SEARCH_KEYS  # what the schema listing reads
    raw = copy.deepcopy(BASE)
    raw["search"] = {"objectives": [{"metric": "val_accuracy"}, {"metric": "predict_ms"},
                                    {"metric": "val_loss"}], "space": SPACE}
    search = resolve_config(raw)["search"]
    assert search["objectives"] == [objective("val_accuracy", "maximize"),
                                    objective("predict_ms"), objective("val_loss")]
    assert (search["metric"], search["direction"], search["pruner"]) == (
        "val_accuracy", "maximize", "none")
    assert resolve_config({**raw, "search": search})["search"] == search
    single = resolve_config(copy.deepcopy(BASE))["search"]
    assert single["objectives"] == [objective("val_accuracy", "maximize")]
    assert single["pruner"] == "median"


def test_validate_names_the_objectives(ws):
    result = ok(ws.nnx("validate", write(ws)))
    assert "search: bayes, 3 trials, maximize val_accuracy and minimize params, 2 parameters" \
        in result.output


def test_json_summary_holds_the_front_and_the_picked_trial(ws):
    path = write(ws)
    ok(ws.nnx("search", path, "--method", "random", "--n-trials", 4))
    result = ok(ws.nnx("search", path, "--max-trials", 4, "--pick", "params", "--json"))
    summary = json.loads(result.stdout)
    study = ws.study()
    assert summary["objectives"] == OBJECTIVES and summary["pareto"] == study["pareto"]
    smallest = min(study["pareto"], key=lambda e: e["values"]["params"])
    assert summary["best"]["trial"] == smallest["trial"] and summary["best"]["pick"] == "params"

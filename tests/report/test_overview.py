"""The overview (`nnx report`) on results made by real tiny runs and searches: every number
shown is the one in the JSON files."""

import pytest
from report_helpers import render

from nnx.errors import NnxError
from nnx.format import fmt_duration, fmt_metric
from nnx.report import ReportRequest, build_views
from nnx.report.values import main_metric, run_metric


def overview(produced, **options):
    (view,) = build_views(ReportRequest(results_dir=produced.root, **options))
    return view


def line_of(text, name):
    (line,) = [row for row in text.splitlines() if row.startswith(name + " ")]
    return line


def test_lists_every_study_and_standalone_run_with_the_json_numbers(produced):
    text = render(ReportRequest(results_dir=produced.root))
    for role in ("iris", "dead", "diverged", "moons"):
        record = produced.run_json(role)
        line = line_of(text, record["run_id"])
        metric = main_metric(record)
        assert record["status"] in line and metric in line
        assert fmt_metric(run_metric(record, metric)) in line
        assert fmt_duration(record["duration_s"]) in line
        assert record["created"][5:10] + " " + record["created"][11:16] in line
    for name in produced.studies:
        study = produced.study_json(name)
        line = line_of(text, name)
        counts = study["counts"]
        assert (f"{counts['complete']}/{counts['pruned']}/{counts['diverged']}/"
                f"{counts['failed']}") in line
        assert fmt_metric(study["best"]["value"]) in line and study["metric"] in line
        assert f"best #{study['best']['trial']}" in line


def test_trial_runs_are_folded_into_their_study(produced):
    trial_runs = {t["run_id"] for name in produced.studies
                  for t in produced.study_json(name)["trials"]}
    view = overview(produced)
    names = [row["name"] for row in view.data["rows"]]
    assert not trial_runs & set(names)
    assert view.data["hidden_trial_runs"] == len(trial_runs)
    assert f"{len(trial_runs)} runs made by study trials not listed" in render([view])
    every = overview(produced, all_runs=True)
    assert trial_runs <= {row["name"] for row in every.data["rows"]}
    assert every.data["hidden_trial_runs"] == 0


def test_newest_first(produced):
    dates = [row["date"] for row in overview(produced, all_runs=True).data["rows"]]
    assert dates == sorted(dates, reverse=True)


def test_sort_by_a_metric_best_first_and_top(produced):
    records = produced.all_runs()
    view = overview(produced, all_runs=True, sort="test_accuracy")
    rows = [r for r in view.data["rows"] if r["kind"] == "run"]
    values = [r["value"] for r in rows if r["value"] is not None]
    assert values == sorted(values, reverse=True)
    by_id = {r["run_id"]: r for r in records}
    for row in rows:
        assert row["value"] == by_id[row["name"]]["metrics"]["test"]["accuracy"]
        assert row["metric"] == "test_accuracy"
    top = overview(produced, all_runs=True, sort="test_loss", top=2)
    assert len(top.data["rows"]) == 2
    losses = sorted(r["metrics"]["test"]["loss"] for r in records
                    if r["metrics"].get("test", {}).get("loss") is not None)
    run_values = [r["value"] for r in top.data["rows"] if r["kind"] == "run"]
    assert run_values == losses[:len(run_values)]  # smaller is better for a loss


def test_study_sorted_by_another_metric_uses_its_best_run(produced):
    view = overview(produced, sort="test_accuracy", name="iris-tiny")
    (row,) = [r for r in view.data["rows"] if r["kind"] == "study"]
    study = produced.study_json("iris-tiny")
    best_run = produced.root / "runs" / f"{study['best']['run_id']}.json"
    import json

    assert row["value"] == json.loads(best_run.read_text())["metrics"]["test"]["accuracy"]


def test_filters(produced):
    diverged = overview(produced, statuses=["diverged"]).data["rows"]
    assert [r["name"] for r in diverged] == [produced.runs["diverged"]]
    studies = overview(produced, statuses=["finished"]).data["rows"]
    assert {r["name"] for r in studies} == set(produced.studies)
    glob = overview(produced, name="moons-*").data["rows"]
    assert {r["name"] for r in glob} == {"moons-tiny", produced.runs["moons"]}
    text = overview(produced, name="MOONS").data["rows"]
    assert {r["name"] for r in text} == {"moons-tiny", produced.runs["moons"]}
    assert overview(produced, since="2999-01-01").data["rows"] == []
    assert len(overview(produced, since="1d").data["rows"]) == 6
    assert overview(produced, top=1).data["rows"][0] == overview(produced).data["rows"][0]


@pytest.mark.parametrize("options, message", [
    ({"statuses": ["complted"]}, "did you mean 'completed'"),
    ({"since": "yesterday-ish"}, "--since"),
    ({"format": "yaml"}, "--format"),
    ({"sort": "val_acuracy"}, "did you mean 'val_accuracy'"),
    ({"references": ["x"], "sort": "val_loss"}, "--sort filter the overview"),
])
def test_bad_options(produced, options, message):
    with pytest.raises(NnxError, match=message):
        build_views(ReportRequest(results_dir=produced.root, **options))


def test_empty_results_folder(tmp_path):
    text = render(ReportRequest(results_dir=tmp_path / "nothing"))
    assert "no runs or studies in" in text


def test_the_title_says_what_is_shown_of_what_exists(produced):
    every = overview(produced)
    assert every.title == f"{produced.root}: 4 runs, 2 studies"
    newest = overview(produced, top=2)  # the two studies ran last
    assert [row["kind"] for row in newest.data["rows"]] == ["study", "study"]
    assert newest.title == f"{produced.root}: 0 of 4 runs, 2 of 2 studies shown (--top 2)"
    failed = overview(produced, statuses=["diverged"])
    assert failed.title == (f"{produced.root}: 1 of 4 runs, 0 of 2 studies shown "
                            "(--status; best: val_accuracy)")
    assert newest.data["counts"] == {"runs": {"shown": 0, "total": 4},
                                     "studies": {"shown": 2, "total": 2}}

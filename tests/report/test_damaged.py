"""Damaged or foreign JSON files are listed as skipped, with the reason; the report goes on."""

import json

import pytest
from report_helpers import block, damage, nnx, render
from test_pareto import nnx_study, objectives_of

from nnx.report import ReportRequest, build_views
from nnx.search.study_json import build_document


def test_overview_lists_damaged_files_and_goes_on(copy_of, produced):
    expected = damage(copy_of)
    (view,) = build_views(ReportRequest(results_dir=copy_of))
    skipped = {row["path"].rsplit("/", 1)[1]: row["reason"] for row in view.data["skipped"]}
    assert set(skipped) == set(expected)
    for name, reason in expected.items():
        assert reason in skipped[name], (name, skipped[name])
    assert len(view.data["rows"]) == 6  # every good run and study still listed
    lines = block(render([view], width=200), "skipped 7 files")
    for name in expected:
        assert any(name in line for line in lines)


def test_odd_values_inside_a_readable_record(copy_of, produced):
    """Wrong types in the optional parts of a record: the run still shows."""
    record = produced.run_json("iris")
    record.update(run_id="odd-run", metrics={"val": "high", "test": {"accuracy": "x"}},
                  history={"loss": [1.0, None, "nan"], "accuracy": 3}, duration_s="long",
                  diagnostics={"flags": [7, {"flag": "dead_units"}], "per_epoch": [],
                               "confusion_matrix": "no"}, created=12)
    (copy_of / "runs" / "odd-run.json").write_text(json.dumps(record))
    text = render(ReportRequest(["odd-run"], results_dir=copy_of))
    assert "run odd-run" in text and "dead_units" in text
    overview = render(ReportRequest(results_dir=copy_of))
    assert "odd-run" in overview


def test_cli_exit_code_is_zero_with_skipped_files(copy_of):
    damage(copy_of)
    result = nnx("report", "--results-dir", copy_of)
    assert result.exit_code == 0, result.output
    assert "skipped 7 files" in result.output


def test_naming_a_damaged_file_is_an_error(copy_of):
    damage(copy_of)
    result = nnx("report", "--results-dir", copy_of, str(copy_of / "runs" / "truncated.json"))
    assert result.exit_code == 2
    assert "damaged JSON" in result.output


def test_odd_trials_inside_a_readable_study(copy_of, produced):
    study = produced.study_json("iris-tiny")
    study["trials"] += [{"number": "a", "state": 5, "params": [1], "value": "x",
                         "intermediate": [1], "started": "yesterday"},
                        {"number": 99, "state": "complete", "value": float("1e400"),
                         "params": {"train.optimizer.lr": "fast"}}]
    study["counts"] = "lots"
    study["best"] = {"trial": 0}
    (copy_of / "studies" / "iris-tiny.json").write_text(json.dumps(study))
    text = render(ReportRequest(["iris-tiny"], results_dir=copy_of))
    assert "study iris-tiny" in text and "top 6 of 6 complete trials" in text
    assert "iris-tiny" in render(ReportRequest(results_dir=copy_of))


def test_a_study_without_a_complete_trial_and_a_run_without_an_epoch(copy_of, produced):
    study = produced.study_json("moons-tiny")
    for trial in study["trials"]:
        trial.update(state="failed", value=None, intermediate={}, error="boom")
    study.update(study="all-failed", best=None,
                 counts={"complete": 0, "pruned": 0, "diverged": 0, "failed": 4,
                         "running": 0, "waiting": 0})
    (copy_of / "studies" / "all-failed.json").write_text(json.dumps(study))
    text = render(ReportRequest(["all-failed"], results_dir=copy_of))
    assert "best trial: none yet" in text and "no complete trial yet" in text
    assert "parameter importance: needs at least 4 complete trials (0 so far)" in text
    record = produced.run_json("iris")
    record.update(run_id="failed-early", status="failed", history={}, metrics={},
                  diagnostics=None, error="MemoryError: too big", model_path=None)
    (copy_of / "runs" / "failed-early.json").write_text(json.dumps(record))
    text = render(ReportRequest(["failed-early"], results_dir=copy_of))
    assert "MemoryError: too big" in text and "no metrics" in text
    assert "fewer than two finite epochs" in text
    overview = render(ReportRequest(results_dir=copy_of, statuses=["failed"]), width=200)
    assert "failed-early" in overview and "all-failed" in overview  # a study with failures


TWO = objectives_of(("val_accuracy", "maximize"), ("params", "minimize"))
# Trials 0-2 on the front, 3 dominated by 1.
FRONT_TRIALS = [("complete", [0.99, 10000]), ("complete", [0.98, 2000]),
                ("complete", [0.95, 500]), ("complete", [0.9, 3000])]
DAMAGED_OBJECTIVES = {
    "not mappings": [1, 2],
    "keys missing": [{"metric": "val_accuracy"}, {}],
    "wrong types": [{"metric": ["val_accuracy"], "direction": "maximize"},
                    {"metric": "params", "direction": 3}],
}
# Entries naming no trial number are left out; values that are no numbers do not matter:
# the front shows the values of its trials.
DAMAGED_FRONT = [1, "x", None, {}, {"trial": [0]}, {"trial": {"n": 1}}, {"trial": "2"},
                 {"trial": True}, {"trial": 2, "values": "x"},
                 {"trial": 0, "values": {"val_accuracy": "high", "params": [1]}}]


def write_study(root, name, **damaged):
    document = build_document(nnx_study(TWO, FRONT_TRIALS), "memory")
    assert [e["trial"] for e in document["pareto"]] == [0, 1, 2]
    document.update(study=name, **damaged)
    (root / "studies" / f"{name}.json").write_text(json.dumps(document))
    return document


def every_page_written(root, site):
    """`nnx report --html` exits 0 and writes a page for every run and study."""
    result = nnx("report", "--html", site, "--results-dir", root)
    assert result.exit_code == 0, result.output
    for kind in ("runs", "studies"):
        assert sorted(p.stem for p in (site / kind).glob("*.html")) == sorted(
            p.stem for p in (root / kind).glob("*.json"))


@pytest.mark.parametrize("case", list(DAMAGED_OBJECTIVES))
def test_damaged_objectives_are_shown_as_missing(copy_of, tmp_path, case):
    """The study reads as one of its first objective, its objectives as `?`."""
    write_study(copy_of, "odd-objectives", objectives=DAMAGED_OBJECTIVES[case])
    result = nnx("report", "odd-objectives", "--results-dir", copy_of)
    assert result.exit_code == 0, result.output
    assert "objectives  ?" in result.output
    assert "top 4 of 4 complete trials" in result.output
    assert "Pareto front:" not in result.output
    assert "knee of the Pareto front" in result.output  # the best trial the search picked
    overview = nnx("report", "--results-dir", copy_of)
    assert overview.exit_code == 0 and "odd-objectives" in overview.output
    assert "skipped" not in overview.output
    every_page_written(copy_of, tmp_path / "site")
    page = (tmp_path / "site" / "studies" / "odd-objectives.html").read_text()
    assert "<dt>objectives</dt><dd>?</dd>" in page


def test_damaged_pareto_entries_are_left_out_of_the_front(copy_of, tmp_path):
    """So are trials without a trial number or an objective value that is a number."""
    document = write_study(copy_of, "odd-front", pareto=DAMAGED_FRONT)
    document["trials"] += [
        {"number": [5], "state": "complete", "values": {"val_accuracy": 1.0, "params": 1}},
        {"number": 6, "state": "complete", "values": {"val_accuracy": 1.0, "params": 10**400}}]
    (copy_of / "studies" / "odd-front.json").write_text(json.dumps(document))
    result = nnx("report", "odd-front", "--results-dir", copy_of)
    assert result.exit_code == 0, result.output
    lines = block(result.output, "Pareto front: 2 of 4 complete trials")
    assert [line.split()[0] for line in lines[2:]] == ["#2", "#0"]
    exported = nnx("report", "odd-front", "--results-dir", copy_of, "--format", "json")
    assert exported.exit_code == 0 and json.loads(exported.output)["pareto"]["front"] == [2, 0]
    exported = nnx("report", "odd-front", "--results-dir", copy_of, "--format", "csv")
    assert exported.exit_code == 0
    pareto = {line.split(",")[0]: line.split(",")[4] for line in exported.output.splitlines()}
    assert pareto["[5]"] == "False" and [n for n, on in pareto.items() if on == "True"] == [
        "0", "2"]
    every_page_written(copy_of, tmp_path / "site")
    page = (tmp_path / "site" / "studies" / "odd-front.html").read_text()
    assert "<h2>Pareto front: 2 of 4 complete trials" in page

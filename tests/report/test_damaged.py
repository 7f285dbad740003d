"""Damaged or foreign JSON files are listed as skipped, with the reason; the report goes on."""

import json

from report_helpers import block, damage, nnx, render

from nnx.report import ReportRequest, build_views


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

"""What `nnx search` prints: `--json` gives the summary document alone on stdout (trial
lines on stderr), `--quiet` leaves out the line per trial."""

import json


def test_json_is_the_summary_alone_on_stdout(ws):
    result = ws.nnx("search", ws.experiment(), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # nothing else on stdout
    study = ws.study()
    assert summary["study"] == "tiny" and summary["metric"] == "val_accuracy"
    assert summary["best"] == study["best"] and summary["counts"] == study["counts"]
    assert [t["number"] for t in summary["this_run"]] == [0, 1, 2]
    assert summary["this_run_counts"] == {"complete": 3}
    for trial in summary["this_run"]:
        record = ws.run_record(trial["run_id"])
        assert trial["value"] == record["metrics"]["val"]["accuracy"]
    assert "trial   0" in result.stderr  # the trial lines go to stderr

    again = ws.nnx("search", ws.experiment(), "--json", "-n", "1")
    resumed = json.loads(again.stdout)
    assert [t["number"] for t in resumed["this_run"]] == [3]
    assert resumed["counts"]["complete"] == 4


def test_quiet_shows_no_trial_lines_but_the_summary(ws):
    result = ws.nnx("search", ws.experiment(), "-q")
    assert result.exit_code == 0, result.output
    assert "trial   0" not in result.output and "new study" not in result.output
    best = ws.study()["best"]
    assert f"best: trial {best['trial']}" in result.stdout
    quiet_json = ws.nnx("search", ws.experiment(), "-q", "--json", "-n", "1")
    assert quiet_json.stderr == ""
    assert json.loads(quiet_json.stdout)["this_run"][0]["number"] == 3

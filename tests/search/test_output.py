"""What `nnx search` prints: `--json` gives the summary document alone on stdout (trial
lines on stderr), `--quiet` leaves out the line per trial; on a terminal the summary ends
with the report's table of the study."""

import io
import json
from types import SimpleNamespace

from rich.console import Console

from nnx.cli.search_display import TOP_ROWS, SearchDisplay
from nnx.report.formats import renderable
from nnx.report.study import param_names, top_table


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


def test_a_search_on_a_terminal_ends_with_the_table_nnx_report_shows(ws):
    assert ws.nnx("search", ws.experiment()).exit_code == 0
    document = ws.study()
    shown = io.StringIO()
    display = SearchDisplay(Console(file=shown, force_terminal=True, width=160,
                                    color_system=None))
    display.summary(SimpleNamespace(
        held_by=None, document=document, nothing_to_do=False, interrupted=False,
        stop_reason="3 trials run", outcomes=document["trials"], document_path="tiny.json",
        picked=None, exported=None))

    report = Console(file=io.StringIO(), width=160, color_system=None)
    report.print(renderable(top_table(document, param_names(document), TOP_ROWS), 160))
    assert "top 3 of 3 complete trials" in shown.getvalue()
    assert report.file.getvalue() in shown.getvalue()

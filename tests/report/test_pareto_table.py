"""The Pareto front of a study report: counts written with thousands separators, as
everywhere else, in the terminal's front table and the web figure's hover texts."""

import json

from report_helpers import block, nnx
from test_pareto import KNOWN_FRONT, nnx_study, objectives_of

from nnx.report.web.study_page import study_figures
from nnx.search.study_json import build_document

TWO = objectives_of(("val_accuracy", "maximize"), ("params", "minimize"))
TRIALS = [*[("complete", [accuracy, params]) for _, accuracy, params in KNOWN_FRONT],
          ("complete", [0.9, 3000]), ("failed", [1.0, 5])]
TITLE = "Pareto front: 4 of 5 complete trials (maximize val_accuracy, minimize params)"
# trial, val_accuracy, params, x, run: the front best first on val_accuracy
ROWS = [["#0", "0.9900", "10,000", "0", "run-0"], ["#1", "0.9800", "2,000", "1", "run-1"],
        ["#2", "0.9500", "500", "2", "run-2"], ["#3", "0.7000", "100", "3", "run-3"]]


def study(tmp_path):
    document = build_document(nnx_study(TWO, TRIALS), "memory")
    document["study"] = "front"
    assert all(isinstance(t["values"]["params"], int) for t in document["trials"])
    (tmp_path / "studies").mkdir()
    (tmp_path / "studies" / "front.json").write_text(json.dumps(document))
    return document


def test_the_terminal_front_table_writes_counts_with_thousands_separators(tmp_path):
    study(tmp_path)
    result = nnx("report", "front", "--results-dir", tmp_path)
    assert result.exit_code == 0, result.output
    lines = block(result.output, TITLE)
    assert lines[0].split() == ["trial", "val_accuracy", "params", "x", "run"]
    assert [line.split() for line in lines[2:]] == ROWS


def test_the_web_hover_writes_counts_with_thousands_separators(tmp_path):
    document = study(tmp_path)
    hover = {trial: text for trace in study_figures(document)[0].figure.data
             for trial, text in zip(trace.customdata, trace.text)}
    assert hover[0].split("<br>")[:3] == ["trial #0", "val_accuracy 0.9900", "params 10,000"]
    assert hover[4].split("<br>")[:3] == ["trial #4", "val_accuracy 0.9000", "params 3,000"]

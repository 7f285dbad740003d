"""The Pareto front's table, in the terminal study report and on the web study page: one
table, its counts written with thousands separators as everywhere else (and so in the web
figure's hover texts); the web page names every objective under its title."""

import html
import json
import re

from report_helpers import block, nnx
from test_pareto import KNOWN_FRONT, nnx_study, objectives_of

from nnx.report.web.html import Links
from nnx.report.web.study_page import study_figures, study_page
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


def html_rows(page, title):
    """The cells' texts of the table headed `title` on a page."""
    table = page.split(f"<h2>{html.escape(title)}</h2>", 1)[1].split("</table>", 1)[0]
    return [[re.sub(r"<[^>]+>", "", td) for td in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table)[1:]]


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


def test_the_web_page_shows_the_front_table_and_names_every_objective(tmp_path):
    document = study(tmp_path)
    page = study_page(document, tmp_path / "studies" / "front.json", Links(depth=1))
    assert '<p class="subtitle">maximize val_accuracy, minimize params</p>' in page
    assert html_rows(page, TITLE) == ROWS
    assert re.search(r'<tr class="s-bold"><td class="num"[^>]*>#2</td>', page)  # the knee
    assert "complete trials</h2>" not in page  # no table ranked by the first objective

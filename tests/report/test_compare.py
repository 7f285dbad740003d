"""`nnx report --compare`: runs or studies side by side, differences highlighted."""

import csv
import io

import pytest
from report_helpers import render

from nnx.errors import NnxError
from nnx.format import fmt_metric
from nnx.report import ReportRequest, build_views
from nnx.report.formats import csv_text


def compare(produced, *names):
    return build_views(ReportRequest(list(names), results_dir=produced.root, compare=True))


def test_runs_side_by_side(produced):
    a, b = produced.run_json("iris"), produced.run_json("diverged")
    views = compare(produced, a["run_id"], b["run_id"])
    rows = {row["field"]: row for row in views[0].data["rows"]}
    assert rows["status"]["values"] == ["completed", "diverged"]
    assert rows["val_accuracy"]["values"] == [a["metrics"]["val"]["accuracy"],
                                              b["metrics"]["val"]["accuracy"]]
    differing = {f for f, row in rows.items() if row["differs"]}
    assert differing == {"train.optimizer.type", "train.optimizer.lr"} | (
        {"train.optimizer.beta1", "train.optimizer.beta2", "train.optimizer.eps",
         "train.optimizer.momentum", "train.optimizer.nesterov"} & set(rows))
    text = render(views)
    (line,) = [r for r in text.splitlines() if r.startswith("val_accuracy ")]
    assert line.split()[1:] == [fmt_metric(a["metrics"]["val"]["accuracy"]),
                                fmt_metric(b["metrics"]["val"]["accuracy"])]
    assert "settings differ (highlighted)" in text and "learning curves" in text


def test_differences_are_highlighted_in_colour(produced):
    from rich.console import Console

    from nnx.report.formats import print_views

    views = compare(produced, produced.runs["iris"], produced.runs["diverged"])
    console = Console(record=True, width=160, file=io.StringIO(), force_terminal=True)
    print_views(views, console)
    styled = console.export_text(styles=True)
    assert "\x1b[1;33mtrain.optimizer.lr" in styled  # bold yellow


def test_studies_side_by_side(produced):
    iris, moons = produced.study_json("iris-tiny"), produced.study_json("moons-tiny")
    views = compare(produced, "iris-tiny", "moons-tiny")
    rows = {row["field"]: row for row in views[0].data["rows"]}
    assert rows["method"]["values"] == ["random", "grid"] and rows["method"]["differs"]
    assert rows["best value"]["values"] == [iris["best"]["value"], moons["best"]["value"]]
    assert rows["metric"]["values"] == ["val_accuracy", "val_loss"]
    assert rows["space train.optimizer.lr"]["differs"]
    assert "best value so far" in render(views)
    table = list(csv.reader(io.StringIO(csv_text(views))))
    assert table[0] == ["field", "iris-tiny", "moons-tiny"]


def test_a_study_among_runs_stands_for_its_best_run(produced):
    study = produced.study_json("iris-tiny")
    views = compare(produced, "iris-tiny", produced.runs["iris"])
    assert views[0].data["kind"] == "runs"
    assert views[0].data["items"] == [study["best"]["run_id"], produced.runs["iris"]]


def test_needs_two(produced):
    with pytest.raises(NnxError, match="at least two"):
        compare(produced, produced.runs["iris"])
    with pytest.raises(NnxError, match="needs the runs or studies"):
        build_views(ReportRequest(results_dir=produced.root, compare=True))


def test_a_setting_given_as_a_name_in_one_and_a_mapping_in_the_other(produced):
    views = compare(produced, produced.runs["iris"], produced.runs["dead"])
    rows = {row["field"]: row for row in views[0].data["rows"]}
    assert rows["model.layers.0.bias_init"]["values"] == [
        "zeros", {"type": "constant", "value": -20}]
    assert rows["model.layers.0.bias_init"]["differs"]
    assert not any(f.startswith("model.layers.0.bias_init.") for f in rows)
    assert "{type: constant, value: -20}" in render(views)


def test_a_narrow_screen_never_cuts_the_field_names(produced):
    from rich.console import Console

    from nnx.report.formats import print_views

    roles = ("iris", "dead", "diverged", "moons")
    views = compare(produced, *[produced.runs[r] for r in roles])
    console = Console(record=True, width=80, file=io.StringIO(), color_system=None)
    print_views(views, console)
    text = console.export_text()
    fields = [row["field"] for row in views[0].data["rows"]]
    lines = text.splitlines()
    for field in fields:
        assert any(line.startswith(field + " ") for line in lines), field
    for role in roles:  # every run's column is there, whole, in some block
        assert produced.runs[role] in text, role
    assert max(len(line) for line in lines) <= 80


def test_csv_has_no_mapping_in_a_cell(produced):
    views = compare(produced, "iris-tiny", "moons-tiny")
    table = list(csv.reader(io.StringIO(csv_text(views))))
    assert all(not cell.startswith("{") for row in table for cell in row), table
    rows = {row[0]: row[1:] for row in table}
    iris, moons = produced.study_json("iris-tiny"), produced.study_json("moons-tiny")
    assert rows["trials.complete"] == [str(iris["counts"]["complete"]),
                                       str(moons["counts"]["complete"])]
    assert rows["space.train.optimizer.lr.type"] == ["float", "categorical"]
    assert rows["space.train.optimizer.lr.choices"] == ["", "[0.01, 0.1]"]
    runs = compare(produced, produced.runs["iris"], produced.runs["dead"])
    table = list(csv.reader(io.StringIO(csv_text(runs))))
    assert all(not cell.startswith("{") for row in table for cell in row), table

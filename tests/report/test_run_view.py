"""`nnx report RUN` on runs made by the real `nnx train`: config, final metrics, learning
curves, confusion matrix, diagnostics flags and per-layer figures, as in the JSON."""

import csv
import io
import json

from report_helpers import block, render

from nnx.format import fmt_metric, fmt_number
from nnx.report import ReportRequest, build_views
from nnx.report.formats import csv_text, to_json_text


def run_text(produced, role, width=160):
    return render(ReportRequest([produced.runs[role]], results_dir=produced.root), width)


def test_final_metrics_equal_the_record(produced):
    record = produced.run_json("iris")
    lines = block(run_text(produced, "iris"), "final metrics")
    assert lines[0].split() == ["metric", "train", "val", "test"]
    for name in record["metrics"]["train"]:
        (line,) = [row for row in lines if row.split()[:1] == [name]]
        assert line.split()[1:] == [fmt_metric(record["metrics"][s][name])
                                    for s in ("train", "val", "test")]


def test_config_summary_and_facts(produced):
    record = produced.run_json("iris")
    text = run_text(produced, "iris")
    assert f"run {record['run_id']}" in text
    assert "iris (validation 0.2, test 0.2)" in text
    assert "dense(8, relu) → dense(3, softmax)" in text
    assert "adam(lr=0.05" in text
    assert f"epochs       {len(record['history']['loss'])}" in text
    assert record["model_path"] in text


def test_learning_curves_drawn_for_loss_and_the_main_metric(produced):
    text = run_text(produced, "iris")
    assert "learning curves" in text
    assert "o train   x validation" in text
    for name in ("loss", "accuracy"):
        assert any(line.startswith(name) for line in text.splitlines())
    history = produced.run_json("iris")["history"]
    top = max(history["loss"] + history["val_loss"])
    assert f"{top:.4g} ┤" in text  # the loss chart's axis starts at the largest value


def test_confusion_matrix_equals_the_record(produced):
    for role, classes in (("iris", 3), ("moons", 2)):
        matrix = produced.run_json(role)["diagnostics"]["confusion_matrix"]
        assert len(matrix) == classes
        lines = block(run_text(produced, role), "confusion matrix")
        assert lines[0].split()[3:] == [*map(str, range(classes)), "total", "recall"]
        for i, row in enumerate(matrix):
            numbers = lines[2 + i].split()
            assert numbers[0] == str(i)
            assert [int(v) for v in numbers[1:classes + 1]] == row
            assert int(numbers[classes + 1]) == sum(row)
            assert numbers[-1] == fmt_metric(row[i] / sum(row))


def test_per_layer_diagnostics_equal_the_record(produced):
    per_epoch = produced.run_json("iris")["diagnostics"]["per_epoch"]
    text = run_text(produced, "iris")
    lines = block(text, "per-layer diagnostics")
    for layer, figures in per_epoch.items():
        for figure, values in figures.items():
            (line,) = [r for r in lines if r.split()[:2] == [layer, figure]]
            numbers = line.split()[-4:]
            assert numbers == [fmt_number(v) for v in (values[0], values[-1], min(values),
                                                       max(values))]
    assert "gradient norm by layer" in text


def test_flags_of_dead_units_and_divergence(produced):
    dead = produced.run_json("dead")["diagnostics"]["flags"]
    assert any(f["flag"] == "dead_units" for f in dead)
    text = run_text(produced, "dead")
    for flag in dead:
        assert any(flag["flag"] in line and str(flag["epoch"]) in line
                   and flag["detail"][:30] in line for line in text.splitlines())
    record = produced.run_json("diverged")
    text = run_text(produced, "diverged")
    assert "diverged" in text and record["error"] in text
    assert {f["flag"] for f in record["diagnostics"]["flags"]} >= {"diverged"}
    for flag in record["diagnostics"]["flags"]:
        assert flag["flag"] in text
    assert "no flags" in run_text(produced, "moons")


def test_the_overview_names_the_flags(produced):
    text = render(ReportRequest(results_dir=produced.root))
    (line,) = [r for r in text.splitlines() if r.startswith(produced.runs["dead"])]
    assert "dead_units" in line


def test_a_file_path_and_a_prefix_name_the_run(produced):
    record = produced.run_json("moons")
    by_path = build_views(ReportRequest([str(produced.run_path("moons"))],
                                        results_dir=produced.root / "elsewhere"))
    by_prefix = build_views(ReportRequest([record["run_id"][:-2]], results_dir=produced.root))
    assert by_path[0].data["run_id"] == by_prefix[0].data["run_id"] == record["run_id"]


def test_json_and_csv_hold_the_raw_values(produced):
    record = produced.run_json("iris")
    views = build_views(ReportRequest([record["run_id"]], results_dir=produced.root))
    document = json.loads(to_json_text(views))
    assert document["metrics"] == record["metrics"]
    assert document["history"] == record["history"]
    assert document["flags"] == record["diagnostics"]["flags"]
    assert document["confusion_matrix"] == record["diagnostics"]["confusion_matrix"]
    rows = list(csv.DictReader(io.StringIO(csv_text(views))))
    assert len(rows) == len(record["history"]["loss"])
    for epoch, row in enumerate(rows):
        assert int(row["epoch"]) == epoch + 1
        for name, values in record["history"].items():
            assert float(row[name]) == values[epoch]  # exact: written with repr


def test_narrow_screen(produced):
    text = run_text(produced, "iris", width=60)
    assert max(len(line) for line in text.splitlines()) <= 60

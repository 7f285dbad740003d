"""`nnx report STUDY` on studies made by the real `nnx search`: best trial and reproduce
command, top trials, counts, convergence, learning curves, importance and slices."""

import csv
import io
import json

import pytest
from report_helpers import block, render

from nnx.format import fmt_metric, fmt_param
from nnx.report import ReportRequest, build_views
from nnx.report.formats import csv_text, to_json_text
from nnx.report.importance import param_importances


def study_text(produced, name, width=160, **options):
    return render(ReportRequest([name], results_dir=produced.root, **options), width)


@pytest.mark.parametrize("name", ["iris-tiny", "moons-tiny"])
def test_best_trial_with_params_and_reproduce_command(produced, name):
    study = produced.study_json(name)
    best = study["best"]
    lines = block(study_text(produced, name), "best trial")
    fields = {line.split()[0]: " ".join(line.split()[1:]) for line in lines
              if line.strip() and not line.startswith(" ")}
    assert fields["trial"] == f"#{best['trial']}"
    assert fields[study["metric"]] == fmt_metric(best["value"])
    for param, value in best["params"].items():
        assert fields[param] == fmt_param(value)
    assert fields["run"] == best["run_id"]
    command = " ".join(" ".join(line.split()[1:]) if line.startswith("reproduce") else
                       line.strip() for line in lines[lines.index(next(
                           x for x in lines if x.startswith("reproduce"))):])
    assert command == best["command"]


@pytest.mark.parametrize("name", ["iris-tiny", "moons-tiny"])
def test_top_trials_in_order_with_their_values(produced, name):
    study = produced.study_json(name)
    maximize = study["direction"] == "maximize"
    complete = [t for t in study["trials"] if t["state"] == "complete"]
    ranked = sorted(sorted(complete, key=lambda t: t["number"]),
                    key=lambda t: t["value"], reverse=maximize)
    lines = block(study_text(produced, name), "top ")
    assert lines[0].split()[:3] == ["rank", "trial", "value"]
    rows = lines[2:]
    assert len(rows) == len(ranked)
    for rank, (line, trial) in enumerate(zip(rows, ranked), 1):
        words = line.split()
        assert words[:3] == [str(rank), f"#{trial['number']}", fmt_metric(trial["value"])]
        assert [fmt_param(v) for v in trial["params"].values()] == words[3:3 + len(
            trial["params"])]
    short = block(study_text(produced, name, top=2), "top ")
    assert len(short) == 4 and short[2].split()[1] == f"#{ranked[0]['number']}"


def test_counts_by_state(produced):
    study = produced.study_json("moons-tiny")
    text = study_text(produced, "moons-tiny")
    counts = study["counts"]
    assert counts["complete"] == 4  # the whole 2 x 2 grid
    assert (f"{counts['complete']} complete, {counts['pruned']} pruned, "
            f"{counts['diverged']} diverged, {counts['failed']} failed") in text
    (line,) = block(text, "trials by state")
    assert line.split()[0] == "complete" and line.split()[-1] == str(counts["complete"])


def test_convergence_and_learning_curves(produced):
    study = produced.study_json("iris-tiny")
    (view,) = build_views(ReportRequest(["iris-tiny"], results_dir=produced.root))
    best = None
    for point, trial in zip(view.data["convergence"],
                            sorted((t for t in study["trials"] if t["state"] == "complete"),
                                   key=lambda t: t["number"])):
        best = trial["value"] if best is None else max(best, trial["value"])
        assert point == {"trial": trial["number"], "value": trial["value"],
                         "best_so_far": best}
    assert view.data["convergence"][-1]["best_so_far"] == study["best"]["value"]
    text = render([view])
    assert "convergence (val_accuracy)" in text
    assert ". trial value   * best so far" in text
    assert "learning curves of the best 3 (val_accuracy)" in text
    top3 = sorted(study["trials"], key=lambda t: -t["value"])[:3]
    assert all(f"#{t['number']}" in text for t in top3)


def test_importance_from_the_trials(produced):
    study = produced.study_json("iris-tiny")
    importances, reason = param_importances(study)
    assert reason is None
    assert set(importances) <= set(study["space"]) and abs(sum(importances.values()) - 1) < 1e-9
    lines = block(study_text(produced, "iris-tiny"), "parameter importance (PED-ANOVA)")
    assert [line.split()[0] for line in lines] == list(importances)
    assert [line.split()[-1] for line in lines] == [f"{v:.3f}" for v in importances.values()]


def test_importance_needs_enough_trials(produced):
    study = produced.study_json("iris-tiny")
    study["trials"] = study["trials"][:2]
    importances, reason = param_importances(study)
    assert importances is None and "at least 4 complete trials" in reason


def test_slice_view_has_a_chart_per_parameter(produced):
    study = produced.study_json("iris-tiny")
    text = study_text(produced, "iris-tiny")
    assert "slices: val_accuracy against each parameter" in text
    for name in ("optimizer.lr", "layers.0.units", "layers.0.activation"):
        assert name in text.split("slices:", 1)[1]
    assert "relu" in text.split("slices:", 1)[1] and "tanh" in text.split("slices:", 1)[1]
    assert len(study["space"]) == 3


def test_json_and_csv(produced):
    study = produced.study_json("iris-tiny")
    views = build_views(ReportRequest(["iris-tiny"], results_dir=produced.root))
    document = json.loads(to_json_text(views))
    assert document["best"] == study["best"] and document["counts"] == study["counts"]
    assert [t["value"] for t in document["top"]] == sorted(
        (t["value"] for t in study["trials"] if t["state"] == "complete"), reverse=True)[:10]
    rows = list(csv.DictReader(io.StringIO(csv_text(views))))
    assert [int(r["number"]) for r in rows] == [t["number"] for t in study["trials"]]
    for row, trial in zip(rows, study["trials"]):
        assert float(row["value"]) == trial["value"]
        assert float(row["train.optimizer.lr"]) == trial["params"]["train.optimizer.lr"]
        assert row["run_id"] == trial["run_id"]


def test_study_json_file_path(produced):
    (view,) = build_views(ReportRequest([str(produced.study_path("moons-tiny"))],
                                        results_dir=produced.root / "elsewhere"))
    assert view.kind == "study" and view.data["study"] == "moons-tiny"

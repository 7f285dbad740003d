"""The Pareto front on a web study page: its figure holds the study JSON's front (trial
numbers and values), the other complete trials and the knee; three objectives show the
first two and say so; a study of one objective has no such figure. The figure in a
browser: test_web_browser.py."""

import html

from report_helpers import nnx
from test_pareto import KNOWN_FRONT, nnx_study, objectives_of

from nnx.report.web.html import Links
from nnx.report.web.study_page import study_figures, study_page
from nnx.search.study_json import build_document

TWO = objectives_of(("val_accuracy", "maximize"), ("params", "minimize"))
THREE = objectives_of(("val_accuracy", "maximize"), ("params", "minimize"),
                      ("predict_ms", "minimize"))
# KNOWN_FRONT (its knee: trial 2), then two dominated trials, then a pruned and a failed
# trial that would dominate every other and are left out.
TRIALS = [*[("complete", [accuracy, params]) for _, accuracy, params in KNOWN_FRONT],
          ("complete", [0.9, 3000]), ("complete", [0.69, 100]),
          ("pruned", [1.0, 5]), ("failed", [1.0, 5])]
KNEE = 2


def pareto_figure(document):
    """The page's Pareto figure, which comes first."""
    first = study_figures(document)[0]
    assert first.title == "Pareto front", first
    return first


def traces(figure):
    """{trace name: [(trial, x, y)]} of a drawn figure."""
    return {trace.name: list(zip(trace.customdata, trace.x, trace.y))
            for trace in figure.figure.data}


def test_the_figure_holds_the_study_jsons_front_its_other_trials_and_the_knee():
    document = build_document(nnx_study(TWO, TRIALS), "memory")
    figure = pareto_figure(document)
    drawn = traces(figure)
    front = sorted(document["pareto"], key=lambda entry: entry["values"]["params"])
    assert [t for t, _, _ in drawn["Pareto front"]] == [3, 2, 1, 0]
    assert drawn["Pareto front"] == [
        (e["trial"], e["values"]["params"], e["values"]["val_accuracy"]) for e in front]
    others = [t for t in document["trials"] if t["state"] == "complete" and t["number"] > 3]
    assert drawn["trial"] == [(t["number"], t["values"]["params"], t["values"]["val_accuracy"])
                              for t in others] and len(others) == 2
    assert drawn["knee"] == [(KNEE, 500, 0.95)] and document["best"]["trial"] == KNEE
    data = {trace.name: trace for trace in figure.figure.data}
    assert data["Pareto front"].mode == "lines+markers" and data["trial"].mode == "markers"
    assert data["knee"].text[0].split("<br>") == [
        "trial #2", "val_accuracy 0.9500", "params 500", "x 2"]
    layout = figure.figure.layout
    assert (layout.xaxis.title.text, layout.yaxis.title.text) == (
        "params (minimize)", "val_accuracy (maximize)")
    assert (layout.xaxis.type, layout.yaxis.type) == ("log", None)  # 100 to 10,000; < 2x
    assert figure.note == ""


def test_three_objectives_show_the_first_two_and_say_so():
    trials = [(state, [*values, 0.5 + i]) for i, (state, values) in enumerate(TRIALS)]
    trials.append(("complete", [0.9, 3000, 0.1]))  # dominated on the first two only
    document = build_document(nnx_study(THREE, trials), "memory")
    figure = pareto_figure(document)
    drawn = traces(figure)
    assert sorted(t for t, _, _ in drawn["Pareto front"]) == sorted(
        e["trial"] for e in document["pareto"]) == [0, 1, 2, 3, 8]
    assert all((x, y) == (document["trials"][t]["values"]["params"],
                          document["trials"][t]["values"]["val_accuracy"])
               for t, x, y in drawn["Pareto front"] + drawn["trial"])
    assert drawn["knee"][0][0] == document["best"]["trial"]
    assert {trace.name: trace.mode for trace in figure.figure.data}["Pareto front"] == "markers"
    hover = {t: text for trace in figure.figure.data
             for t, text in zip(trace.customdata, trace.text)}
    assert hover[8].split("<br>")[:4] == ["trial #8", "val_accuracy 0.9000", "params 3,000",
                                          "predict_ms 0.1"]
    assert figure.note.startswith("val_accuracy against params, the first two of 3 "
                                  "objectives. No trial is as good as a front member on all 3")
    page = study_page(document, "memory.json", Links(depth=1))
    assert f'</script><p class="note">{html.escape(figure.note)}</p></figure>' in page


def test_a_study_without_a_complete_trial_says_why_its_front_is_not_drawn():
    document = build_document(nnx_study(TWO, [("failed", [0.9, 10])]), "memory")
    figure = pareto_figure(document)
    assert figure.figure is None and figure.note == "no complete trial on the Pareto front yet"


def test_a_study_of_one_objective_has_no_pareto_figure(produced, tmp_path):
    result = nnx("report", "--html", tmp_path / "site", "--results-dir", produced.root)
    assert result.exit_code == 0, result.output
    for name in produced.studies:
        document = produced.study_json(name)
        assert "objectives" not in document and "pareto" not in document
        assert "Pareto front" not in [f.title for f in study_figures(document)]
        page = (tmp_path / "site" / "studies" / f"{name}.html").read_text(encoding="utf-8")
        assert "Pareto" not in page and "<figcaption>optimization history" in page

"""The web report in a real browser: headless Chromium (Debian's chromium and
chromium-driver, which .ci/chromium.sh installs) driven by Selenium opens the site built
from a real train + search, from file:// as a user would. On every page: no JavaScript
error, every chart drawn, the values equal to the JSON records, links that lead where
they say. A screenshot of each page goes to test-artifacts/web-report/.

Without Chromium these tests are skipped, saying how to install it; under CI (CI set) they
fail instead.
"""

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml
from report_helpers import IRIS, nnx

from nnx.format import fmt_metric

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web-report"
DRAW_TIMEOUT_S = 30

# Per figure of the page: its caption, whether Plotly drew its SVG, and how many marks it
# drew (points, line and bar paths with a shape, contour paths, heat-map images): a chart
# whose data drew nothing has none.
FIGURES_JS = """
return Array.from(document.querySelectorAll("figure.chart")).map(function (figure) {
  var plot = figure.querySelector("div.plot");
  var marks = plot ? Array.from(plot.querySelectorAll(
      ".main-svg g.trace path, .main-svg g.contour path, .main-svg g.hm image")).filter(
    function (mark) {
      if (mark.tagName === "image") { return !!mark.getAttribute("href"); }
      var box = mark.getBBox();
      return (mark.getAttribute("d") || "").length > 8 && box.width + box.height > 0;
    }) : [];
  return {title: figure.querySelector("figcaption").textContent, plot: !!plot,
          svg: !!(plot && plot.querySelector(".main-svg")), marks: marks.length,
          note: (figure.querySelector("p.note") || {}).textContent || null};
});
"""
# The Pareto figure (the page's first): per trace, the centres of the points Plotly drew
# and the vertices of its line; where the axes put each of `arguments[0]` ([[x, y]] per
# trace); the axis titles and types.
PARETO_JS = """
var plot = document.querySelector("figure.chart div.plot"), layout = plot._fullLayout;
var numbers = function (text) { return (text.match(/-?[0-9.]+/g) || []).map(Number); };
var pairs = function (list) {
  var out = [];
  for (var i = 0; i + 1 < list.length; i += 2) { out.push([list[i], list[i + 1]]); }
  return out;
};
return {
  traces: Array.from(plot.querySelectorAll(".main-svg g.trace.scatter")).map(function (t) {
    var line = t.querySelector("path.js-line");
    return {points: Array.from(t.querySelectorAll("path.point")).map(function (p) {
              return numbers(p.getAttribute("transform")); }),
            line: line ? pairs(numbers(line.getAttribute("d"))) : []};
  }),
  expected: arguments[0].map(function (points) {
    return points.map(function (p) { return [layout.xaxis.c2p(p[0]), layout.yaxis.c2p(p[1])]; });
  }),
  titles: [plot.querySelector(".g-xtitle").textContent,
           plot.querySelector(".g-ytitle").textContent],
  types: [layout.xaxis.type, layout.yaxis.type]
};
"""
PARETO = {**IRIS, "name": "iris-pareto", "search": {
    "objectives": [{"metric": "val_loss", "direction": "minimize"},
                   {"metric": "params", "direction": "minimize"}],
    "method": "random", "n_trials": 6, "space": {
        "train.optimizer.lr": {"type": "float", "low": 1.0e-3, "high": 0.1, "log": True},
        "model.layers.0.units": {"type": "int", "low": 2, "high": 64, "log": True}}}}
DRAWN_JS = """
return Array.from(document.querySelectorAll("div.plot")).every(function (div) {
  return div.querySelector(".main-svg");
});
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        message = (f"{' and '.join(missing)} missing: `bash .ci/chromium.sh` installs "
                   "Debian's chromium and chromium-driver (`make test` runs it)")
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {message}")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", f"--user-data-dir={profile}",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(produced, tmp_path_factory):
    folder = tmp_path_factory.mktemp("web") / "site"
    result = nnx("report", "--html", folder, "--results-dir", produced.root)
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def pareto_site(tmp_path_factory):
    """A site of one real search for two objectives (val_loss, params) and its study JSON."""
    folder = tmp_path_factory.mktemp("pareto")
    (folder / "pareto.yaml").write_text(yaml.safe_dump(PARETO, sort_keys=False))
    result = nnx("search", folder / "pareto.yaml", "--results-dir", folder / "results")
    assert result.exit_code == 0, result.output
    result = nnx("report", "--html", folder / "site", "--results-dir", folder / "results")
    assert result.exit_code == 0, result.output
    return folder / "site", json.loads((folder / "results" / "studies" /
                                        "iris-pareto.json").read_text())


@pytest.fixture(scope="module")
def artifacts(pytestconfig):
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    yield ARTIFACTS
    shots = ", ".join(sorted(p.name for p in ARTIFACTS.glob("*.png")))
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # past pytest's capture, in the output
            reporter.write_line(f"web report screenshots in {ARTIFACTS}: {shots}")


def arrive(browser):
    """Wait until every chart of the page is drawn; returns the console's errors."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, DRAW_TIMEOUT_S).until(lambda d: d.execute_script(DRAWN_JS))
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def open_page(browser, path):
    browser.get(path.as_uri())
    return arrive(browser)


def figures(browser):
    return browser.execute_script(FIGURES_JS)


def blank_charts(browser):
    """The captions of the charts on the page that drew nothing."""
    return [f["title"] for f in figures(browser) if f["plot"] and not (f["svg"] and f["marks"])]


def screenshot(browser, path):
    """The whole page as a PNG (the window stretched to the page's height)."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(height + 140, 12000))
    time.sleep(0.3)  # charts resize with the window
    browser.save_screenshot(str(path))
    browser.set_window_size(1400, 1000)


def table_rows(browser, table_index=0, visible_only=True):
    """The rows of a page's table as {column header: cell text}."""
    header, rows = browser.execute_script("""
        var table = document.querySelectorAll("table")[arguments[0]], visibleOnly = arguments[1];
        var text = function (cell) { return cell.textContent.trim(); };
        return [Array.from(table.tHead.rows[0].cells).map(text),
                Array.from(table.tBodies[0].rows).filter(function (row) {
                  return !visibleOnly || row.offsetParent !== null;
                }).map(function (row) { return Array.from(row.cells).map(text); })];
        """, table_index, visible_only)
    return [dict(zip(header, row)) for row in rows]


def fields(browser):
    """The label: value lines of the page, {label: text} (the first of a repeated label)."""
    pairs = browser.execute_script("""
        return Array.from(document.querySelectorAll("dl.fields dt")).map(function (dt) {
          return [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()];
        });""")
    out = {}
    for label, value in pairs:
        out.setdefault(label, value)
    return out


def flat(pairs):
    return [value for pair in pairs for value in pair]


def click_link(browser, text):
    from selenium.webdriver.common.by import By

    browser.find_element(By.LINK_TEXT, text).click()
    return arrive(browser)


def test_index_lists_every_run_and_study_with_the_values_of_their_records(
        browser, site, produced, artifacts):
    assert open_page(browser, site / "index.html") == []
    everything = {row["name"]: row for row in table_rows(browser, visible_only=False)}
    records = produced.all_runs()
    assert {n for n, row in everything.items() if row["kind"] == "run"} == \
        {r["run_id"] for r in records}
    for record in records:  # each is judged by its search metric, else val_accuracy
        metric = everything[record["run_id"]]["metric"]
        split, name = metric.split("_", 1)
        assert everything[record["run_id"]]["best"] == fmt_metric(
            record["metrics"][split][name])
    for name in produced.studies:
        study = produced.study_json(name)
        assert everything[name]["metric"] == study["metric"]
        assert everything[name]["best"] == fmt_metric(study["best"]["value"])
    trial_runs = {t["run_id"] for name in produced.studies
                  for t in produced.study_json(name)["trials"]}
    shown = {row["name"] for row in table_rows(browser)}  # the runs of trials wait for the box
    assert shown == set(everything) - trial_runs
    browser.find_element("css selector", ".table-tools input[type=checkbox]").click()
    assert {row["name"] for row in table_rows(browser)} == set(everything)
    screenshot(browser, artifacts / "index.png")


def test_index_sorts_and_filters(browser, site, produced):
    from selenium.webdriver.common.by import By

    open_page(browser, site / "index.html")
    browser.find_element(By.XPATH, "//th[normalize-space()='best']").click()
    values = [float(row["best"]) for row in table_rows(browser)]
    assert values == sorted(values)
    browser.find_element(By.XPATH, "//th[normalize-space()='best']").click()
    assert [float(row["best"]) for row in table_rows(browser)] == sorted(values, reverse=True)
    search = browser.find_element(By.CSS_SELECTOR, ".table-tools input[type=search]")
    search.send_keys("moons-tiny")
    names = [row["name"] for row in table_rows(browser)]  # the study and its experiment's run
    assert sorted(names) == ["moons-tiny", produced.runs["moons"]]
    assert browser.find_element(By.CSS_SELECTOR, ".table-tools .count").text == \
        f"2 of {len(table_rows(browser, visible_only=False))} shown"


def test_study_page_draws_every_figure_and_leads_to_the_best_run(
        browser, site, produced, artifacts):
    study = produced.study_json("iris-tiny")
    best = study["best"]
    open_page(browser, site / "index.html")
    assert click_link(browser, "iris-tiny") == []
    assert browser.title == "study iris-tiny"
    drawn = {f["title"] for f in figures(browser) if f["plot"]}
    assert drawn == {"optimization history", "parameter importance (PED-ANOVA)",
                     "parallel coordinates", "slices: the value against each parameter",
                     "contours", "intermediate values (per epoch)"}
    assert blank_charts(browser) == []
    shown = fields(browser)
    assert shown["val_accuracy"] == fmt_metric(best["value"])
    assert shown["trial"] == f"#{best['trial']}"
    assert shown["reproduce"] == best["command"]
    ranked = table_rows(browser)
    complete = [t for t in study["trials"] if t["state"] == "complete"]
    assert {row["run"] for row in ranked} == {t["run_id"] for t in complete}
    assert ranked[0]["value"] == fmt_metric(best["value"])
    screenshot(browser, artifacts / "study.png")
    assert click_link(browser, best["run_id"]) == []
    assert browser.title == f"run {best['run_id']}"
    assert fields(browser)["study"] == f"iris-tiny, trial #{best['trial']}"
    assert click_link(browser, "iris-tiny, trial #" + str(best["trial"])) == []
    assert browser.title == "study iris-tiny"


def test_run_page_draws_its_curves_confusion_matrix_and_diagnostics(
        browser, site, produced, artifacts):
    record = produced.run_json("iris")
    open_page(browser, site / "index.html")
    assert click_link(browser, record["run_id"]) == []
    assert browser.title == f"run {record['run_id']}"
    drawn = [f["title"] for f in figures(browser) if f["plot"]]
    assert drawn == ["loss", "accuracy", "confusion matrix on the validation split",
                     "gradient norm by layer", "weight norm by layer",
                     "update-to-weight ratio by layer", "dead-unit fraction by layer"]
    assert blank_charts(browser) == []
    metrics = {row["metric"]: row for row in table_rows(browser)}
    for name in ("loss", "accuracy"):
        for split in ("train", "val", "test"):
            assert metrics[name][split] == fmt_metric(record["metrics"][split][name])
    assert fields(browser)["status"] == record["status"]
    screenshot(browser, artifacts / "run.png")
    assert click_link(browser, "nnx report") == []
    assert browser.title == "runs and studies"


def test_the_pareto_front_is_drawn_where_the_study_json_puts_its_trials(
        browser, pareto_site, artifacts):
    """Each complete trial is a point where its two values lie on the axes (params on a log
    axis: 2 to 64 units), the front's members are joined in order of params, the knee is
    starred, and hovering the knee names its trial and parameters."""
    from selenium.webdriver.common.action_chains import ActionChains

    site, study = pareto_site
    assert open_page(browser, site / "studies" / "iris-pareto.html") == []
    assert [f["title"] for f in figures(browser)][:2] == ["Pareto front", "optimization history"]
    assert blank_charts(browser) == []

    def point(trial):
        return [trial["values"]["params"], trial["values"]["val_loss"]]

    front = sorted(study["pareto"], key=lambda entry: entry["values"]["params"])
    on_front = {entry["trial"] for entry in front}
    others = [t for t in study["trials"]
              if t["state"] == "complete" and t["number"] not in on_front]
    assert len(front) >= 2 and others
    wanted = [[point(t) for t in others], [point(e) for e in front], [point(study["best"])]]
    drawn = browser.execute_script(PARETO_JS, wanted)
    assert drawn["titles"] == ["params (minimize)", "val_loss (minimize)"]
    params = [p[0] for trace in wanted for p in trace]
    assert drawn["types"] == ["log" if max(params) >= 10 * min(params) else "linear", "linear"]
    assert [len(t["points"]) for t in drawn["traces"]] == [len(others), len(front), 1]
    for trace, expected in zip(drawn["traces"], drawn["expected"]):
        assert flat(trace["points"]) == pytest.approx(flat(expected), abs=0.5)
    assert flat(drawn["traces"][1]["line"]) == pytest.approx(flat(drawn["expected"][1]),
                                                             abs=0.5)
    assert drawn["traces"][0]["line"] == drawn["traces"][2]["line"] == []
    knee = browser.find_element("css selector", ".main-svg g.trace.scatter:nth-of-type(3) "
                                                "path.point")
    ActionChains(browser).move_to_element(knee).perform()
    hover = browser.execute_script(
        'return (document.querySelector(".hoverlayer .hovertext") || {}).textContent;')
    assert hover is not None and re.match(rf"trial #{study['best']['trial']}val_loss ", hover)
    assert all(name in hover for name in PARETO["search"]["space"])
    screenshot(browser, artifacts / "study-pareto.png")


def test_the_checks_see_a_blank_chart_and_a_script_error(browser, site, tmp_path):
    """The checks above can fail: a chart whose data draws nothing is reported blank, and
    an error thrown by a page's script reaches the console log they read."""
    import plotly.graph_objects as go

    from nnx.report.web.html import Figure, Figures, Links, Renderer, page

    shutil.copytree(site / "assets", tmp_path / "assets")
    (tmp_path / "runs").mkdir()
    renderer = Renderer(Links(depth=1))
    body = renderer.section(Figures(None, [
        Figure("drawn", go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))),
        Figure("blank", go.Figure(go.Scatter(x=[1, 2], y=[None, None]))),
        Figure("empty", go.Figure(go.Bar(x=[], y=[])))]))
    text = page("checks", body, depth=1, plotly=True).replace(
        "</body>", "<script>undefinedFunction();</script></body>")
    (tmp_path / "runs" / "checks.html").write_text(text)
    errors = open_page(browser, tmp_path / "runs" / "checks.html")
    assert len(errors) == 1 and "undefinedFunction is not defined" in errors[0]["message"]
    assert blank_charts(browser) == ["blank", "empty"]

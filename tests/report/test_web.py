"""`nnx report --html DIR`: the files of the site, its rewriting in place, damaged records,
and bad input (one line, exit 2, nothing written). The pages in a browser:
test_web_browser.py."""

import json
import os
import subprocess
import sys

import plotly
from read_only import read_only_command
from report_helpers import damage, nnx

from nnx.report.web import site as site_module


def build(root, folder):
    result = nnx("report", "--html", folder, "--results-dir", root)
    assert result.exit_code == 0, result.output
    return result


def files_of(folder):
    """{relative path: (size, mtime_ns)} of every file under `folder`."""
    out = {}
    for base, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            stat = os.stat(path)
            out[os.path.relpath(path, folder)] = (stat.st_size, stat.st_mtime_ns)
    return out


def test_a_page_per_run_and_study_and_plotly_once(produced, tmp_path):
    site = tmp_path / "site"
    result = build(produced.root, site)
    runs = sorted(p.stem for p in (produced.root / "runs").glob("*.json"))
    assert result.output.strip() == (f"web report of {len(runs)} runs and 2 studies in {site}: "
                                     f"open {site / 'index.html'}")
    assert sorted(p.stem for p in (site / "runs").glob("*.html")) == runs
    assert sorted(p.stem for p in (site / "studies").glob("*.html")) == sorted(produced.studies)
    shipped = (site / "assets" / "plotly.min.js").read_text(encoding="utf-8")
    assert shipped == plotly.offline.get_plotlyjs()
    assert {p.name for p in (site / "assets").iterdir()} == {"plotly.min.js", "nnx.css",
                                                            "nnx.js"}
    for page in [site / "index.html", *site.glob("*/*.html")]:
        text = page.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, page  # nothing from a network
        assert len(text) < 500_000, page  # plotly.js is not inlined
        if page.parent.name in ("runs", "studies"):
            assert '<script src="../assets/plotly.min.js"></script>' in text
    manifest = json.loads((site / "nnx-report.json").read_text())
    assert sorted(manifest["pages"]) == sorted(
        ["index.html", *[f"runs/{r}.html" for r in runs],
         *[f"studies/{s}.html" for s in produced.studies]])


def test_rewritten_in_place(copy_of, tmp_path):
    """A second report rewrites only what changed, removes the page of a deleted run, keeps
    files it did not write, and leaves no temporary file."""
    site = tmp_path / "site"
    build(copy_of, site)
    before = files_of(site)
    gone = sorted((copy_of / "runs").glob("*.json"))[0]
    gone.unlink()
    (site / "runs" / "notes.txt").write_text("mine")
    build(copy_of, site)
    after = files_of(site)
    assert f"runs/{gone.stem}.html" in before and f"runs/{gone.stem}.html" not in after
    assert (site / "runs" / "notes.txt").read_text() == "mine"
    unchanged = [p for p in after if p in before and after[p] == before[p]]
    assert "assets/plotly.min.js" in unchanged
    assert any(p.startswith("studies/") for p in unchanged)
    assert not [p for p in after if p.endswith(".tmp")]


def test_damaged_records_are_listed_as_skipped(copy_of, tmp_path):
    expected = damage(copy_of)
    site = tmp_path / "site"
    result = build(copy_of, site)
    index = (site / "index.html").read_text(encoding="utf-8")
    assert f"skipped {len(expected)} files" in index
    for name, reason in expected.items():
        assert name in index and reason.replace("'", "&#x27;") in index, name
        assert f"skipped {copy_of}" in result.stderr and name in result.stderr


def test_odd_values_and_empty_studies_still_make_pages(copy_of, produced, tmp_path):
    """Wrong types inside readable records, a study without a complete trial and a run
    without an epoch: every page is written, and a figure that cannot be drawn says why."""
    record = produced.run_json("iris")
    record.update(run_id="odd-run", metrics={"val": "high"}, history={"loss": [1.0, None]},
                  diagnostics={"flags": [7], "per_epoch": [], "confusion_matrix": "no"})
    (copy_of / "runs" / "odd-run.json").write_text(json.dumps(record))
    study = produced.study_json("moons-tiny")
    for trial in study["trials"]:
        trial.update(state="failed", value=None, intermediate={})
    study.update(study="all-failed", best=None, counts={"failed": 4})
    (copy_of / "studies" / "all-failed.json").write_text(json.dumps(study))
    odd = produced.study_json("iris-tiny")
    odd["trials"] += [{"number": "a", "state": 5, "params": [1], "value": "x"},
                      {"number": 99, "state": "complete", "value": float("1e400"),
                       "params": {"train.optimizer.lr": "fast"}, "intermediate": [1]}]
    odd.update(counts="lots", best={"trial": 0})
    (copy_of / "studies" / "iris-tiny.json").write_text(json.dumps(odd))
    site = tmp_path / "site"
    build(copy_of, site)
    text = (site / "studies" / "iris-tiny.html").read_text(encoding="utf-8")
    assert text.count('<div class="plot"') == 6  # the odd trials are left out of the figures
    text = (site / "studies" / "all-failed.html").read_text(encoding="utf-8")
    assert "needs at least 1 complete trial (0 so far)" in text
    assert "no trial reported per-epoch values" in text
    assert '<div class="plot"' not in text
    text = (site / "runs" / "odd-run.html").read_text(encoding="utf-8")
    assert "fewer than two finite epochs to draw" in text


# -- bad input ----------------------------------------------------------------------------
def refused(args, produced, fragment):
    result = nnx("report", *args, "--results-dir", produced.root)
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: --html ") and fragment in line, line
    return line


def test_html_pointing_at_a_file(produced, tmp_path):
    target = tmp_path / "page.html"
    target.write_text("keep me")
    refused(["--html", target], produced, "this is a file")
    refused(["--html", target / "site"], produced, f"{target} is a file, not a folder")
    assert target.read_text() == "keep me"


def test_a_folder_of_other_files_is_refused_untouched(produced, tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    (folder / "index.html").write_text("someone else's")
    refused(["--html", folder], produced, "holds files that are not an nnx report")
    assert os.listdir(folder) == ["index.html"]
    assert (folder / "index.html").read_text() == "someone else's"


def test_other_views_are_refused_with_html(produced, tmp_path):
    line = refused(["--html", tmp_path / "site", "--format", "json", "--compare", "iris-tiny",
                    "moons-tiny"], produced, "it takes no")
    assert "RUN/STUDY arguments, --compare, --format" in line
    assert not (tmp_path / "site").exists()


def test_an_unwritable_folder_is_one_line_exit_2_and_nothing_written(produced, tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    command = [sys.executable, "-m", "nnx.cli", "report", "--html", str(folder / "site"),
               "--results-dir", str(produced.root)]
    done = subprocess.run(read_only_command(folder, command), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() in (
        f"error: --html {folder / 'site'}: cannot create a file in {folder} (Read-only file "
        "system)",
        f"error: --html {folder / 'site'}: cannot create a file in {folder} (Permission "
        "denied)")
    assert os.listdir(folder) == []


def test_without_plotly_one_line_with_the_pip_command(produced, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "plotly", None)  # import plotly raises ImportError
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    result = nnx("report", "--html", tmp_path / "site", "--results-dir", produced.root)
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: --html draws its charts with plotly, which is not installed; install it "
        "with: pip install 'nnx[web]'  (or: pip install plotly)")
    assert not (tmp_path / "site").exists()


def test_a_failed_write_leaves_every_page_whole(copy_of, tmp_path, monkeypatch):
    """The disk fills up half-way through a rewrite: exit 1 with one line, every page is
    the old one or the new one, whole, and no temporary file is left."""
    site = tmp_path / "site"
    build(copy_of, site)
    pages = {p: p.read_bytes() for p in site.glob("**/*.html")}
    for path in (copy_of / "runs").glob("*.json"):  # every run page changes
        record = json.loads(path.read_text())
        record["name"] = "renamed"
        path.write_text(json.dumps(record))
    real, calls = site_module.replace_atomically, []

    def disk_full_after_three(path, write, binary=False):
        calls.append(path)
        if len(calls) > 3:
            from nnx.errors import WriteError

            raise WriteError(path, OSError(28, "No space left on device"))
        return real(path, write, binary)

    monkeypatch.setattr(site_module, "replace_atomically", disk_full_after_three)
    result = nnx("report", "--html", site, "--results-dir", copy_of)
    assert result.exit_code == 1
    assert result.output.strip().endswith(": no space left on device")
    rewritten = [p for p, text in pages.items() if p.read_bytes() != text]
    assert 0 < len(rewritten) <= 3
    assert all(b"renamed" in p.read_bytes() and p.read_bytes().endswith(b"</html>\n")
               for p in rewritten)
    assert (site / "index.html").read_bytes() == pages[site / "index.html"]  # written last
    assert not [p for p in site.glob("**/.*") if p.is_file()]


def test_a_run_id_that_cannot_name_a_file_gets_no_page(copy_of, produced, tmp_path):
    record = produced.run_json("iris")
    for number, name in enumerate(("../escape", ".hidden", "a/b")):
        record["run_id"] = name
        (copy_of / "runs" / f"odd-{number}.json").write_text(json.dumps(record))
    site = tmp_path / "site"
    build(copy_of, site)
    pages = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.html")}
    assert pages == {"site/index.html",
                     *[f"site/runs/{p.stem}.html" for p in (copy_of / "runs").glob("*.json")
                       if not p.name.startswith("odd-")],
                     *[f"site/studies/{s}.html" for s in produced.studies]}

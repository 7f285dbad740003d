"""`nnx report` through the CLI: each format, argument resolution, exit codes, no colour
codes without a terminal, --plot, and a light start-up."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from report_helpers import nnx

from nnx.format import fmt_metric


def test_table_without_a_terminal_has_no_colour_codes(produced):
    result = nnx("report", "--results-dir", produced.root)
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output
    assert "iris-tiny" in result.output and "moons-tiny" in result.output


def test_a_real_process_off_a_terminal_writes_plain_text(produced):
    env = {**os.environ, "NNX_RESULTS_DIR": str(produced.root)}
    for key in ("FORCE_COLOR", "COLUMNS", "TTY_COMPATIBLE"):
        env.pop(key, None)
    done = subprocess.run([sys.executable, "-m", "nnx.cli", "report", "iris-tiny"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout and "best trial" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 120


def test_json_format(produced):
    result = nnx("report", "--results-dir", produced.root, "--format", "json")
    document = json.loads(result.output)
    assert document["view"] == "overview"
    studies = {r["name"]: r for r in document["rows"] if r["kind"] == "study"}
    for name in produced.studies:
        study = produced.study_json(name)
        assert studies[name]["value"] == study["best"]["value"]
        assert studies[name]["trials"] == study["counts"]
    several = json.loads(nnx("report", "--results-dir", produced.root, "-f", "json",
                             produced.runs["iris"], "iris-tiny").output)
    assert [v["view"] for v in several["views"]] == ["run", "study"]


def test_csv_format(produced):
    result = nnx("report", "--results-dir", produced.root, "--format", "csv", "--all")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    records = {r["run_id"]: r for r in produced.all_runs()}
    runs = [r for r in rows if r["kind"] == "run"]
    assert len(runs) == len(records)
    for row in runs:
        record = records[row["name"]]
        assert row["status"] == record["status"]
        assert float(row["duration_s"]) == record["duration_s"]
    for row in (r for r in rows if r["kind"] == "study"):
        study = produced.study_json(row["name"])
        assert float(row["value"]) == study["best"]["value"]
        assert int(row["complete"]) == study["counts"]["complete"]
    two = nnx("report", "--results-dir", produced.root, "-f", "csv", "iris-tiny", "moons-tiny")
    assert two.exit_code == 2 and "one table" in two.output


def test_markdown_format(produced):
    result = nnx("report", "--results-dir", produced.root, "--format", "markdown",
                 "moons-tiny")
    text = result.output
    study = produced.study_json("moons-tiny")
    assert text.startswith("## study moons-tiny")
    assert "| rank | trial | value |" in text
    assert f"| 1 | #{study['best']['trial']} | {fmt_metric(study['best']['value'])} |" in text
    assert f"- reproduce: `{study['best']['command']}`" in text
    assert "```text" in text and "\x1b[" not in text


def test_resolution_order_and_unknown_names(produced):
    run_id = produced.runs["moons"]
    assert nnx("report", "--results-dir", produced.root, run_id).exit_code == 0
    missing = nnx("report", "--results-dir", produced.root, "iris-tinyy")
    assert missing.exit_code == 2 and "did you mean 'iris-tiny'" in missing.output
    ambiguous = nnx("report", "--results-dir", produced.root, "iris-tiny-2")
    assert ambiguous.exit_code == 2 and "matches" in ambiguous.output


def test_a_study_name_wins_over_run_id_prefixes(produced):
    # every iris run id starts with "iris-tiny", the study's name
    result = nnx("report", "--results-dir", produced.root, "iris-tiny", "-f", "json")
    assert json.loads(result.output)["view"] == "study"


def test_plot_without_matplotlib_says_how_to_install(produced, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    result = nnx("report", "--results-dir", produced.root, "iris-tiny", "--plot", tmp_path)
    assert result.exit_code == 2
    assert "pip install 'nnx[plot]'" in result.output


def test_plot_writes_pngs(produced, tmp_path):
    pytest.importorskip("matplotlib")
    result = nnx("report", "--results-dir", produced.root, "iris-tiny",
                 produced.runs["iris"], "--plot", tmp_path / "png")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "png").glob("*.png"))
    assert "iris-tiny-convergence-val_accuracy.png" in names
    assert f"{produced.runs['iris']}-loss.png" in names
    assert all((tmp_path / "png" / n).read_bytes()[:4] == b"\x89PNG" for n in names)


def test_overview_imports_no_numba_optuna_or_sklearn(produced):
    code = ("import sys; from nnx.cli import app; from typer.testing import CliRunner; "
            f"r = CliRunner().invoke(app, ['report', '--results-dir', {str(produced.root)!r}]);"
            "assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in ('numba', 'optuna', 'sklearn', 'matplotlib') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

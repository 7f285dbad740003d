"""optuna-dashboard opens an nnx study as the README says (`optuna-dashboard
results/studies/<study>.journal`, or the database URL): its WSGI app, given the same
string as its command line, lists the study and every trial with nnx's values, and only
reads (the journal and nnx's lock file stay as they were)."""

import io
import json
import os
import sys

import pytest
from optuna_dashboard import wsgi


def get(app, path):
    """The JSON answer of the dashboard's app to GET `path`."""
    status = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_NAME": "localhost", "SERVER_PORT": "8080", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr}
    body = b"".join(app(environ, lambda code, headers, exc_info=None: status.append(code)))
    assert status == ["200 OK"], (status, body[:300])
    return json.loads(body)


@pytest.mark.parametrize("storage", ["journal", "sqlite"])
def test_the_dashboard_lists_an_nnx_study_and_its_trials(ws, storage):
    args = ["--storage", f"sqlite:///{ws.root / 'studies.db'}"] if storage == "sqlite" else []
    result = ws.nnx("search", ws.experiment(), "--n-trials", "3", *args)
    assert result.exit_code == 0, result.output
    journal = ws.results / "studies" / "tiny.journal"
    target = str(journal) if storage == "journal" else args[1]
    before = {p: (p.read_bytes(), os.stat(p).st_ino) for p in journal.parent.iterdir()}
    app = wsgi(target)  # what `optuna-dashboard TARGET` serves
    (summary,) = get(app, "/api/studies")["study_summaries"]
    assert summary["study_name"] == "tiny" and summary["directions"] == ["maximize"]
    shown = get(app, f"/api/studies/{summary['study_id']}")
    document = ws.study()
    assert [t["number"] for t in shown["trials"]] == [t["number"] for t in document["trials"]]
    for trial, row in zip(shown["trials"], document["trials"]):
        assert trial["state"] == "Complete" and row["state"] == "complete"
        assert trial["values"] == [row["value"]]
        assert {p["name"]: p["param_external_value"] for p in trial["params"]} == \
            {name: str(value) for name, value in row["params"].items()}  # shown as text
        assert trial["intermediate_values"] == [
            {"step": int(step), "value": value} for step, value in row["intermediate"].items()]
    assert {p: (p.read_bytes(), os.stat(p).st_ino) for p in journal.parent.iterdir()} == before

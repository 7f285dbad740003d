"""Many machines on one study through a real PostgreSQL server (NNX_TEST_POSTGRES_URL):
two `nnx search` processes with results folders of their own (two "hosts") share a study;
either host's `nnx studies` / `nnx report` shows all of it; a bad URL or a changed metric
is refused with one line."""

import json
import time

import optuna
from search_helpers import BASE, finish

from nnx.search.storage import open_url

TWO_EPOCHS = {**BASE["train"], "epochs": 2}


def load(url, name):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=name, storage=open_url(url).optuna)


def one_error_line(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for fragment in fragments:
        assert fragment in lines[0], result.output


def test_two_hosts_share_one_study(ws, postgres_url, pg_study):
    path = ws.experiment(train=TWO_EPOCHS)
    host_a, host_b = ws.root / "host-a", ws.root / "host-b"
    common = ["search", path, "--method", "random", "--storage", postgres_url,
              "--study", pg_study]
    runs = [ws.spawn(*common, "--n-trials", 4, "--n-jobs", 2, results=host_a),
            ws.spawn(*common, "--n-trials", 2, results=host_b)]
    for code, output in map(finish, runs):
        assert code == 0, output
        assert "Traceback" not in output and "nnx:***@" in output  # the password hidden
    trials = load(postgres_url, pg_study).get_trials()
    assert sorted(t.number for t in trials) == list(range(6))
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    assert len({t.params["train.optimizer.lr"] for t in trials}) == 6
    assert len({t.user_attrs["pid"] for t in trials}) == 3  # two workers on a, one on b
    on_a = {p.stem for p in (host_a / "runs").glob("*.json")}
    on_b = {p.stem for p in (host_b / "runs").glob("*.json")}
    assert len(on_a) == 4 and len(on_b) == 2  # each host keeps its own run records
    # host b's study JSON, refreshed from the storage, holds host a's trials too
    listing = ws.nnx("studies", "--storage", postgres_url, "--json", "--results-dir", host_b)
    assert listing.exit_code == 0, listing.output
    document = json.loads((host_b / "studies" / f"{pg_study}.json").read_text())
    assert len(document["trials"]) == 6
    from_a = [t for t in document["trials"] if t["run_id"] in on_a]
    assert len(from_a) == 4 and all(t["intermediate"] for t in from_a)  # curves too
    report = ws.nnx("report", pg_study, "--results-dir", host_b)
    assert report.exit_code == 0, report.output
    # a budget over both hosts
    more = ws.nnx(*common, "--max-trials", 8, "--results-dir", host_b)
    assert more.exit_code == 0, more.output
    finished = [t for t in load(postgres_url, pg_study).get_trials()
                if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 8


def test_a_changed_metric_or_direction_is_refused_and_the_study_untouched(
        ws, postgres_url, pg_study):
    path = ws.experiment(train=TWO_EPOCHS)
    common = ["search", path, "--method", "random", "--storage", postgres_url,
              "--study", pg_study]
    assert ws.nnx(*common, "--n-trials", 1).exit_code == 0
    study = load(postgres_url, pg_study)
    before = (len(study.trials), study.user_attrs)
    one_error_line(ws.nnx(*common, "--set", "search.metric=val_loss"),
                   "search.metric", "val_accuracy", "val_loss")
    one_error_line(ws.nnx(*common, "--set", "search.direction=minimize"), "search.direction")
    study = load(postgres_url, pg_study)
    assert (len(study.trials), study.user_attrs) == before


def test_a_wrong_password_is_one_line_and_quick(ws, postgres_url, pg_study):
    from sqlalchemy.engine import make_url

    wrong = make_url(postgres_url).set(password="not-the-password")
    started = time.monotonic()
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--study", pg_study,
                    "--storage", wrong.render_as_string(hide_password=False))
    one_error_line(result, "cannot open storage", "***", "password authentication failed")
    assert "not-the-password" not in result.output
    assert time.monotonic() - started < 15

"""Studies: resume with numbering kept, the fingerprint refusal, budgets (--n-trials,
--max-trials, --timeout), crashed and interrupted trials, `nnx studies` and its delete."""

import json
import re

import yaml
from search_helpers import BASE

import nnx.experiment
from nnx.cli import app


def numbers(ws, name="tiny"):
    return [t["number"] for t in ws.study(name)["trials"]]


def test_the_same_command_resumes_the_study_with_numbering_kept(ws):
    path = ws.experiment()
    first = ws.nnx("search", path, "--method", "random", "--n-trials", 2)
    assert first.exit_code == 0 and "new study tiny" in first.output
    second = ws.nnx("search", path, "--method", "random", "--n-trials", 2)
    assert second.exit_code == 0, second.output
    assert "resuming study tiny" in second.output and "2 trials so far" in second.output
    assert "trial   2" in second.output and "trial   3" in second.output
    assert numbers(ws) == [0, 1, 2, 3]
    runs = {t["run_id"] for t in ws.study()["trials"]}
    assert len(runs) == 4 and all((ws.results / "runs" / f"{r}.json").exists() for r in runs)


def test_a_changed_base_experiment_is_refused_and_the_study_kept(ws):
    path = ws.experiment()
    ws.nnx("search", path, "--method", "random", "--n-trials", 1)
    journal, document = ws.journal(), ws.study()
    result = ws.nnx("search", path, "--method", "random", "--n-trials", 1,
                    "--set", "train.epochs=5")
    assert result.exit_code == 2
    assert "train.epochs: 3 then, 5 now" in result.output
    assert "--study NEW_NAME" in result.output
    assert ws.journal() == journal and ws.study() == document
    changed_space = ws.nnx("search", ws.experiment(space={
        "train.optimizer.lr": {"type": "float", "low": 1.0e-4, "high": 0.1, "log": True}}),
        "--n-trials", 1)
    assert changed_space.exit_code == 2 and "search.space" in changed_space.output
    renamed = ws.nnx("search", path, "--method", "random", "--n-trials", 1,
                     "--set", "train.epochs=5", "--study", "tiny-5-epochs")
    assert renamed.exit_code == 0, renamed.output


def test_threads_and_method_do_not_change_the_fingerprint(ws):
    path = ws.experiment()
    ws.nnx("search", path, "--method", "random", "--n-trials", 1)
    result = ws.nnx("search", path, "--method", "bayes", "--n-trials", 1, "--threads", "1")
    assert result.exit_code == 0, result.output
    assert ws.study()["method"] == "bayes"
    assert "--threads 1" in ws.study()["trials"][1]["command"]


def test_max_trials_counts_the_whole_study_and_says_when_already_met(ws):
    path = ws.experiment()
    ws.nnx("search", path, "--method", "random", "--n-trials", 2)
    met = ws.nnx("search", path, "--method", "random", "--max-trials", 2)
    assert met.exit_code == 0, met.output
    assert "nothing to do: the study holds 2 finished trials (--max-trials 2)" in met.output
    assert numbers(ws) == [0, 1]
    more = ws.nnx("search", path, "--method", "random", "--max-trials", 3, "--n-trials", 10)
    assert more.exit_code == 0 and numbers(ws) == [0, 1, 2]


def test_n_trials_defaults_to_search_n_trials(ws):
    result = ws.nnx("search", ws.experiment(search={"n_trials": 2}), "--method", "random")
    assert result.exit_code == 0 and "budget: 2 trials this run" in result.output
    assert numbers(ws) == [0, 1]


def test_timeout_starts_no_new_trial(ws):
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--n-trials", 500,
                    "--timeout", "0.3")
    assert result.exit_code == 0, result.output
    assert "--timeout 0.3 s reached" in result.output
    assert 1 <= len(numbers(ws)) < 500


def test_a_crashed_trial_is_retried_with_its_parameters_and_not_counted(ws, monkeypatch):
    real, calls = nnx.experiment.run_experiment, []

    def crash_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(nnx.experiment, "run_experiment", crash_once)
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--max-trials", 2)
    assert result.exit_code == 0, result.output
    trials = ws.study()["trials"]
    assert [t["state"] for t in trials] == ["failed", "complete", "complete"]
    assert trials[0]["error"] == "RuntimeError: worker lost"
    assert trials[1]["params"] == trials[0]["params"]


def test_an_interrupted_trial_is_failed_requeued_and_exits_130(ws, monkeypatch):
    real, calls = nnx.experiment.run_experiment, []

    def interrupt_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(nnx.experiment, "run_experiment", interrupt_second)
    path = ws.experiment()
    result = ws.nnx("search", path, "--method", "random", "--n-trials", 5)
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output
    trials = ws.study()["trials"]
    assert [t["state"] for t in trials] == ["complete", "failed", "waiting"]
    monkeypatch.setattr(nnx.experiment, "run_experiment", real)
    resumed = ws.nnx("search", path, "--method", "random", "--n-trials", 1)
    assert resumed.exit_code == 0, resumed.output
    trials = ws.study()["trials"]
    assert trials[2]["state"] == "complete" and trials[2]["params"] == trials[1]["params"]


def test_studies_lists_and_deletes(ws):
    path = ws.experiment()
    ws.nnx("search", path, "--method", "random", "--n-trials", 2)
    ws.nnx("search", path, "--method", "random", "--n-trials", 1, "--study", "other")
    listing = ws.nnx("studies", "--json")
    assert listing.exit_code == 0, listing.output
    rows = {row["study"]: row for row in json.loads(listing.stdout)}
    assert set(rows) == {"tiny", "other"}
    assert rows["tiny"]["counts"]["complete"] + rows["tiny"]["counts"]["pruned"] == 2
    table = ws.nnx("studies")
    assert "tiny" in table.output and "other" in table.output
    missing = ws.nnx("studies", "delete", "tiyn", "--yes")
    assert missing.exit_code == 2 and "did you mean 'tiny'" in missing.output
    declined = ws.runner.invoke(app, ["studies", "delete", "other", "--results-dir",
                                      str(ws.results)], input="n\n")
    assert declined.exit_code == 0 and "kept" in declined.output
    assert ws.journal("other") is not None
    deleted = ws.nnx("studies", "delete", "other", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert ws.journal("other") is None
    assert not (ws.results / "studies" / "other.json").exists()
    assert ws.journal("tiny") is not None


def test_an_rdb_storage_url_works_and_lists(ws, tmp_path):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--n-trials", 2,
                    "--storage", url)
    assert result.exit_code == 0, result.output
    assert ws.journal() is None and ws.study()["storage"] == url
    listing = ws.nnx("studies", "--storage", url)
    assert "tiny" in listing.output


def test_an_experiment_without_a_search_section(ws):
    config = {k: v for k, v in BASE.items() if k != "search"}
    (ws.root / "plain.yaml").write_text(yaml.safe_dump(config))
    result = ws.nnx("search", "plain.yaml")
    assert result.exit_code == 2 and "nothing to search" in result.output


def test_a_study_holding_only_queued_trials_is_idle_not_running(ws):
    """A grid run with --n-trials 1 leaves its other points queued: nothing runs."""
    space = {"model.layers.0.units": {"type": "categorical", "choices": [4, 8]}}
    result = ws.nnx("search", ws.experiment(space=space), "--method", "grid", "--n-trials", 1)
    assert result.exit_code == 0, result.output
    assert ws.study()["counts"]["waiting"] == 1
    (row,) = json.loads(ws.nnx("studies", "--json").stdout)
    assert row["status"] == "idle"
    assert re.search(r"tiny\W+idle", ws.nnx("studies").output)
    view = json.loads(ws.nnx("report", "--results-dir", ws.results, "--format", "json").stdout)
    assert [r["status"] for r in view["rows"] if r["kind"] == "study"] == ["idle"]
    detail = json.loads(ws.nnx("report", "tiny", "--results-dir", ws.results, "--format",
                                  "json").stdout)
    assert detail["status"] == "idle"

"""Bad input to `nnx search`: one clear message, exit 2, and an existing study untouched."""

import pytest

SPACES = {
    "unknown path": ({"train.optimizer.lrr": {"type": "float", "low": 0.001, "high": 0.1}},
                     "search.space.train.optimizer.lrr", "did you mean 'lr'"),
    "low > high": ({"train.optimizer.lr": {"type": "float", "low": 0.1, "high": 0.01}},
                   "search.space.train.optimizer.lr.low", "greater than high"),
    "log with low <= 0": ({"train.optimizer.lr": {"type": "float", "low": 0, "high": 0.1,
                                                  "log": True}},
                          "search.space.train.optimizer.lr.low", "log range needs low > 0"),
    "empty choices": ({"train.batch_size": {"type": "categorical", "choices": []}},
                      "search.space.train.batch_size.choices", "empty"),
    "when outside the space": ({"train.optimizer.momentum": {
        "type": "float", "low": 0, "high": 0.9, "when": {"train.optimizer.type": "sgd"}}},
        "search.space.train.optimizer.momentum.when", "not in the search space"),
}


@pytest.fixture
def existing(ws):
    """A study `tiny` with one trial; yields a check that it is exactly as it was."""
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--n-trials", 1)
    assert result.exit_code == 0, result.output
    journal, document = ws.journal(), ws.study()

    def untouched():
        assert ws.journal() == journal and ws.study() == document

    return untouched


def refused(result, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


@pytest.mark.parametrize("case", list(SPACES))
def test_bad_space(ws, existing, case):
    space, *fragments = SPACES[case]
    refused(ws.nnx("search", ws.experiment(space=space), "--method", "random"),
            "exp.yaml", *fragments)
    existing()


@pytest.mark.parametrize("case", [*SPACES, "a value the field rejects", "grid too large"])
def test_validate_refuses_a_space_as_search_does(ws, case):
    space, *_ = SPACES.get(case, [None])
    search = {}
    if case == "a value the field rejects":  # a path the schema knows, a value it does not
        space = {"train.batch_size": {"type": "categorical", "choices": [16, -3]}}
    if case == "grid too large":
        space = {f"model.layers.{i}.units": {"type": "int", "low": 1, "high": 100}
                 for i in range(2)} | {"train.epochs": {"type": "int", "low": 1, "high": 101}}
        search = {"method": "grid"}
    path = ws.experiment(space=space, search=search)
    searched = ws.nnx("search", path)
    refused(searched)
    refused(ws.nnx("validate", path))
    assert ws.nnx("validate", path).output == searched.output


def test_grid_over_a_continuous_range_without_step(ws, existing):
    refused(ws.nnx("search", ws.experiment(), "--method", "grid"),
            "search.space.train.optimizer.lr", "a grid needs a step")
    existing()


@pytest.mark.parametrize("url, fragment", [
    ("sqlite:////nonexistent/folder/studies.db", "cannot open storage"),
    ("postgresql://nnx@127.0.0.1:1/studies", "cannot open storage"),
    ("postgresql://nnx:secret@no-such-host.invalid/studies", "cannot open storage"),
    ("postgres://nnx:secret@127.0.0.1/studies", "write postgresql://, not postgres://"),
    ("postgresq://nnx@127.0.0.1/studies", "unknown database scheme 'postgresq'"),
    ("results/studies.db", "is not a database URL"),
])
def test_unreachable_storage(ws, existing, url, fragment):
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--storage", url)
    refused(result, fragment)
    assert "secret" not in result.output  # a password is never shown
    existing()


@pytest.mark.parametrize("args, fragment", [
    (["--study", "bad/name"], "is not a study name"),
    (["--study", ""], "--study: '' is not a study name"),
    (["--pruner", "medain"], "did you mean 'median'"),
    (["--save-model", "some"], "--save-model must be one of best, all, none"),
    (["--warm-start", "nosuchstudy"], "no study named 'nosuchstudy'"),
    (["--warm-start", "tiny"], "names the study being run"),
    (["--set", "train.epochs=0"], "train.epochs"),
    (["--set", "search.metric=val_r2"], "add 'r2' to train.metrics"),
    (["--n-jobs", "0"], "--n-jobs must be a positive number of worker processes, got 0"),
    (["--n-jobs", "-2"], "--n-jobs must be a positive number of worker processes, got -2"),
    (["--n-jobs", "2", "--storage", "sqlite:///studies.db"], "SQLite is not"),
    (["--set", "search.metric=val_loss"], "search.metric: \"val_accuracy\" then, "
                                          "\"val_loss\" now"),
])
def test_bad_options(ws, existing, args, fragment):
    refused(ws.nnx("search", ws.experiment(), "--method", "random", *args), fragment)
    existing()


@pytest.mark.parametrize("cores, n_jobs", [(2, 9), (2, 500), (1, 5)])
def test_n_jobs_above_four_times_the_cores(ws, existing, monkeypatch, cores, n_jobs):
    monkeypatch.setattr("nnx.cores.available_cores", lambda: cores)
    refused(ws.nnx("search", ws.experiment(), "--method", "random", "--n-jobs", n_jobs),
            f"--n-jobs {n_jobs} is more than 4 x the {cores} core", "this process may use: "
            f"give at most {4 * cores} (any number above {cores} runs {cores} worker")
    existing()


@pytest.mark.parametrize("target, fragment", [
    ("best.json", "whose name ends in .yaml or .yml"),
    ("best", "whose name ends in .yaml or .yml"),
    ("folder.yaml", "is a folder; give a file name in it"),
    ("exp.yaml/best.yaml", "exp.yaml is a file, not a folder"),
    ("exp.yaml/sub/best.yaml", "exp.yaml is a file, not a folder"),
    ("/proc/nnx-best.yaml", "cannot create a file in /proc"),
])
def test_export_best_is_checked_before_any_trial(ws, existing, target, fragment):
    (ws.root / "folder.yaml").mkdir()
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--export-best", target)
    refused(result, f"--export-best {target}", fragment)
    existing()  # no trial ran


def test_export_best_creates_a_missing_folder(ws):
    result = ws.nnx("search", ws.experiment(), "--method", "random", "--n-trials", 1,
                    "--export-best", "new/folder/best.yml")
    assert result.exit_code == 0, result.output
    assert (ws.root / "new" / "folder" / "best.yml").read_text().startswith("# best trial 0")


def test_warm_start_does_not_apply_to_a_grid(ws, existing):
    space = {"train.batch_size": {"type": "categorical", "choices": [8, 16]}}
    refused(ws.nnx("search", ws.experiment("grid.yaml", space=space, name="g"), "--method",
                   "grid", "--warm-start", "tiny"), "does not apply to --method grid")
    existing()


def test_usage_errors_exit_2(ws):
    result = ws.nnx("search", ws.experiment(), "--n-trials", "0")
    assert result.exit_code == 2
    result = ws.nnx("search", "missing.yaml")
    assert result.exit_code == 2 and "does not exist" in result.output

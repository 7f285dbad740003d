"""Fault injection on a brand-new SQLite file: processes that open it at the same moment
(cron runs, a user starting several searches) race to create its tables, its schema version
row and the study; every one of them must succeed."""

import subprocess
import sys
import textwrap

import pytest
from search_helpers import BASE, finish

OPEN_AT_ONCE = textwrap.dedent("""
    import os, sys, time
    import optuna
    from nnx.search.storage import open_url
    from nnx.search.study import StudyPlan, open_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder, rounds = sys.argv[1], int(sys.argv[2])
    plan = StudyPlan(name="s", metric="val_loss", direction="minimize", method="random",
                     document={"space": {}}, experiment="exp.yaml", overrides=[])
    open_url(f"sqlite:///{folder}/own-{os.getpid()}.db")  # imports done: the rounds race
    for round_ in range(rounds):
        print("ready", flush=True)
        while not os.path.exists(os.path.join(folder, f"start-{round_}")):
            time.sleep(0.001)
        study, _ = open_study(open_url(f"sqlite:///{folder}/new-{round_}.db"), plan)
        assert study.user_attrs["nnx_ready"] is True
""")


def test_processes_opening_a_new_sqlite_file_at_once_all_succeed(tmp_path):
    """4 processes open 6 new files, each file by all four at the same moment (once all
    have imported, or opened the file before)."""
    rounds, count = 6, 4
    processes = [subprocess.Popen([sys.executable, "-c", OPEN_AT_ONCE, str(tmp_path),
                                   str(rounds)], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for _ in range(count)]
    said = []
    for round_ in range(rounds):
        said += [p.stdout.readline().strip() for p in processes]
        (tmp_path / f"start-{round_}").touch()  # after a failure too: the others go on
    results = [finish(p) for p in processes]
    failed = [output for code, output in results if code != 0]
    assert not failed, failed[0]
    assert said == ["ready"] * rounds * count, said


@pytest.mark.slow
def test_three_searches_started_at_once_on_a_new_sqlite_file_all_exit_0(ws):
    path = ws.experiment(train={**BASE["train"], "epochs": 1})
    for round_ in range(5):
        url = f"sqlite:///{ws.root / f'round-{round_}.db'}"
        processes = [ws.spawn("search", path, "--method", "random", "--n-trials", 1,
                              "--storage", url) for _ in range(3)]
        results = [finish(p) for p in processes]
        failed = [output for code, output in results if code != 0]
        assert not failed, f"round {round_}: {failed[0]}"
        document = ws.study()
        assert document["storage"] == url
        assert len(document["trials"]) == 3, document["trials"]

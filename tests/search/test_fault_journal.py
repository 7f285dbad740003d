"""Fault injection on a study's journal file: what a full disk, a power cut or a writer killed
mid-record leaves at its end is cut back (kept beside it) and the study goes on with every
finished trial; damage in the middle is refused, the file left as it is, and the listings
still show the study, as damaged."""

import json
import re
import shutil
import threading
import time

import optuna
import pytest
from search_helpers import BASE, Workspace, finish

from nnx.search.storage import FlockLock, journal_path, open_journal

TORN_NAME = re.compile(r"^tiny\.journal\.torn-\d{8}T\d{6}Z$")


@pytest.fixture(scope="module")
def three_trials(tmp_path_factory):
    """A workspace whose study `tiny` holds 3 finished trials, run by a process that has
    ended (so that a trial whose last record is lost counts as a lost worker's)."""
    root = tmp_path_factory.mktemp("three-trials")
    ws = Workspace(root)
    path = ws.experiment(train={**BASE["train"], "epochs": 1})
    code, output = finish(ws.spawn("search", path, "--method", "random", "--max-trials", 3))
    assert code == 0, output
    return root


@pytest.fixture
def study(three_trials, tmp_path):
    """A private copy of the three-trial workspace."""
    root = tmp_path / "ws"
    shutil.copytree(three_trials, root)
    return Workspace(root)


def torn_files(ws):
    return sorted(p for p in (ws.results / "studies").iterdir() if TORN_NAME.match(p.name))


def rows(ws):
    return {t["number"]: t for t in ws.study()["trials"]}


def finished(document):
    return sum(document["counts"][s] for s in ("complete", "pruned", "diverged"))


def last_line(data):
    return data.splitlines(keepends=True)[-1]


# (the damaged journal, the bytes that must be cut, trials still finished after the cut)
TAILS = {
    "last 40 bytes cut": lambda data: (data[:-40], last_line(data)[:-40], 2),
    "half a record appended": lambda data: (data + last_line(data)[:70],
                                            last_line(data)[:70], 3),
    "garbage appended": lambda data: (data + b"garbage \xff\xfe{\nmore garbage",
                                      b"garbage \xff\xfe{\nmore garbage", 3),
    "a whole garbage line appended": lambda data: (data + b"not a record\n",
                                                   b"not a record\n", 3),
    "NUL bytes appended": lambda data: (data + b"\0" * 4096, b"\0" * 4096, 3),
}


@pytest.mark.parametrize("case", list(TAILS))
def test_a_torn_tail_is_cut_back_and_the_study_reaches_its_budget(study, case):
    ws = study
    path = journal_path(ws.results, "tiny")
    before = rows(ws)
    damaged, cut, kept = TAILS[case](path.read_bytes())
    path.write_bytes(damaged)

    result = ws.nnx("search", "exp.yaml", "--method", "random", "--max-trials", 5)

    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    (torn,) = torn_files(ws)
    assert torn.read_bytes() == cut
    notes = [line for line in result.output.splitlines() if torn.name in line]
    assert len(notes) == 1 and "torn" in notes[0], result.output
    assert path.read_bytes().startswith(damaged[:len(damaged) - len(cut)])
    assert all(json.loads(line) for line in path.read_bytes().splitlines())
    document = ws.study()
    assert finished(document) == 5
    after = rows(ws)
    for number in range(kept):  # every trial whose records were whole is kept as it was
        for key in ("state", "value", "run_id", "params"):
            assert after[number][key] == before[number][key], (number, key)
    if kept < 3:  # its completion was cut: the trial counts as lost and is run again
        assert after[2]["state"] == "failed"
        assert any(t["params"] == before[2]["params"] and t["state"] == "complete"
                   for n, t in after.items() if n > 2)


def test_a_torn_tail_left_while_the_study_is_open_is_cut_before_the_next_append(tmp_path):
    path = tmp_path / "s.journal"
    repairs = []
    store = open_journal(path, on_repair=repairs.append)
    study = optuna.create_study(study_name="s", storage=store.optuna)
    study.set_user_attr("before", 1)
    with open(path, "ab") as handle:  # another writer died in the middle of its record
        handle.write(b'{"op_code":2,"worker_id":"w","study_id":0,"user_a')
    study.set_user_attr("after", 2)
    assert [r.kept.read_bytes() for r in repairs] == [b'{"op_code":2,"worker_id":"w",'
                                                      b'"study_id":0,"user_a']
    assert str(repairs[0].kept) in repairs[0].describe()
    again = optuna.load_study(study_name="s", storage=open_journal(path).optuna)
    assert again.user_attrs == {"before": 1, "after": 2}


def test_a_record_being_written_under_the_lock_is_not_cut(tmp_path):
    """Appends hold the journal's lock while they write, and the tail is checked under the
    same lock: a record half written by a live writer is waited for, never cut."""
    path = tmp_path / "s.journal"
    study = optuna.create_study(study_name="s", storage=open_journal(path).optuna)
    record = json.dumps({"op_code": 2, "worker_id": "w", "study_id": 0,
                         "user_attr": {"writer": "done"}}).encode() + b"\n"
    half_written, finish_writing = threading.Event(), threading.Event()

    def slow_writer():
        lock = FlockLock(path)  # its own descriptor: it excludes this process's others too
        lock.acquire()
        try:
            with open(path, "ab") as handle:
                handle.write(record[:30])
                handle.flush()
                half_written.set()
                finish_writing.wait(30)
                handle.write(record[30:])
        finally:
            lock.release()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert half_written.wait(30)
    appender = threading.Thread(target=study.set_user_attr, args=("reader", "after"))
    appender.start()
    time.sleep(0.5)  # the append is waiting for the lock (or on its way to it)
    assert appender.is_alive()
    finish_writing.set()
    writer.join(30)
    appender.join(30)
    assert not list(tmp_path.glob("*.torn-*"))
    again = optuna.load_study(study_name="s", storage=open_journal(path).optuna)
    assert again.user_attrs == {"writer": "done", "reader": "after"}


def glue_line(data, index):
    """The journal with record `index` torn and the next one appended straight after it,
    as Optuna alone would have left it; returns (journal, damaged line, its byte offset)."""
    lines = data.splitlines(keepends=True)
    offset = sum(len(line) for line in lines[:index])
    lines[index] = lines[index][:-40]
    return b"".join(lines), index + 1, offset


def test_damage_in_the_middle_is_refused_and_the_study_listed_as_damaged(study):
    ws = study
    path = journal_path(ws.results, "tiny")
    damaged, line, offset = glue_line(path.read_bytes(), 20)
    path.write_bytes(damaged)

    result = ws.nnx("search", "exp.yaml", "--method", "random", "--max-trials", 5)

    assert result.exit_code == 2, result.output
    lines = [text for text in result.output.splitlines() if text.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert str(path) in lines[0] and f"line {line}" in lines[0] and f"byte {offset}" in lines[0]
    assert path.read_bytes() == damaged and not torn_files(ws)

    listing = ws.nnx("studies")
    assert listing.exit_code == 0, listing.output
    assert "no studies" not in listing.output
    assert re.search(r"tiny\s.*damaged", listing.output), listing.output
    assert f"line {line}" in listing.output
    (row,) = json.loads(ws.nnx("studies", "--json").stdout)
    assert row["study"] == "tiny" and row["status"] == "damaged"
    assert f"line {line}" in row["damaged"]

    overview = ws.nnx("report", "--results-dir", ws.results, "--format", "json")
    assert overview.exit_code == 0, overview.output
    view = json.loads(overview.stdout)
    (study_row,) = [r for r in view["rows"] if r["kind"] == "study"]
    assert study_row["name"] == "tiny" and study_row["status"] == "damaged"
    assert f"line {line}" in study_row["notes"]
    detail = ws.nnx("report", "tiny", "--results-dir", ws.results)
    assert detail.exit_code == 0, detail.output
    assert "damaged" in detail.output and f"line {line}" in detail.output
    assert path.read_bytes() == damaged


def test_a_damaged_study_without_its_json_is_still_listed(study):
    ws = study
    path = journal_path(ws.results, "tiny")
    path.write_bytes(glue_line(path.read_bytes(), 5)[0])
    (ws.results / "studies" / "tiny.json").unlink()
    listing = ws.nnx("studies")
    assert "no studies" not in listing.output and "damaged" in listing.output
    overview = ws.nnx("report", "--results-dir", ws.results)
    assert overview.exit_code == 0 and re.search(r"tiny\s+study\s+damaged", overview.output), \
        overview.output
    detail = ws.nnx("report", "tiny", "--results-dir", ws.results)
    assert detail.exit_code == 0 and "damaged" in detail.output, detail.output


def test_a_damaged_study_can_be_deleted(study):
    ws = study
    path = journal_path(ws.results, "tiny")
    path.write_bytes(glue_line(path.read_bytes(), 5)[0])
    deleted = ws.nnx("studies", "delete", "tiny", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert not path.exists() and not (ws.results / "studies" / "tiny.json").exists()
    assert "no studies" in ws.nnx("studies").output


def test_studies_lists_a_study_with_a_torn_end_and_cuts_it(study):
    """Garbage with a line end and more after it: Optuna alone would not load this."""
    ws = study
    path = journal_path(ws.results, "tiny")
    whole = path.read_bytes()
    path.write_bytes(whole + b"garbage\nmore garbage")
    listing = ws.nnx("studies", "--json")
    assert listing.exit_code == 0, listing.output
    (row,) = json.loads(listing.stdout)
    assert row["status"] == "finished" and row["counts"]["complete"] == 3
    (torn,) = torn_files(ws)
    assert torn.read_bytes() == b"garbage\nmore garbage" and path.read_bytes() == whole
    assert torn.name in listing.stderr

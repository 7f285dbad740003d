"""JSON documents: atomic writes, plain-JSON conversion, tolerant reads, run look-up."""

import json
import math
import os
import re

import numpy as np
import pytest

from nnx import results
from nnx.errors import NnxError


def test_run_id_format():
    run_id = results.new_run_id("digits-mlp")
    assert re.fullmatch(r"digits-mlp-\d{8}T\d{6}-[0-9a-f]{6}", run_id)
    assert results.new_run_id("a") != results.new_run_id("a")


def test_to_json_makes_plain_values():
    doc = {"a": np.float32(1.5), "b": np.arange(3), "c": (1, 2), "d": math.nan,
           "e": [math.inf, -math.inf, 2.0], 3: np.int64(4)}
    assert results.to_json(doc) == {"a": 1.5, "b": [0, 1, 2], "c": [1, 2], "d": None,
                                    "e": [None, None, 2.0], "3": 4}


def test_write_json_is_atomic_and_leaves_no_temp_file(tmp_path):
    path = results.write_json(tmp_path / "deep" / "doc.json", {"x": 1})
    assert json.loads(path.read_text()) == {"x": 1}
    assert os.listdir(path.parent) == ["doc.json"]


def test_a_crash_while_writing_keeps_the_old_document(tmp_path, monkeypatch):
    path = results.write_json(tmp_path / "doc.json", {"version": 1})

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        results.write_json(path, {"version": 2})
    assert json.loads(path.read_text()) == {"version": 1}
    assert os.listdir(tmp_path) == ["doc.json"]


def test_unserializable_value_never_truncates_the_file(tmp_path):
    path = results.write_json(tmp_path / "doc.json", {"version": 1})
    with pytest.raises(TypeError):
        results.write_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"version": 1}


@pytest.mark.parametrize("text, words", [
    ("{not json", "damaged JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"schema": "other/1"}', "not a 'nnx.run/1' document"),
    ('{"schema": "nnx.run/1", "run_id": "x", "status": "completed"}', "'config'"),
])
def test_damaged_runs_are_reported(tmp_path, text, words):
    path = tmp_path / "r.json"
    path.write_text(text)
    with pytest.raises(NnxError, match=re.escape(words)):
        results.read_run(path)


def test_load_runs_skips_damaged_files_and_reports_them(tmp_path):
    good = {"schema": results.RUN_SCHEMA, "run_id": "a-1", "status": "completed",
            "config": {}, "future_key": [1]}
    results.write_run(tmp_path, good)
    (tmp_path / "runs" / "b-2.json").write_text('{"schema": "nnx.run/1", "run')
    records, problems = results.load_runs(tmp_path)
    assert [r["run_id"] for r in records] == ["a-1"]
    assert len(problems) == 1 and problems[0][0].name == "b-2.json"
    assert "damaged" in problems[0][1]


def test_find_run_by_path_id_and_prefix(tmp_path):
    for run_id in ("exp-20250101T000000-aaaaaa", "exp-20250102T000000-bbbbbb"):
        results.write_run(tmp_path, {"schema": results.RUN_SCHEMA, "run_id": run_id,
                                     "status": "completed", "config": {}})
    runs = tmp_path / "runs"
    assert results.find_run("exp-20250101T000000-aaaaaa", tmp_path) == \
        runs / "exp-20250101T000000-aaaaaa.json"
    assert results.find_run("exp-20250102", tmp_path).stem.endswith("bbbbbb")
    assert results.find_run(runs / "exp-20250102T000000-bbbbbb.json", tmp_path).is_file()
    with pytest.raises(NnxError, match="matches 2 runs"):
        results.find_run("exp-2025", tmp_path)
    with pytest.raises(NnxError, match="no file and no run"):
        results.find_run("nothing", tmp_path)


def test_results_dir_default_and_environment(monkeypatch):
    monkeypatch.delenv("NNX_RESULTS_DIR", raising=False)
    assert str(results.results_dir()) == "results"
    monkeypatch.setenv("NNX_RESULTS_DIR", "/tmp/elsewhere")
    assert str(results.results_dir()) == "/tmp/elsewhere"
    assert str(results.results_dir("given")) == "given"

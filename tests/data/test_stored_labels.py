"""The first pass of a Parquet table from its columns as stored (numbers as numbers, text
as dictionaries): the same targets and category codes as the checked text of every cell,
to the bit and the dtype, and the text's way (which names the row) for anything else."""

import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nnx.data import tabular
from nnx.data.tables import open_table
from nnx.errors import NnxError

N = 3_000
RNG = np.random.default_rng(5)
LEVELS = np.array([" red", "green ", "blue", "amber", "red", "é日本"])


def _levels(first=0):
    return LEVELS[RNG.integers(first, len(LEVELS), N)]


def _dictionary_with_unused_values():
    indices = pa.array(RNG.integers(0, 2, N).astype(np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array(["b", "a", "", "nan", "x" * 30]))


STORED = {
    "int label, two categoricals": ({"label": RNG.integers(-3, 3, N).astype(np.int32),
                                     "a": _levels(), "b": _levels(2)}, ["label"], ["a", "b"]),
    "float64 and large int64 targets": ({"y": RNG.normal(size=N) * 1e10,
                                         "z": RNG.integers(2**60, 2**62, N)}, ["y", "z"], []),
    "text that holds numbers": ({"y": np.array([" 1", "0 ", "2.5", "1e3"])[
        RNG.integers(0, 4, N)]}, ["y"], []),
    "text labels": ({"y": np.array(["cat", " dog", "dog", "mouse"])[RNG.integers(0, 4, N)],
                     "z": np.array(["1", "2"])[RNG.integers(0, 2, N)]}, ["y", "z"], []),
    "large strings": ({"y": pa.array(_levels(), pa.large_string()),
                       "c": pa.array(_levels(), pa.large_string())}, ["y"], ["c"]),
    "dictionary types, unused values": ({"y": _dictionary_with_unused_values(),
                                         "c": pa.array(_levels()).dictionary_encode()},
                                        ["y"], ["c"]),
}

TEXT_ONLY = {
    "text and numbers among the targets": ({"y": _levels(), "z": RNG.integers(0, 2, N)},
                                           ["y", "z"], []),
    "float32 target": ({"y": RNG.normal(size=N).astype(np.float32)}, ["y"], []),
    "bool target": ({"y": RNG.integers(0, 2, N).astype(bool)}, ["y"], []),
    "uint64 target": ({"y": RNG.integers(0, 2, N).astype(np.uint64)}, ["y"], []),
    "integer categorical": ({"y": RNG.integers(0, 2, N), "c": RNG.integers(0, 3, N)},
                            ["y"], ["c"]),
}

BAD = {
    "a NaN target": ({"y": np.r_[RNG.normal(size=N - 1), np.nan]}, ["y"], [], "row 3000: 'nan'"),
    "a null category": ({"y": [0, 1, 0], "c": ["a", None, "b"]}, ["y"], ["c"],
                        "column 'c', row 2: missing value"),
    "an empty category": ({"y": [0, 1, 0], "c": ["a", "b", "  "]}, ["y"], ["c"],
                          "column 'c', row 3: empty cell"),
    "an infinite text target": ({"y": ["1", "-inf", "0"]}, ["y"], [], "row 2: '-inf'"),
}


def _table(tmp_path, columns):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(columns), path, row_group_size=700)
    return open_table(path)


def _from_text(table, target, categorical):
    labels = tabular._read_text(table, [*target, *categorical])
    return (tabular._target_values([labels[t] for t in target]),
            {c: tabular._sorted_codes(labels[c]) for c in categorical})


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("case", STORED)
def test_stored_columns_give_what_the_text_gives(tmp_path, case):
    columns, target, categorical = STORED[case]
    table = _table(tmp_path, columns)
    stored = tabular._stored_labels(table, target, categorical)
    assert stored is not None
    expected = _from_text(table, target, categorical)
    _same(stored[0], expected[0])
    assert stored[1].keys() == expected[1].keys()
    for column, (distinct, codes) in expected[1].items():
        _same(stored[1][column][0], distinct)
        _same(stored[1][column][1], codes)


@pytest.mark.parametrize("case", TEXT_ONLY)
def test_other_types_are_read_as_text(tmp_path, case):
    columns, target, categorical = TEXT_ONLY[case]
    table = _table(tmp_path, columns)
    assert tabular._stored_labels(table, target, categorical) is None
    y, categories = tabular._read_labels(table, target, categorical)
    _same(y, _from_text(table, target, categorical)[0])


@pytest.mark.parametrize("case", BAD)
def test_a_refused_value_is_named_by_the_text(tmp_path, case):
    columns, target, categorical, named = BAD[case]
    table = _table(tmp_path, columns)
    assert tabular._stored_labels(table, target, categorical) is None
    with pytest.raises(NnxError, match=re.escape(named)):
        tabular._read_labels(table, target, categorical)

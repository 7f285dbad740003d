"""Reading a table by column groups on a second thread: the same matrix as a CSV of the same
values, the first problem in row order, and a reader that stops when its caller does."""

import re
import threading

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from nnx.data import load_data, tables
from nnx.data.tables import PARQUET_BATCH_ROWS, PARQUET_GROUP_COLUMNS, read_ahead
from nnx.errors import NnxError

# Two batches: a problem in a later batch of one column group, another in an earlier batch
# of the next group.
N_ROWS = PARQUET_BATCH_ROWS + 5_000


def _table(bad=()):
    rng = np.random.default_rng(3)
    columns = {f"f{i}": rng.normal(i * 10, i + 1, N_ROWS) for i in range(2 * PARQUET_GROUP_COLUMNS)}
    columns["kind"] = np.array(["a", "b", "c"])[rng.integers(0, 3, N_ROWS)]
    columns["label"] = rng.integers(0, 2, N_ROWS)
    for column, row, value in bad:
        columns[column][row] = value
    return pa.table(columns)


def _write(tmp_path, table):
    parquet, csv = tmp_path / "t.parquet", tmp_path / "t.csv"
    pq.write_table(table, parquet, row_group_size=30_000)
    pa_csv.write_csv(table, csv)
    return parquet, csv


def _load(path, dtype="float32", standardize=True):
    return load_data({"path": str(path), "target": "label", "categorical": ["kind"],
                      "standardize": standardize}, 0, dtype)


def _same(a, b):
    for split in ("x_train", "x_val", "x_test", "y_train"):
        assert getattr(a, split).tobytes() == getattr(b, split).tobytes()
    assert a.preprocessing.to_dict() == b.preprocessing.to_dict()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_column_groups_give_the_matrix_of_whole_batches(tmp_path, monkeypatch, dtype):
    parquet, _ = _write(tmp_path, _table())
    grouped = _load(parquet, dtype)
    monkeypatch.setattr(tables, "PARQUET_GROUP_COLUMNS", 1_000)
    _same(grouped, _load(parquet, dtype))


def test_parquet_read_by_column_groups_gives_the_features_of_the_same_csv(tmp_path):
    # Standardized, they differ: the shift is the mean of each reader's own first batch.
    parquet, csv = _write(tmp_path, _table())
    _same(_load(parquet, standardize=False), _load(csv, standardize=False))


@pytest.mark.parametrize(("bad", "named"), [
    # a later row in the first column group, an earlier one in the second: row order wins
    ([("f1", N_ROWS - 10, np.nan), (f"f{PARQUET_GROUP_COLUMNS + 1}", 100, np.inf)],
     f"column 'f{PARQUET_GROUP_COLUMNS + 1}', row 101: 'inf' is not a finite value"),
    ([("f2", N_ROWS - 10, 1e39), (f"f{PARQUET_GROUP_COLUMNS + 2}", 200, -1e39)],
     f"feature 'f{PARQUET_GROUP_COLUMNS + 2}' of t.parquet holds -1e+39 (row 201)"),
])
def test_the_first_problem_in_row_order_is_named(tmp_path, bad, named):
    parquet, _ = _write(tmp_path, _table(bad))
    with pytest.raises(NnxError, match=re.escape(named)):
        _load(parquet)


def test_read_ahead_keeps_the_order_and_raises_the_error_of_its_items():
    def items():
        yield from range(5)
        raise NnxError("broken at 5")

    seen = []
    with pytest.raises(NnxError, match="broken at 5"):
        for item in read_ahead(items()):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


def test_read_ahead_stops_its_thread_when_the_caller_stops():
    before = threading.active_count()
    reader = read_ahead(iter(range(1_000)))
    assert next(reader) == 0
    reader.close()
    assert threading.active_count() == before

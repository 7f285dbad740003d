"""Parquet, gzip-compressed CSV and .npy folders read as a CSV is; their bad input named in
one line; splits as views of one matrix in the model's dtype."""

import gzip

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nnx.data import MappedRows, load_data
from nnx.errors import NnxError

CONFIG = {"target": "label", "categorical": ["city"]}


def _columns(n=90, seed=0):
    rng = np.random.default_rng(seed)
    return {"temp": rng.normal(20, 5, n).round(3), "city": np.array(["oslo", "lima", "rome"])[
        np.arange(n) % 3], "rain": rng.integers(0, 9, n), "label": np.where(np.arange(n) % 2,
                                                                           "yes", "no")}


def _csv_text(columns):
    names = list(columns)
    rows = zip(*(columns[c] for c in names))
    return ",".join(names) + "\n" + "".join(",".join(str(v) for v in row) + "\n" for row in rows)


@pytest.fixture
def same_table(tmp_path):
    columns = _columns()
    csv_path = tmp_path / "t.csv"
    csv_path.write_text(_csv_text(columns))
    gz_path = tmp_path / "t.csv.gz"
    gz_path.write_bytes(gzip.compress(csv_path.read_bytes()))
    parquet_path = tmp_path / "t.parquet"
    pq.write_table(pa.table(columns), parquet_path)
    folder = tmp_path / "parts"
    folder.mkdir()
    table = pa.table(columns)
    pq.write_table(table.slice(0, 40), folder / "a.parquet")
    pq.write_table(table.slice(40), folder / "b.parquet")
    return csv_path, gz_path, parquet_path, folder


def test_parquet_gzip_and_a_parquet_folder_load_as_the_csv(same_table):
    loaded = [load_data({"path": str(p), **CONFIG}, 4) for p in same_table]
    reference = loaded[0]
    assert reference.preprocessing.feature_names == ["temp", "city=lima", "city=oslo",
                                                     "city=rome", "rain"]
    for other in loaded[1:3]:  # one first batch: the same shift, so the same float32 values
        assert other.preprocessing.to_dict() == reference.preprocessing.to_dict()
        for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
            np.testing.assert_array_equal(getattr(other, part), getattr(reference, part))
    folder = loaded[3]  # two files: another first batch, values equal to float32 rounding
    for part in ("y_train", "y_val", "y_test"):
        np.testing.assert_array_equal(getattr(folder, part), getattr(reference, part))
    for part in ("x_train", "x_val", "x_test"):
        np.testing.assert_allclose(getattr(folder, part), getattr(reference, part), atol=1e-6)


def test_splits_are_views_of_one_matrix_in_the_models_dtype(same_table):
    for dtype in ("float32", "float64"):
        s = load_data({"path": str(same_table[0]), **CONFIG}, 0, dtype)
        assert s.x_train.dtype == dtype and s.x_train.base is not None
        assert s.x_train.base is s.x_val.base is s.x_test.base
        # Rows in the matrix follow train, val, test: the splits are back to back.
        step = s.x_train.strides[0]
        assert s.x_val.__array_interface__["data"][0] == \
            s.x_train.__array_interface__["data"][0] + len(s.x_train) * step


def test_a_float64_model_reads_features_beyond_float32(write_csv):
    text = "a,b,target\n" + "".join(f"{i},{1e39 if i == 6 else i * 0.5},{i % 2}\n"
                                    for i in range(30))
    path = write_csv(text)
    with pytest.raises(NnxError, match=r"feature 'b' of data.csv holds 1e\+39 \(row 7\), beyond "
                                       r"the float32 range.*model.dtype: float64"):
        load_data({"path": str(path), "standardize": False}, 0)
    s = load_data({"path": str(path), "standardize": False}, 0, "float64")
    x = np.concatenate([s.x_train, s.x_val, s.x_test])
    assert x.dtype == np.float64 and x[:, 1].max() == 1e39


def test_values_far_from_zero_keep_their_precision_in_float32(write_csv):
    rng = np.random.default_rng(0)
    values = 1e6 + rng.normal(0, 3, 200)
    path = write_csv("a,target\n" + "".join(f"{float(v)!r},{i % 2}\n"
                                            for i, v in enumerate(values)))
    s = load_data({"path": str(path), "validation_split": 0, "test_split": 0}, 0)
    exact = (np.sort(values) - values.mean()) / values.std()
    np.testing.assert_allclose(np.sort(s.x_train[:, 0]), exact, atol=1e-6)


@pytest.mark.parametrize("columns, message", [
    ({"a": [1.0, None, 3.0, 4.0]}, r"t.parquet: column 'a', row 2: missing value \(null\)"),
    ({"a": [1.0, 2.0, float("nan"), 4.0]}, r"column 'a', row 3: 'nan' is not a finite value"),
    ({"a": ["1", "2", "x", "4"]}, r"column 'a', row 3: 'x' is not a number \(list the column "
                                  r"under data.categorical"),
    ({"a": [[1], [2], [3], [4]]}, r"column 'a' holds list<.*int64> values"),
    ({"a": [1.0, 2.0, 3.0, 4.0], "label": ["x", "", "x", "y"]},
     r"column 'label', row 2: empty cell"),
])
def test_bad_parquet_names_file_column_and_row(tmp_path, columns, message):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"label": ["x", "y", "x", "y"], **columns}), path)
    with pytest.raises(NnxError, match=message):
        load_data({"path": str(path), "target": "label"}, 0)


def test_a_file_that_is_not_what_its_suffix_says(tmp_path):
    fake = tmp_path / "t.parquet"
    fake.write_text("a,label\n1,x\n")
    with pytest.raises(NnxError, match="t.parquet: not a readable Parquet file"):
        load_data({"path": str(fake), "target": "label"}, 0)
    fake_gz = tmp_path / "t.csv.gz"
    fake_gz.write_text("a,label\n1,x\n")
    with pytest.raises(NnxError, match="t.csv.gz: cannot read: Not a gzipped file"):
        load_data({"path": str(fake_gz), "target": "label"}, 0)


def test_a_bad_line_deep_in_a_large_csv_is_named(write_csv):
    rows = [f"{i},{i % 7}.5,{i % 2}" for i in range(20_000)]
    rows[15_000] = "15000,,1"
    path = write_csv("a,b,target\n" + "\n".join(rows) + "\n")
    with pytest.raises(NnxError, match=r"column 'b', line 15002: empty cell"):
        load_data({"path": str(path)}, 0)


def _npy_folder(tmp_path, x, y):
    folder = tmp_path / "npy"
    folder.mkdir(exist_ok=True)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    return folder


def test_an_npy_folder_is_read_memory_mapped_and_standardized_from_training_rows(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(5, 2, (300, 4)).astype(np.float32)
    y = (x[:, 0] > 5).astype(np.int64)
    s = load_data({"path": str(_npy_folder(tmp_path, x, y))}, 2)
    assert isinstance(s.x_train, MappedRows) and s.task == "binary"
    assert isinstance(np.load(tmp_path / "npy" / "x.npy", mmap_mode="r"), np.memmap)
    rows = s.x_train.rows
    np.testing.assert_allclose(s.preprocessing.mean, x[rows].astype(np.float64).mean(axis=0))
    np.testing.assert_allclose(s.preprocessing.std, x[rows].astype(np.float64).std(axis=0))
    batch = s.x_train[np.array([3, 0, 7])]
    expected = (x[rows[[3, 0, 7]]] - s.preprocessing.mean) / s.preprocessing.std
    np.testing.assert_allclose(batch, expected.astype(np.float32), rtol=1e-6)
    np.testing.assert_array_equal(s.y_train[:, 0], y[rows])
    order = s.x_train.epoch_order(np.random.default_rng(0))
    assert sorted(order.tolist()) == list(range(len(s.x_train)))


def test_a_model_trains_and_evaluates_on_an_npy_folder(tmp_path):
    import nnx
    from nnx import layers

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    s = load_data({"path": str(_npy_folder(tmp_path, x, y))}, 0)
    model = nnx.Sequential([layers.Dense(8, activation="relu"),
                            layers.Dense(1, activation="sigmoid")], input_shape=(3,), seed=0)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(s.x_train, s.y_train, epochs=20, batch_size=32)
    scores = model.evaluate(s.x_test, s.y_test, batch_size=16)
    in_memory = model.evaluate(s.x_test[np.arange(len(s.x_test))], s.y_test)
    assert scores["accuracy"] > 0.9 and scores == pytest.approx(in_memory)
    assert model.predict(s.x_val).shape == (len(s.x_val), 1)


@pytest.mark.parametrize("x, y, message", [
    (np.array([object()] * 4), np.zeros(4), r"x.npy: holds Python objects"),
    (np.zeros((4, 2)), np.zeros(3), r"x.npy has 4 rows and y.npy 3"),
    (np.where(np.eye(4, 2) > 0, np.inf, 0.0), np.arange(4) % 2, r"x.npy: x\[0, 0\] is inf"),
    (np.full((4, 2), 1e39), np.arange(4) % 2, r"x\[0\] of .*x.npy holds 1e\+39 \(row 1\), "
                                              r"beyond the float32 range"),
])
def test_bad_npy_folders(tmp_path, x, y, message):
    folder = tmp_path / "npy"
    folder.mkdir()
    if x.dtype == object:
        np.save(folder / "x.npy", x, allow_pickle=True)
    else:
        np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    with pytest.raises(NnxError, match=message):
        load_data({"path": str(folder), "validation_split": 0, "test_split": 0}, 0)


def test_a_table_too_big_for_memory_is_refused_before_it_is_read(write_csv, monkeypatch):
    monkeypatch.setattr("nnx.memory.machine_memory", lambda: (1000, "this machine has 1000 B"))
    path = write_csv("a,b,target\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(1000)))
    with pytest.raises(NnxError, match=r"data.csv: its 1,000 rows of 2 features need 7.8 KiB as "
                                       r"float32; this machine has 1000 B. Save it as a folder "
                                       r"of .npy files"):
        load_data({"path": str(path)}, 0)

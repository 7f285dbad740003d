import csv
import io

import numpy as np
import pytest

from nnx.data import load_data
from nnx.errors import NnxError


def _table(n=60, seed=0):
    """CSV text: id, temp (numbers), city (categories), label (yes/no), grade (3/5/7)."""
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    out.write("id,temp,city,label,grade\n")
    cities = ["paris", "oslo", "lima"]
    for i in range(n):
        out.write(f"{i},{rng.normal(20, 5):.3f},{cities[i % 3]},{'yes' if i % 2 else 'no'},"
                  f"{[3, 5, 7][i % 3]}\n")
    return out.getvalue()


def _all_rows(s):
    x = np.concatenate([p for p in (s.x_train, s.x_val, s.x_test) if p is not None])
    return x[np.lexsort(x.T[::-1])]


def test_categorical_one_hot_in_sorted_vocabulary_order(write_csv):
    path = write_csv(_table())
    s = load_data({"path": str(path), "target": "label", "categorical": ["city"],
                   "validation_split": 0, "test_split": 0, "standardize": False}, 0)
    pre = s.preprocessing
    assert pre.columns == ["id", "temp", "city", "grade"]
    assert pre.categorical == {"city": ["lima", "oslo", "paris"]}
    assert pre.feature_names == ["id", "temp", "city=lima", "city=oslo", "city=paris", "grade"]
    assert s.input_shape == (6,) and s.name == "data.csv"
    row = s.x_train[s.x_train[:, 0] == 1][0]  # id 1 lives in oslo
    np.testing.assert_array_equal(row[2:5], [0, 1, 0])
    x = pre.transform_rows([{"id": 0, "temp": 1.0, "city": "rome", "grade": 3},
                            {"id": 0, "temp": 1.0, "city": "paris", "grade": 3}])
    np.testing.assert_array_equal(x[:, 2:5], [[0, 0, 0], [0, 0, 1]])


def test_one_hot_columns_are_not_standardized(write_csv):
    path = write_csv(_table())
    s = load_data({"path": str(path), "target": "label", "categorical": ["city"]}, 0)
    pre = s.preprocessing
    np.testing.assert_array_equal(pre.mean[2:5], 0)
    np.testing.assert_array_equal(pre.std[2:5], 1)
    assert set(np.unique(s.x_train[:, 2:5])) == {0.0, 1.0}
    np.testing.assert_allclose(s.x_train[:, [0, 1, 5]].mean(axis=0), 0, atol=1e-5)
    x = pre.transform_rows([{"id": 3, "temp": 20, "city": "rome", "grade": 5}])
    np.testing.assert_array_equal(x[0, 2:5], 0)  # unseen category: all zeros after scaling too


def test_vocabulary_comes_from_training_rows_only(write_csv):
    path = write_csv("a,city,target\n" + "".join(f"{i},{'x' if i < 9 else 'rare'},{i % 2}\n"
                                                  for i in range(10)))
    seen = set()
    for seed in range(10):
        s = load_data({"path": str(path), "categorical": ["city"], "validation_split": 0.5,
                       "test_split": 0, "standardize": False}, seed)
        vocabulary = tuple(s.preprocessing.categorical["city"])
        seen.add(vocabulary)
        assert s.input_shape == (1 + len(vocabulary),)
        assert ("rare" in vocabulary) == (9 in s.x_train[:, 0])
    assert seen == {("rare", "x"), ("x",)}


def test_string_labels_binary_and_decode_round_trip(write_csv):
    path = write_csv(_table())
    s = load_data({"path": str(path), "target": "label", "categorical": ["city"]}, 0)
    assert s.task == "binary" and s.n_classes == 2 and s.output_units == 1
    assert s.preprocessing.classes == ["no", "yes"]
    assert s.y_train.dtype == np.float32 and s.y_train.shape[1] == 1
    decoded = s.preprocessing.decode_predictions(np.array([[0.9], [0.2], [0.5]]))
    assert decoded == ["yes", "no", "no"]
    assert s.preprocessing.decode_predictions(s.y_val) == [
        "yes" if v else "no" for v in s.y_val[:, 0]]


def test_integer_labels_multiclass_keep_original_values(write_csv):
    path = write_csv(_table())
    s = load_data({"path": str(path), "target": "grade", "categorical": ["city", "label"]}, 0)
    assert s.task == "multiclass" and s.n_classes == 3 and s.output_units == 3
    assert s.preprocessing.classes == [3, 5, 7]
    assert s.y_train.dtype == np.int64 and set(s.y_train.tolist()) == {0, 1, 2}
    one_hot = np.eye(3)[s.y_test]
    decoded = s.preprocessing.decode_predictions(one_hot)
    assert decoded == [[3, 5, 7][i] for i in s.y_test]
    assert all(type(v) is int for v in decoded)


def test_transform_rows_on_raw_csv_equals_split_rows(write_csv):
    text = _table()
    path = write_csv(text)
    s = load_data({"path": str(path), "target": "label", "categorical": ["city"]}, 3)
    from_file = s.preprocessing.transform_rows(path)
    assert from_file.dtype == np.float32
    np.testing.assert_array_equal(_all_rows(s), from_file[np.lexsort(from_file.T[::-1])])
    dict_rows = list(csv.DictReader(io.StringIO(text)))
    np.testing.assert_array_equal(s.preprocessing.transform_rows(dict_rows), from_file)
    # A predict file needs only the feature columns, in any order.
    no_target = write_csv("grade,city,temp,id\n5,oslo,21.5,1\n", "predict.csv")
    expected = s.preprocessing.transform_rows([{"id": 1, "temp": 21.5, "city": "oslo", "grade": 5}])
    np.testing.assert_array_equal(s.preprocessing.transform_rows(no_target), expected)


@pytest.mark.parametrize("text, target, task, units", [
    ("a,target\n1,x\n2,y\n3,z\n4,x\n", "target", "multiclass", 3),
    ("a,target\n" + "".join(f"{i},{i % 2}.0\n" for i in range(8)), "target", "binary", 1),
    ("a,target\n" + "".join(f"{i},{i * 0.5}\n" for i in range(8)), "target", "regression", 1),
    ("a,target\n" + "".join(f"{i},{i}\n" for i in range(30)), "target", "regression", 1),
    ("a,target\n" + "".join(f"{i},{i % 20}\n" for i in range(40)), "target", "multiclass", 20),
    ("a,p,q\n" + "".join(f"{i},{i % 2},{i // 2 % 2}\n" for i in range(8)), ["p", "q"],
     "multilabel", 2),
    ("a,p,q\n" + "".join(f"{i},{i % 3},{i}\n" for i in range(8)), ["p", "q"], "regression", 2),
])
def test_task_inference(write_csv, text, target, task, units):
    s = load_data({"path": str(write_csv(text)), "target": target, "validation_split": 0,
                   "test_split": 0}, 0)
    assert (s.task, s.output_units) == (task, units)


def test_task_override(write_csv):
    path = write_csv("a,target\n" + "".join(f"{i},{i % 3}\n" for i in range(12)))
    s = load_data({"path": str(path), "task": "regression"}, 0)
    assert s.task == "regression" and s.y_train.dtype == np.float32 and s.n_classes is None
    with pytest.raises(NnxError, match="binary target needs exactly 2 distinct values.*3"):
        load_data({"path": str(path), "task": "binary"}, 0)
    words = write_csv("a,target\n1,x\n2,y\n", "words.csv")
    with pytest.raises(NnxError, match="regression target must be numeric.*'x'"):
        load_data({"path": str(words), "task": "regression", "validation_split": 0,
                   "test_split": 0}, 0)


@pytest.mark.parametrize("text, config, message", [
    ("a,b,labl\n1,2,3\n", {}, r"data.csv: target column 'target' not found; columns: a, b, "
                              r"labl"),
    ("a,b,labl\n1,2,3\n", {"target": "label"}, r"target column 'label' not found; columns: "
                                               r"a, b, labl \(did you mean 'labl'\?\)"),
    ("a,b,target\n1,2,3\n", {"categorical": ["c"]}, "categorical column 'c' not found"),
    ("a,b,target\n1,2,0\n1,oops,1\n", {}, r"data.csv: column 'b', line 3: 'oops' is not a number"),
    ("a,b,target\n1,2,0\n1,,1\n", {}, r"column 'b', line 3: empty cell"),
    ("a,b,target\n1,nan,0\n1,2,1\n", {}, r"column 'b', line 2: 'nan' is not a finite value"),
    ("a,b,target\n1,2,0\n-inf,2,1\n", {}, r"column 'a', line 3: '-inf' is not a finite value"),
    ("a,b,target\n1,2,0\n1,2,\n", {}, r"column 'target', line 3: empty cell"),
    ("a,b,target\n1,2,0\n1,2\n", {}, r"data.csv: line 3 has 2 fields, the header has 3"),
    ("", {}, r"data.csv: the file is empty"),
    ("a,b,target\n", {}, r"data.csv: only a header row, no data rows"),
    ("a,a,target\n1,2,3\n", {}, r"names column 'a' twice"),
    ("a,,target\n1,2,3\n", {}, r"empty column name \(column 2\)"),
    ("target\n1\n", {}, r"no feature columns"),
    ("a,target\n1,0\n2,0\n", {"validation_split": 0, "test_split": 0}, r"a single value"),
    ("a,target\n1,0\n", {"target": "target", "categorical": ["target"]},
     r"'target' is both a target and categorical"),
    ("a,target\n1,0\n", {"target": []}, r"data.target must be a column name or a non-empty list"),
    ("a,target\n1,0\n", {"categorical": "a"}, r"data.categorical must be a list of column names"),
])
def test_bad_csv_names_file_column_and_line(write_csv, text, config, message):
    path = write_csv(text)
    with pytest.raises(NnxError, match=message):
        load_data({"path": str(path), **config}, 0)


def test_bad_paths_name_the_path(tmp_path):
    for name, message in (("missing.csv", "does not exist"),
                          ("data.txt", "expected a .csv or .npz")):
        with pytest.raises(NnxError, match=f"data.path '.*{name}'.*{message}"):
            load_data({"path": str(tmp_path / name)}, 0)
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(NnxError, match="folder.csv' is a folder"):
        load_data({"path": str(tmp_path / "folder.csv")}, 0)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage\x80\x81")
    with pytest.raises(NnxError, match="binary.csv: not UTF-8 text"):
        load_data({"path": str(binary)}, 0)


def test_transform_rows_errors_name_row_and_column(write_csv):
    s = load_data({"path": str(write_csv(_table())), "target": "label",
                   "categorical": ["city"]}, 0)
    pre = s.preprocessing
    with pytest.raises(NnxError, match="row 1: missing column 'grade'"):
        pre.transform_rows([{"id": 1, "temp": 2, "city": "oslo", "grade": 3},
                            {"id": 1, "temp": 2, "city": "oslo"}])
    with pytest.raises(NnxError, match="rows: column 'temp', row 0: 'hot' is not a number"):
        pre.transform_rows([{"id": 1, "temp": "hot", "city": "oslo", "grade": 3}])
    bad = write_csv("id,temperature,city,grade\n1,2,oslo,3\n", "bad.csv")
    with pytest.raises(NnxError, match=r"bad.csv: feature column 'temp' not found.*did you "
                                       r"mean 'temperature'"):
        pre.transform_rows(bad)

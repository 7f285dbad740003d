import numpy as np
import pytest

from nnx.data import load_data
from nnx.errors import NnxError


def _save(tmp_path, name="d.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


def test_int_labels_are_classes_float_targets_regress(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 4))
    labels = np.arange(90) % 3
    s = load_data({"path": _save(tmp_path, x=x, y=labels)}, 0)
    assert (s.task, s.n_classes, s.output_units, s.name) == ("multiclass", 3, 3, "d.npz")
    assert s.preprocessing.columns == ["x0", "x1", "x2", "x3"]
    r = load_data({"path": _save(tmp_path, x=x, y=labels.astype(float))}, 0)
    assert r.task == "regression" and r.y_train.shape == (len(r.x_train), 1)
    c = load_data({"path": _save(tmp_path, x=x, y=labels.astype(float)), "task": "multiclass"}, 0)
    assert c.task == "multiclass" and c.preprocessing.classes == [0, 1, 2]
    b = load_data({"path": _save(tmp_path, x=x, y=labels % 2)}, 0)
    assert b.task == "binary" and b.y_train.dtype == np.float32
    t = load_data({"path": _save(tmp_path, x=x, y=np.array(["cat", "dog", "emu"])[labels])}, 0)
    assert t.task == "multiclass" and t.preprocessing.classes == ["cat", "dog", "emu"]
    m = load_data({"path": _save(tmp_path, x=x, y=rng.integers(0, 2, (90, 4)).astype(float))}, 0)
    assert m.task == "multilabel" and m.output_units == 4


def test_rank_gives_layout(tmp_path):
    rng = np.random.default_rng(0)
    seq = load_data({"path": _save(tmp_path, x=rng.normal(size=(40, 6, 3)),
                                   y=np.arange(40) % 2)}, 0)
    assert seq.input_shape == (6, 3) and seq.preprocessing.mean.shape == (3,)
    img = load_data({"path": _save(tmp_path, x=rng.normal(size=(40, 2, 4, 4)),
                                   y=np.arange(40) % 2)}, 0)
    assert img.input_shape == (2, 4, 4) and img.preprocessing.mean.shape == (2,)
    flat = load_data({"path": _save(tmp_path, x=rng.normal(size=40), y=rng.normal(size=40))}, 0)
    assert flat.input_shape == (1,)


def test_bad_npz(tmp_path):
    x = np.zeros((10, 2))
    cases = [
        ({"features": x, "y": np.zeros(10)}, "needs arrays 'x' and 'y'; found: features, y"),
        ({"x": x, "y": np.zeros(9)}, "x has 10 rows and y 9"),
        ({"x": np.where(np.eye(10, 2) > 0, np.nan, 1.0), "y": np.arange(10) % 2},
         r"x\[0, 0\] is nan"),
        ({"x": x, "y": np.full(10, np.inf)}, r"y\[0\] is inf"),
        ({"x": np.array(["a"] * 10), "y": np.zeros(10)}, "x must be a numeric array"),
        ({"x": x, "y": np.zeros((10, 2, 2))}, r"y must be \(N,\) or \(N, K\)"),
    ]
    for arrays, message in cases:
        with pytest.raises(NnxError, match=message):
            load_data({"path": _save(tmp_path, **arrays)}, 0)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(NnxError, match="garbage.npz: not a readable .npz file"):
        load_data({"path": str(garbage)}, 0)
    single = tmp_path / "single.npz"
    with open(single, "wb") as f:
        np.save(f, x)
    with pytest.raises(NnxError, match="single.npz: holds a single array"):
        load_data({"path": str(single)}, 0)
    with pytest.raises(NnxError, match="data.target applies to CSV files only"):
        load_data({"path": _save(tmp_path, x=x, y=np.arange(10) % 2), "target": "y"}, 0)


def test_value_beyond_float32_is_an_error(tmp_path):
    x = np.ones((10, 2))
    x[3, 1] = 1e300
    with pytest.raises(NnxError, match="beyond float32 range"):
        load_data({"path": _save(tmp_path, x=x, y=np.arange(10) % 2), "standardize": False}, 0)

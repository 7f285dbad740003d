import json

import numpy as np
import pytest

from nnx.data import Preprocessor, load_data
from nnx.errors import NnxError


def _round_trip(pre):
    return Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))


def test_json_round_trip_of_a_csv_preprocessor(write_csv):
    path = write_csv("size,color,target\n" + "".join(
        f"{i * 1.5},{['red', 'blue'][i % 2]},{['b', 'a', 'c'][i % 3]}\n" for i in range(30)))
    s = load_data({"path": str(path), "categorical": ["color"]}, 0)
    pre, back = s.preprocessing, _round_trip(s.preprocessing)
    assert back.to_dict() == pre.to_dict()
    assert back.classes == ["a", "b", "c"] and back.task == "multiclass"
    np.testing.assert_array_equal(back.transform_rows(path), pre.transform_rows(path))
    probabilities = np.random.default_rng(0).random((7, 3))
    assert back.decode_predictions(probabilities) == pre.decode_predictions(probabilities)


@pytest.mark.parametrize("name", ["digits_images", "signal", "noisy_sine_next", "multilabel"])
def test_builtin_preprocessor_reads_a_csv_of_raw_features_in_order(name, write_csv):
    raw = load_data({"dataset": name, "standardize": False}, 0)
    s = load_data({"dataset": name}, 0)
    pre = _round_trip(s.preprocessing)
    flat = raw.x_val.reshape(len(raw.x_val), -1)[:5]
    header = ",".join(f"f{i}" for i in range(flat.shape[1]))  # any names: read by position
    path = write_csv(header + "\n" + "\n".join(",".join(repr(float(v)) for v in row)
                                               for row in flat) + "\n")
    np.testing.assert_allclose(pre.transform_rows(path), s.x_val[:5], rtol=1e-5, atol=1e-6)
    rows = [{f"x{i}": v for i, v in enumerate(row)} for row in flat]
    np.testing.assert_allclose(pre.transform_rows(rows), s.x_val[:5], rtol=1e-5, atol=1e-6)


def test_decode_predictions_per_task():
    binary = load_data({"dataset": "moons"}, 0).preprocessing
    assert binary.decode_predictions(np.array([[0.2], [0.7]])) == [0, 1]
    multi = load_data({"dataset": "multilabel"}, 0).preprocessing
    assert multi.decode_predictions(np.array([[0.9, 0.1, 0.6, 0.4, 0.5]])) == [[1, 0, 1, 0, 0]]
    regression = load_data({"dataset": "sine"}, 0).preprocessing
    out = regression.decode_predictions(np.array([[0.25], [-1.5]], dtype=np.float32))
    assert out == [0.25, -1.5] and all(type(v) is float for v in out)
    iris = load_data({"dataset": "iris"}, 0).preprocessing
    with pytest.raises(NnxError, match="predictions have 2 columns; 3 classes need 3"):
        iris.decode_predictions(np.zeros((4, 2)))


def test_from_dict_rejects_a_damaged_document():
    with pytest.raises(NnxError, match="not a 'nnx.preprocessing/1' document"):
        Preprocessor.from_dict({"task": "binary"})
    with pytest.raises(NnxError, match="preprocessing: damaged"):
        Preprocessor.from_dict({"format": "nnx.preprocessing/1", "task": "binary"})

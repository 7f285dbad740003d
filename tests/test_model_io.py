"""The model file: round trip, layout (keys, JSON header, no pickle), and damaged files."""

import json
import zipfile

import numpy as np
import pytest

import nnx
from nnx import NnxError, layers, optimizers

X = np.random.default_rng(0).standard_normal((10, 2, 3))
PREPROCESSING = {"columns": ["a", "b"], "mean": [0.5, -1.25], "std": [2.0, 1e-3],
                 "classes": ["cat", "dog", "émeu"], "one_hot": {"color": ["red", "blue"]}}


def trained_model(dtype="float32"):
    model = nnx.Sequential([
        layers.Flatten(),
        layers.Dense(5, activation="gelu", init="he_normal", kernel_regularizer="l2"),
        layers.Dropout(0.25),
        layers.Dense(4, activation="tanh", use_bias=False, name="hidden"),
        layers.Dense(3, activation="softmax"),
    ], input_shape=(2, 3), seed=7, dtype=dtype)
    model.compile(optimizer=optimizers.AdamW(lr=0.01, weight_decay=0.05, clipnorm=1.0),
                  loss="categorical_crossentropy", metrics=["accuracy", "subset_accuracy"])
    model.fit(X, np.arange(10) % 3, epochs=2, batch_size=4)
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_predictions_config_and_preprocessing(tmp_path, dtype):
    model = trained_model(dtype)
    path = tmp_path / "m.npz"
    model.save(path, preprocessing=PREPROCESSING)
    loaded = nnx.load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.get_config() == model.get_config()
    assert loaded.optimizer.get_config() == {"type": "adamw", "lr": 0.01, "beta1": 0.9,
                                             "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.05,
                                             "clipnorm": 1.0, "clipvalue": None}
    assert loaded.loss.get_config() == {"type": "categorical_crossentropy", "from_logits": False}
    assert loaded.metric_names == ["accuracy", "subset_accuracy"]
    assert loaded.evaluate(X, np.arange(10) % 3) == model.evaluate(X, np.arange(10) % 3)
    assert loaded.preprocessing == PREPROCESSING
    assert all(p.dtype == np.dtype(dtype) for p in loaded.parameters())
    assert loaded.layers[3].name == "hidden" and loaded.layers[1].regularizer.l2 == 0.01
    loaded.fit(X, np.arange(10) % 3, epochs=1)  # compiled as saved: it trains on


def test_file_layout(tmp_path):
    model = trained_model()
    path = tmp_path / "m.npz"
    model.save(path, preprocessing={"classes": [0, 1, 2]})
    with np.load(path, allow_pickle=False) as data:
        files = set(data.files)
        meta = json.loads(data["__nnx__"].tobytes().decode("utf-8"))
        assert data["__nnx__"].dtype == np.uint8
        np.testing.assert_array_equal(data["layers/1.dense/W"], model.layers[1].params["W"])
    assert files == {"__nnx__", "layers/1.dense/W", "layers/1.dense/b", "layers/3.hidden/W",
                     "layers/4.dense/W", "layers/4.dense/b"}
    assert meta["format"] == "nnx.model/1"
    assert meta["model"] == json.loads(json.dumps(model.get_config()))
    assert meta["preprocessing"] == {"classes": [0, 1, 2]}
    assert [l["type"] for l in meta["model"]["layers"]] == ["flatten", "dense", "dropout", "dense",
                                                            "dense"]


def test_save_leaves_no_temporary_files(tmp_path):
    trained_model().save(tmp_path / "m.npz")
    trained_model().save(tmp_path / "m.npz")  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_uncompiled_model_round_trips_and_unbuilt_is_refused(tmp_path):
    model = nnx.Sequential([layers.Dense(2)], input_shape=(3,), seed=1)
    model.save(tmp_path / "m.npz")
    loaded = nnx.load_model(tmp_path / "m.npz")
    assert loaded.optimizer is None and loaded.preprocessing is None
    np.testing.assert_array_equal(loaded.predict(np.ones((1, 3))), model.predict(np.ones((1, 3))))
    with pytest.raises(NnxError, match="not built"):
        nnx.Sequential([layers.Dense(2)]).save(tmp_path / "n.npz")


def saved(tmp_path):
    path = tmp_path / "m.npz"
    trained_model().save(path)
    return path


def rewrite(path, change):
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    np.savez(path, **arrays)


def test_truncated_file(tmp_path):
    path = saved(tmp_path)
    raw = path.read_bytes()
    for size in (len(raw) // 2, 10, 0):
        path.write_bytes(raw[:size])
        with pytest.raises(NnxError) as err:
            nnx.load_model(path)
        assert "is not a readable model file" in str(err.value)


def test_npz_without_header(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.ones(3))
    with pytest.raises(NnxError) as err:
        nnx.load_model(path)
    assert "is not an nnx model file (no __nnx__ entry)" in str(err.value)


def test_wrong_format_string(tmp_path):
    path = saved(tmp_path)

    def change(arrays):
        meta = json.loads(arrays["__nnx__"].tobytes())
        meta["format"] = "nnx.model/9"
        arrays["__nnx__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)

    rewrite(path, change)
    with pytest.raises(NnxError) as err:
        nnx.load_model(path)
    assert "has format 'nnx.model/9', nnx reads 'nnx.model/1'" in str(err.value)


def test_header_that_is_not_json(tmp_path):
    path = saved(tmp_path)
    rewrite(path, lambda a: a.update({"__nnx__": np.frombuffer(b"{not json", dtype=np.uint8)}))
    with pytest.raises(NnxError, match="damaged __nnx__ entry"):
        nnx.load_model(path)


def test_missing_array(tmp_path):
    path = saved(tmp_path)
    rewrite(path, lambda arrays: arrays.pop("layers/3.hidden/W"))
    with pytest.raises(NnxError) as err:
        nnx.load_model(path)
    assert "lacks the array 'layers/3.hidden/W'" in str(err.value)


def test_array_of_the_wrong_shape(tmp_path):
    path = saved(tmp_path)
    rewrite(path, lambda arrays: arrays.update({"layers/4.dense/b": np.zeros(7, np.float32)}))
    with pytest.raises(NnxError) as err:
        nnx.load_model(path)
    assert "layers/4.dense/b has shape (7,), the layer needs (3,)" in str(err.value)


def test_extra_array(tmp_path):
    path = saved(tmp_path)
    rewrite(path, lambda arrays: arrays.update({"layers/9.dense/W": np.zeros(2)}))
    with pytest.raises(NnxError, match="holds arrays no layer uses: layers/9.dense/W"):
        nnx.load_model(path)


def test_missing_file(tmp_path):
    with pytest.raises(NnxError, match="does not exist"):
        nnx.load_model(tmp_path / "nope.npz")


def test_pickled_object_array_is_refused(tmp_path):
    path = saved(tmp_path)
    rewrite(path, lambda arrays: arrays.update({"layers/1.dense/W": np.array([{"a": 1}],
                                                                            dtype=object)}))
    with pytest.raises(NnxError, match="is not a readable model file"):
        nnx.load_model(path)


def test_not_a_zip_at_all(tmp_path):
    path = tmp_path / "m.npz"
    path.write_text("hello")
    with pytest.raises(NnxError, match="is not a readable model file"):
        nnx.load_model(path)
    assert not zipfile.is_zipfile(path)

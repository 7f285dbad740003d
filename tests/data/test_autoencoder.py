"""`data: {autoencoder: true}`: a regression whose targets are the features themselves."""

import numpy as np
import pytest

from nnx.config import resolve_config
from nnx.data import check_data_config, load_data
from nnx.errors import NnxError


def test_targets_are_the_unstandardized_features():
    s = load_data({"dataset": "digits", "autoencoder": True}, 0)
    assert (s.task, s.n_classes, s.output_units, s.input_shape) == ("regression", None, 64, (64,))
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (1079, 359, 359)
    pre = s.preprocessing
    assert pre.mean is not None and pre.targets == [f"x{i}" for i in range(64)]
    for x, y in ((s.x_train, s.y_train), (s.x_val, s.y_val), (s.x_test, s.y_test)):
        assert y.dtype == np.float32 and y.shape == (len(x), 64)
        np.testing.assert_allclose(x * pre.std + pre.mean, y, atol=1e-4)  # raw pixels
    assert s.y_train.min() == 0.0 and s.y_train.max() == 16.0


def test_without_standardization_targets_equal_inputs():
    s = load_data({"dataset": "digits", "autoencoder": True, "standardize": False}, 3)
    np.testing.assert_array_equal(s.x_test, s.y_test)


def test_images_give_flattened_targets():
    s = load_data({"dataset": "digits_images", "autoencoder": True, "standardize": False}, 0)
    assert s.input_shape == (1, 8, 8) and s.output_units == 64
    np.testing.assert_array_equal(s.x_train.reshape(len(s.x_train), -1), s.y_train)


def test_the_split_is_seeded_and_the_same_as_without_the_option_for_a_regression():
    a, b = (load_data({"dataset": "sine", "autoencoder": True}, 7) for _ in range(2))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    plain = load_data({"dataset": "sine"}, 7)
    np.testing.assert_array_equal(a.x_test, plain.x_test)
    np.testing.assert_allclose(a.y_test[:, 0], plain.x_test[:, 0] * a.preprocessing.std[0]
                               + a.preprocessing.mean[0], atol=1e-5)


def test_csv_features_with_a_categorical_column(write_csv):
    path = write_csv("a,color,target\n1.5,red,0\n2.5,blue,1\n3.5,red,0\n4.5,blue,1\n")
    s = load_data({"path": str(path), "categorical": ["color"], "autoencoder": True,
                   "standardize": False, "validation_split": 0, "test_split": 0}, 0)
    assert s.preprocessing.targets == ["a", "color=blue", "color=red"]
    np.testing.assert_array_equal(s.x_train, s.y_train)
    assert sorted(s.y_train[:, 0]) == [1.5, 2.5, 3.5, 4.5]


def test_default_off_and_resolved_config_keeps_the_key_only_when_set():
    assert check_data_config({"dataset": "digits"})["autoencoder"] is False
    base = {"name": "x", "model": {"layers": [{"type": "dense", "units": 64}]},
            "train": {"loss": "mse"}}
    assert "autoencoder" not in resolve_config({**base, "data": {"dataset": "digits"}})["data"]
    resolved = resolve_config({**base, "data": {"dataset": "digits", "autoencoder": True}})
    assert resolved["data"]["autoencoder"] is True


@pytest.mark.parametrize("config, message", [
    ({"dataset": "digits", "autoencoder": "yes"}, "data.autoencoder must be true or false"),
    ({"dataset": "digits", "autoencoder": True, "task": "multiclass"},
     "data.task: an autoencoder reconstructs its inputs"),
])
def test_bad_autoencoder_settings(config, message):
    with pytest.raises(NnxError, match=message):
        load_data(config, 0)

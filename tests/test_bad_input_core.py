"""Bad input to the core API: each case raises NnxError with a message that says what was
wrong (and, for names, lists the known ones with the closest match)."""

import numpy as np
import pytest
from errors_helper import raises

import nnx
from nnx import layers, optimizers

X = np.random.default_rng(0).standard_normal((8, 4))
Y = np.random.default_rng(1).standard_normal((8, 2))


def regression_model(**compile_kw):
    model = nnx.Sequential([layers.Dense(3, activation="relu"), layers.Dense(2)],
                           input_shape=(4,), seed=0)
    model.compile(**{"optimizer": "sgd", "loss": "mse", **compile_kw})
    return model


def classifier():
    model = nnx.Sequential([layers.Dense(3, activation="softmax")], input_shape=(4,), seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def test_wrong_input_shape_to_fit():
    raises(lambda: regression_model().fit(np.ones((8, 5)), Y),
           "the model expects inputs of shape (batch, 4), got (8, 5)")


def test_wrong_input_shape_to_predict():
    raises(lambda: regression_model().predict(np.ones((3, 2, 2))),
           "the model expects inputs of shape (batch, 4), got (3, 2, 2)")


def test_train_step_checks_its_batch_like_fit():
    raises(lambda: regression_model().train_step(np.ones((8, 5)), Y),
           "the model expects inputs of shape (batch, 4), got (8, 5)")
    raises(lambda: classifier().train_step(X, np.arange(8)), "class labels must be in 0..2")
    model = nnx.Sequential([layers.Dense(3)], input_shape=(4,), seed=0)
    raises(lambda: model.train_step(X, Y), "compile the model before train_step")


def test_train_step_converts_a_float64_batch_for_a_float32_model():
    a, b = classifier(), classifier()
    labels = np.arange(8) % 3
    loss64, out64 = a.train_step(X, labels)  # X is float64; the model computes in float32
    loss32, out32 = b.train_step(X.astype(np.float32), labels)
    assert out64.dtype == np.float32
    np.testing.assert_array_equal(out64, out32)
    assert loss64 == loss32


def test_input_without_batch_axis():
    raises(lambda: regression_model().predict(np.ones(4)), "inputs must have a batch axis")


def test_non_numeric_input():
    raises(lambda: regression_model().predict(np.array([["a", "b", "c", "d"]])),
           "inputs must be numeric")


def test_unknown_activation_names_closest():
    message = raises(lambda: layers.Dense(3, activation="rleu"), "unknown activation 'rleu'",
                     "did you mean 'relu'")
    for name in ("linear", "sigmoid", "relu", "leaky_relu", "elu", "gelu", "tanh", "softmax"):
        assert name in message


def test_unknown_initializer():
    raises(lambda: layers.Dense(3, init="he_norml"), "unknown initializer 'he_norml'",
           "glorot_uniform", "did you mean 'he_normal'")


def test_unknown_loss():
    raises(lambda: regression_model(loss="mse_loss"), "unknown loss 'mse_loss'", "huber",
           "did you mean 'mse'")


def test_unknown_optimizer():
    raises(lambda: regression_model(optimizer="adamm"), "unknown optimizer 'adamm'", "rmsprop",
           "did you mean 'adam'")


def test_unknown_metric():
    raises(lambda: regression_model(metrics=["acuracy"]), "unknown metric 'acuracy'", "r2",
           "did you mean 'accuracy'")


def test_unknown_layer_type():
    raises(lambda: nnx.Sequential([{"type": "dens", "units": 3}]), "unknown layer type 'dens'",
           "did you mean 'dense'")


def test_non_finite_inputs():
    x = X.copy()
    x[2, 1] = np.nan
    raises(lambda: regression_model().fit(x, Y), "inputs contain NaN or infinite values")
    x[2, 1] = np.inf
    raises(lambda: regression_model().predict(x), "inputs contain NaN or infinite values")
    huge = np.full((1 << 18, 4), np.finfo(np.float32).max, dtype=np.float32)
    regression_model().predict(huge[:8])
    regression_model().predict(huge, batch_size=1 << 18)  # finite, though their sum overflows
    huge[-1, 3] = -np.inf
    raises(lambda: regression_model().predict(huge), "inputs contain NaN or infinite values")


def test_non_finite_targets():
    y = Y.copy()
    y[0, 0] = np.inf
    raises(lambda: regression_model().fit(X, y), "targets contain NaN or infinite values")
    raises(lambda: regression_model().evaluate(X, y), "targets contain NaN or infinite values")


def test_labels_out_of_range_for_categorical_crossentropy():
    raises(lambda: classifier().fit(X, np.array([0, 1, 2, 3, 0, 1, 2, 0])),
           "class labels must be in 0..2 for an output of 3 units, found 0..3")
    raises(lambda: classifier().fit(X, np.array([0, 1, 2, -1, 0, 1, 2, 0])),
           "class labels must be in 0..2", "found -1..2")


def test_fractional_labels():
    raises(lambda: classifier().fit(X, np.full(8, 0.5)), "class labels must be integers")


def test_targets_of_the_wrong_shape():
    raises(lambda: regression_model().fit(X, np.ones((8, 3))),
           "targets of shape (8, 3) do not match the model output (batch, 2)")
    raises(lambda: classifier().fit(X, np.ones((8, 2))),
           "targets of shape (8, 2) do not match the model output (batch, 3)")


def test_targets_and_inputs_of_different_lengths():
    raises(lambda: regression_model().fit(X, Y[:5]), "inputs have 8 samples but targets have 5")


def test_binary_targets_outside_unit_interval():
    model = nnx.Sequential([layers.Dense(1, activation="sigmoid")], input_shape=(4,))
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    raises(lambda: model.fit(X, np.full((8, 1), 2.0)),
           "binary_crossentropy targets must be in [0, 1]")


@pytest.mark.parametrize("units", [0, -4])
def test_non_positive_units(units):
    raises(lambda: layers.Dense(units), f"dense: units must be a positive integer, got {units}")


def test_dropout_rate_above_one():
    raises(lambda: layers.Dropout(1.5), "dropout: rate must be a number in [0, 1), got 1.5")


def test_learning_rate_not_a_number():
    raises(lambda: optimizers.SGD(lr="fast"), "sgd: lr must be a number >= 0, got 'fast'")
    raises(lambda: regression_model(optimizer={"type": "adam", "lr": "fast"}),
           "adam: lr must be a number >= 0, got 'fast'")


def test_negative_learning_rate():
    raises(lambda: optimizers.Adam(lr=-0.001), "adam: lr must be a number >= 0, got -0.001")


def test_fit_before_compile():
    model = nnx.Sequential([layers.Dense(2)], input_shape=(4,))
    raises(lambda: model.fit(X, Y), "compile the model before fit")
    raises(lambda: model.evaluate(X, Y), "compile the model before evaluate")


def test_empty_model():
    raises(lambda: nnx.Sequential([], input_shape=(4,)), "the model has no layers")
    model = nnx.Sequential([])
    model.compile(optimizer="sgd", loss="mse")
    raises(lambda: model.fit(X, Y), "the model has no layers")


def test_not_a_layer():
    raises(lambda: nnx.Sequential([layers.Dense(2), "dense"]), "model layer 1 is not a layer")


def test_bad_model_arguments():
    raises(lambda: nnx.Sequential([layers.Dense(2)], dtype="float16"),
           "dtype must be one of float32, float64, got 'float16'")
    raises(lambda: nnx.Sequential([layers.Dense(2)], seed=-1), "seed must be an integer >= 0")
    raises(lambda: regression_model().fit(X, Y, batch_size=0),
           "fit: batch_size must be a positive integer, got 0")
    raises(lambda: regression_model().fit(X, Y, epochs=-1), "epochs must be an integer >= 0")
    raises(lambda: regression_model().fit(X, Y, validation_split=1.5),
           "validation_split must be in (0, 1), got 1.5")
    raises(lambda: regression_model().fit(X, Y, validation_split=0.01), "leaves an empty split")


def test_layer_that_does_not_fit_its_input_names_the_layer():
    raises(lambda: nnx.Sequential([layers.Dense(2)], input_shape=(2, 3)),
           "layer 0 (dense):", "put a flatten layer before it")

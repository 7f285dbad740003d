"""Each diagnostics flag provoked on purpose, and a healthy network that raises none."""

import numpy as np
import pytest

import nnx
from nnx import layers, optimizers
from nnx.diagnostics import Diagnostics, confusion_matrix


def _classification(n=200, features=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features))
    w = rng.standard_normal((features, classes))
    return x, (x @ w).argmax(axis=1)


def _fit(model, x, y, epochs, level="basic", **kwargs):
    diagnostics = Diagnostics(level)
    history = model.fit(x, y, epochs=epochs, callbacks=[diagnostics], **kwargs)
    return diagnostics.result(), history


def _flags(result):
    return {(f["flag"], f["layer"]) for f in result["flags"]}


def test_dead_relu_units_are_flagged_and_counted():
    x, y = _classification()
    model = nnx.Sequential([
        layers.Dense(16, activation="relu", bias_init={"type": "constant", "value": -20.0}),
        layers.Dense(3, activation="softmax")], input_shape=(8,), seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    result, _ = _fit(model, x, y, epochs=2)
    assert result["per_epoch"]["0.dense"]["dead_fraction"] == [1.0, 1.0]
    assert ("dead_units", "0.dense") in _flags(result)
    # A dead layer passes no gradient to its weights.
    assert result["per_epoch"]["0.dense"]["grad_norm"] == [0.0, 0.0]


def test_dead_fraction_counts_units_that_never_fired():
    x, y = _classification()
    model = nnx.Sequential([layers.Dense(4, activation="relu"), layers.Dense(3)],
                           input_shape=(8,), seed=0)
    model.compile(optimizer=optimizers.SGD(lr=0.0), loss="mse")
    layer = model.layers[0]
    layer.params["W"][:, :2] = 0.0  # two units output relu(0 + b) = 0 for every sample
    layer.params["b"][:] = [0.0, 0.0, 100.0, 100.0]
    result, _ = _fit(model, x, np.eye(3)[y], epochs=1)
    assert result["per_epoch"]["0.dense"]["dead_fraction"] == [0.5]
    assert ("dead_units", "0.dense") not in _flags(result)  # 50 % is not more than 50 %


def test_deep_sigmoid_stack_has_vanishing_gradients():
    x, y = _classification()
    stack = [layers.Dense(16, activation="sigmoid", init={"type": "random_normal", "stddev": 0.1})
             for _ in range(8)]
    model = nnx.Sequential([*stack, layers.Dense(3, activation="softmax")], input_shape=(8,),
                           seed=0)
    model.compile(optimizer=optimizers.SGD(lr=0.01), loss="categorical_crossentropy")
    result, _ = _fit(model, x, y, epochs=2)
    assert ("vanishing_gradient", "0.dense") in _flags(result)
    first = result["per_epoch"]["0.dense"]["grad_norm"][-1]
    last = result["per_epoch"]["8.dense"]["grad_norm"][-1]
    assert first < 1e-3 * last


def test_exploding_learning_rate_flags_exploding_gradient_and_divergence():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)) * 10
    y = x @ rng.standard_normal((4, 1))
    model = nnx.Sequential([layers.Dense(8), layers.Dense(1)], input_shape=(4,), seed=0)
    model.compile(optimizer=optimizers.SGD(lr=0.05), loss="mse")
    result, history = _fit(model, x, y, epochs=30, batch_size=16)
    flags = {f["flag"] for f in result["flags"]}
    assert "exploding_gradient" in flags
    assert history.status == "diverged" and "diverged" in flags
    assert all(np.isfinite(p).all() for p in model.parameters())


def test_tiny_training_set_overfits():
    rng = np.random.default_rng(1)
    x_train, y_train = rng.standard_normal((12, 20)), rng.integers(0, 2, 12)
    x_val, y_val = rng.standard_normal((200, 20)), rng.integers(0, 2, 200)
    model = nnx.Sequential([layers.Dense(128, activation="relu"),
                            layers.Dense(2, activation="softmax")], input_shape=(20,), seed=0)
    model.compile(optimizer=optimizers.Adam(lr=0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    result, history = _fit(model, x_train, y_train, epochs=60, batch_size=12,
                           validation_data=(x_val, y_val))
    overfit = [f for f in result["flags"] if f["flag"] == "overfitting"]
    assert overfit, history.history["val_loss"]
    epoch = overfit[0]["epoch"] - 1
    assert history.history["accuracy"][epoch] - history.history["val_accuracy"][epoch] > 0.05
    val_loss = history.history["val_loss"][epoch - 3:epoch + 1]
    assert all(b > a for a, b in zip(val_loss, val_loss[1:]))


def test_healthy_digits_mlp_raises_no_flag():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data - digits.data.mean(axis=0)) / (digits.data.std(axis=0) + 1e-8)
    order = np.random.default_rng(0).permutation(len(x))
    x, labels = x[order], digits.target[order]
    model = nnx.Sequential([layers.Dense(64, activation="relu", init="he_normal"),
                            layers.Dense(10, activation="softmax")], input_shape=(64,), seed=0)
    model.compile(optimizer=optimizers.Adam(lr=1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    result, history = _fit(model, x[:1400], labels[:1400], epochs=10,
                           validation_data=(x[1400:], labels[1400:]))
    assert result["flags"] == []
    assert history.history["val_accuracy"][-1] > 0.93


def test_figures_match_a_direct_computation_for_one_sgd_step():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((10, 3)), rng.standard_normal((10, 2))
    model = nnx.Sequential([layers.Dense(2)], input_shape=(3,), seed=0, dtype="float64")
    model.compile(optimizer=optimizers.SGD(lr=0.1), loss="mse")
    before = [p.copy() for p in model.parameters()]
    result, _ = _fit(model, x, y, epochs=1, level="full", batch_size=None)
    grads = [(b - a) / 0.1 for b, a in zip(before, model.parameters())]
    record = result["per_epoch"]["0.dense"]
    assert record["grad_norm.W"][0] == pytest.approx(np.linalg.norm(grads[0]), rel=1e-9)
    assert record["grad_norm"][0] == pytest.approx(
        np.sqrt(sum(np.sum(g * g) for g in grads)), rel=1e-9)
    after = model.parameters()
    assert record["weight_norm.b"][0] == pytest.approx(np.linalg.norm(after[1]), rel=1e-9)
    assert record["update_ratio.W"][0] == pytest.approx(
        np.linalg.norm(after[0] - before[0]) / np.linalg.norm(after[0]), rel=1e-9)


def test_confusion_matrix_rows_are_true_classes():
    pred = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    assert confusion_matrix(pred, np.array([0, 0, 1]), 2) == [[1, 1], [1, 0]]
    assert confusion_matrix(np.array([[0.9], [0.2]]), np.array([[1.0], [1.0]]), 2) == [[0, 0],
                                                                                      [1, 1]]


def test_off_level_is_rejected_by_name_check():
    with pytest.raises(nnx.NnxError, match="diagnostics must be one of"):
        Diagnostics("verbose")


def test_relu_layers_without_a_readable_output_are_not_watched():
    """A transformer block's relu feed-forward and a relu SimpleRNN report no dead units,
    and training them with diagnostics on works."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 5, 4)), rng.integers(0, 2, 32)
    model = nnx.Sequential([layers.TransformerEncoderBlock(2, 8), layers.SimpleRNN(3, "relu"),
                            layers.Dense(2, activation="softmax")], input_shape=(5, 4), seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    result, history = _fit(model, x, y, epochs=2)
    assert history.status == "completed"
    assert all("dead_fraction" not in record for record in result["per_epoch"].values())


def test_dead_filters_of_a_convolution_are_counted():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 1, 6, 6)), rng.integers(0, 2, 16)
    model = nnx.Sequential([
        layers.Conv2D(4, 3, activation="relu", bias_init={"type": "constant", "value": -50.0}),
        layers.Flatten(), layers.Dense(2, activation="softmax")], input_shape=(1, 6, 6), seed=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    result, _ = _fit(model, x, y, epochs=1)
    assert result["per_epoch"]["0.conv2d"]["dead_fraction"] == [1.0]
    assert ("dead_units", "0.conv2d") in _flags(result)


def test_the_optimizer_collects_figures_only_while_diagnostics_watch():
    """Diagnostics are opt-in: a fit without them leaves the optimizer collecting nothing
    (its steps do no work for figures), and a fit with them switches collecting off at the
    end."""
    x, y = _classification()
    model = nnx.Sequential([layers.Dense(4, activation="relu"), layers.Dense(3)],
                           input_shape=(8,), seed=0)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.eye(3)[y], epochs=1)
    with pytest.raises(nnx.NnxError, match="take_stats needs collect_stats"):
        model.optimizer.take_stats()
    result, _ = _fit(model, x, np.eye(3)[y], epochs=2)
    assert len(result["per_epoch"]["0.dense"]["grad_norm"]) == 2
    assert result["per_epoch"]["0.dense"]["grad_norm"][0] > 0
    with pytest.raises(nnx.NnxError, match="take_stats needs collect_stats"):
        model.optimizer.take_stats()


def test_collected_figures_start_from_zero_and_follow_the_steps():
    rng = np.random.default_rng(5)
    param = rng.standard_normal(6)
    grad = rng.standard_normal(6)
    optimizer = optimizers.SGD(lr=0.5)
    optimizer.step([param], [grad])  # not collecting: nothing counted
    optimizer.collect_stats()
    for _ in range(2):
        before = param.copy()
        optimizer.step([param], [grad])
    (grad_norm, ratio, weight_norm), = optimizer.take_stats()
    assert grad_norm == pytest.approx(np.linalg.norm(grad), rel=1e-12)  # mean over 2 steps
    assert weight_norm == pytest.approx(np.linalg.norm(param), rel=1e-12)
    last_ratio = np.linalg.norm(param - before) / np.linalg.norm(param)
    assert 0 < ratio and ratio != pytest.approx(last_ratio)  # a mean, not the last one
    (grad_norm, ratio, weight_norm), = optimizer.take_stats()  # no step since: no means
    assert (grad_norm, ratio) == (0.0, 0.0)
    assert weight_norm == pytest.approx(np.linalg.norm(param), rel=1e-12)


# Unit 0 computes x0 - x1, unit 1 -x0 - x1, unit 2 x1 - x0: on the samples (1, 0) and (0, 1)
# units 0 and 2 fire, unit 1 never does.
MIXING = np.array([[1.0, -1.0, -1.0], [-1.0, -1.0, 1.0]])


@pytest.mark.parametrize("layer,x,W", [
    (layers.Dense(3, activation="relu"), np.eye(2), MIXING),
    (layers.Conv1D(3, 1, activation="relu"), np.eye(2)[:, :, None], MIXING.T[:, :, None]),
], ids=["dense", "conv1d"])
def test_layers_report_the_units_that_fired_in_their_last_training_forward(layer, x, W):
    layer.dtype = np.dtype("float64")
    layer.build(x.shape[1:])
    layer.params["W"][...] = W
    layer.forward(x, training=True)
    fired = np.zeros(3, dtype=bool)
    assert not layer.mark_fired_units(fired)  # not all of them fired
    np.testing.assert_array_equal(fired, [True, False, True])
    layer.forward(-x, training=True)  # now unit 1 fires too; the earlier marks stay
    assert layer.mark_fired_units(fired)
    np.testing.assert_array_equal(fired, [True, True, True])

"""Callbacks: early stopping (patience, restoring the best weights), the divergence guard,
model checkpoints, lambda hooks."""

import math

import numpy as np
import pytest

import nnx
from nnx import NnxError, callbacks, layers, optimizers

RNG = np.random.default_rng(0)
X = RNG.standard_normal((20, 4))
Y = X[:, :1] + RNG.standard_normal((20, 1))
XV = RNG.standard_normal((20, 4))
YV = XV[:, :1] + RNG.standard_normal((20, 1))


def overfitting_model(lr=0.003):
    """Full-batch Adam on 20 noisy rows: val_loss falls until epoch 10, then rises."""
    model = nnx.Sequential([layers.Dense(32, activation="tanh"), layers.Dense(1)],
                           input_shape=(4,), seed=0, dtype="float64")
    model.compile(optimizer=optimizers.Adam(lr=lr), loss="mse")
    return model


def weight_recorder(model, store):
    return callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: store.append(
        model.get_weights()))


def assert_weights_equal(model, weights):
    for layer, arrays in zip(model.layers, weights, strict=True):
        for key, value in arrays.items():
            np.testing.assert_array_equal(layer.params[key], value)


@pytest.mark.parametrize("patience", [0, 3, 5])
def test_early_stopping_stops_after_patience_and_restores_best(patience):
    model = overfitting_model()
    seen = []
    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=patience)
    hist = model.fit(X, Y, epochs=40, batch_size=None, validation_data=(XV, YV),
                     callbacks=[stopper, weight_recorder(model, seen)])
    val = hist.history["val_loss"]
    best = int(np.argmin(val))
    assert best == 10 and stopper.best_epoch == best and stopper.best == val[best]
    # `patience` epochs without improvement are allowed; the next one stops (Keras' rule)
    assert len(val) == best + 1 + max(patience, 1)
    assert all(v > val[best] for v in val[best + 1:])
    assert "early stopping" in hist.stop_reason and hist.status == "completed"
    assert_weights_equal(model, seen[best])
    assert model.evaluate(XV, YV)["loss"] == pytest.approx(val[best], rel=1e-12)


def test_early_stopping_without_restore_keeps_the_last_weights():
    model = overfitting_model()
    seen = []
    model.fit(X, Y, epochs=40, batch_size=None, validation_data=(XV, YV), callbacks=[
        callbacks.EarlyStopping(patience=2, restore_best_weights=False),
        weight_recorder(model, seen)])
    assert len(seen) == 13
    assert_weights_equal(model, seen[-1])


def test_early_stopping_on_accuracy_maximizes():
    stopper = callbacks.EarlyStopping(monitor="val_accuracy")
    assert stopper.mode == "max"
    assert callbacks.EarlyStopping(monitor="val_mae").mode == "min"


def test_early_stopping_on_an_unlogged_quantity_says_what_is_logged():
    model = overfitting_model()
    with pytest.raises(NnxError) as err:
        model.fit(X, Y, epochs=2, callbacks=[callbacks.EarlyStopping(monitor="val_accuracy")])
    assert "cannot monitor 'val_accuracy'" in str(err.value) and "loss" in str(err.value)


def test_divergence_guard_marks_the_run_and_keeps_finite_weights():
    model = nnx.Sequential([layers.Dense(8, activation="relu"), layers.Dense(1)],
                           input_shape=(4,), seed=0)
    model.compile(optimizer=optimizers.SGD(lr=1e3), loss="mse")
    seen = [model.get_weights()]  # seen[k]: the weights at the start of epoch k
    hist = model.fit(X, 10 * Y, epochs=50, batch_size=None,
                     callbacks=[weight_recorder(model, seen)])
    assert hist.status == "diverged"
    assert "loss became" in hist.stop_reason
    losses = hist.history["loss"]
    assert len(losses) < 50 and not math.isfinite(losses[-1])
    assert all(math.isfinite(v) for v in losses[:-1])
    assert all(np.isfinite(p).all() for p in model.parameters())
    # restored: the weights at the start of the epoch that broke (one full-batch step each)
    assert len(losses) >= 3
    assert_weights_equal(model, seen[len(losses) - 1])


def test_divergence_guard_in_mini_batches():
    model = nnx.Sequential([layers.Dense(8, activation="tanh"), layers.Dense(1)],
                           input_shape=(4,), seed=0)
    model.compile(optimizer=optimizers.SGD(lr=1e3), loss="mse")
    hist = model.fit(X, 10 * Y, epochs=50, batch_size=4)
    assert hist.status == "diverged" and "at batch" in hist.stop_reason
    assert all(np.isfinite(p).all() for p in model.parameters())


def test_a_healthy_run_is_completed():
    model = overfitting_model()
    hist = model.fit(X, Y, epochs=3, batch_size=None)
    assert hist.status == "completed" and hist.stop_reason is None


def test_model_checkpoint_writes_the_best_model(tmp_path):
    path = tmp_path / "ckpt" / "best.npz"
    model = overfitting_model()
    seen = []
    hist = model.fit(X, Y, epochs=15, batch_size=None, validation_data=(XV, YV), callbacks=[
        callbacks.ModelCheckpoint(str(path), monitor="val_loss"), weight_recorder(model, seen)])
    best = int(np.argmin(hist.history["val_loss"]))
    assert best == 10
    loaded = nnx.load_model(path)
    assert_weights_equal(loaded, seen[best])
    assert loaded.evaluate(XV, YV)["loss"] == pytest.approx(hist.history["val_loss"][best],
                                                            rel=1e-12)


def test_model_checkpoint_every_epoch(tmp_path):
    path = tmp_path / "last.npz"
    model = overfitting_model()
    model.fit(X, Y, epochs=15, batch_size=None, validation_data=(XV, YV), callbacks=[
        callbacks.ModelCheckpoint(str(path), save_best_only=False)])
    np.testing.assert_array_equal(nnx.load_model(path).predict(XV), model.predict(XV))


def test_lambda_callback_hooks_are_called():
    model = overfitting_model()
    calls = {"begin": 0, "batch": 0, "end": 0}

    def count(key):
        def hook(*args):
            calls[key] += 1
        return hook

    model.fit(X, Y, epochs=3, batch_size=6, callbacks=[callbacks.LambdaCallback(
        on_epoch_begin=count("begin"), on_batch_end=count("batch"), on_epoch_end=count("end"))])
    assert calls == {"begin": 3, "batch": 3 * 4, "end": 3}



def test_a_batch_hook_that_skips_the_rest_of_the_epoch_hears_again_next_epoch():
    """on_batch_end returning SKIP_REST_OF_EPOCH silences only that callback, only until the
    next epoch; the others still see every batch."""
    model = overfitting_model()
    heard, others = [], []

    def until_second(batch, logs):
        heard.append(batch)
        return callbacks.SKIP_REST_OF_EPOCH if batch == 1 else None

    model.fit(X, Y, epochs=2, batch_size=6, callbacks=[
        callbacks.LambdaCallback(on_batch_end=until_second),
        callbacks.LambdaCallback(on_batch_end=lambda batch, logs: others.append(batch))])
    assert heard == [0, 1, 0, 1]
    assert others == [0, 1, 2, 3] * 2

def test_callback_argument_errors():
    with pytest.raises(NnxError, match="patience must be an integer >= 0, got -1"):
        callbacks.EarlyStopping(patience=-1)
    with pytest.raises(NnxError, match="mode must be auto, min or max, got 'up'"):
        callbacks.EarlyStopping(mode="up")

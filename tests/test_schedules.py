"""Per-epoch learning-rate schedules (hand-computed values) and the scheduler callback."""

import math

import numpy as np
import pytest

import nnx
from nnx import NnxError, callbacks, layers, optimizers, schedules


def lrs(spec, epochs, base=0.1):
    schedule = schedules.get(spec)
    return [schedule.lr_at(e, base) for e in range(epochs)]


def test_step_decay():
    assert lrs({"type": "step", "step_size": 3, "gamma": 0.5}, 8) == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025], rel=1e-15)


def test_exponential_decay():
    assert lrs({"type": "exponential", "gamma": 0.9}, 4) == pytest.approx(
        [0.1, 0.09, 0.081, 0.0729], rel=1e-14)


def test_cosine_decay_reaches_min_lr_and_stays():
    got = lrs({"type": "cosine", "epochs": 4, "min_lr": 0.02}, 7)
    # min + (base - min) (1 + cos(pi e / 4)) / 2 = 0.02 + 0.08 * [1, .8536, .5, .1464, 0, 0, 0]
    want = [0.1, 0.02 + 0.04 * (1 + math.sqrt(0.5)), 0.06, 0.02 + 0.04 * (1 - math.sqrt(0.5)),
            0.02, 0.02, 0.02]
    assert got == pytest.approx(want, rel=1e-14)


def test_warmup_ramps_linearly_then_decay_starts_counting():
    assert lrs({"type": "step", "step_size": 2, "gamma": 0.5, "warmup_epochs": 2}, 7) == \
        pytest.approx([0.05, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025], rel=1e-15)
    assert lrs({"type": "cosine", "epochs": 2, "warmup_epochs": 4}, 7) == pytest.approx(
        [0.025, 0.05, 0.075, 0.1, 0.1, 0.05, 0.0], rel=1e-14, abs=1e-18)
    assert lrs({"type": "exponential", "gamma": 0.5, "warmup_epochs": 1}, 3) == pytest.approx(
        [0.1, 0.1, 0.05], rel=1e-15)


@pytest.mark.parametrize("spec,message", [
    ({"type": "stepp"}, "did you mean 'step'"),
    ({"type": "step", "step_size": 0}, "step_size must be a positive integer, got 0"),
    ({"type": "exponential", "gamma": -1}, "gamma must be a number > 0, got -1"),
    ({"type": "cosine"}, "needs epochs"),
    ({"type": "cosine", "epochs": 5, "warmup_epochs": -1}, "warmup_epochs must be an integer >= 0"),
])
def test_bad_schedules_raise(spec, message):
    with pytest.raises(NnxError) as err:
        schedules.get(spec)
    assert message in str(err.value)


def test_scheduler_callback_sets_lr_history_and_the_rate_used():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 2))
    y = x @ np.array([[1.0], [-1.0]])
    model = nnx.Sequential([layers.Dense(1)], input_shape=(2,), dtype="float64")
    model.compile(optimizer=optimizers.SGD(lr=0.1), loss="mse")
    seen = []
    hist = model.fit(x, y, epochs=5, batch_size=None, verbose=0, callbacks=[
        callbacks.LearningRateScheduler({"type": "step", "step_size": 2, "gamma": 0.5}),
        callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(model.optimizer.lr))])
    assert hist.history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025], rel=1e-15)
    assert seen == hist.history["lr"]
    assert all(type(v) is float for v in hist.history["lr"])


def test_scheduled_rate_is_the_one_the_update_uses():
    """One full-batch SGD step per epoch on a linear model: W moves by lr(epoch) * dW."""
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    y = np.array([[1.0], [0.0]])
    model = nnx.Sequential([layers.Dense(1, use_bias=False, init="zeros")], input_shape=(2,),
                           dtype="float64")
    model.compile(optimizer=optimizers.SGD(lr=1.0), loss="mse")
    sched = callbacks.LearningRateScheduler({"type": "exponential", "gamma": 0.01})
    model.fit(x, y, epochs=2, batch_size=None, shuffle=False, callbacks=[sched])
    w = np.zeros((2, 1))
    for lr in (1.0, 0.01):
        w = w - lr * x.T @ (2 * (x @ w - y) / 2)
    np.testing.assert_allclose(model.layers[0].params["W"], w, rtol=1e-14)

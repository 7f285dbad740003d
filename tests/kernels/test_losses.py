"""Losses: values against numpy, gradients against central finite differences (float64),
and the logits forms (softmax + CE, sigmoid + BCE) finite for huge logits."""

import numpy as np
import pytest
from gradcheck import max_rel_error, numeric_grad
from scipy.special import expit, log_softmax, softmax

from nnx import losses
from nnx.errors import NnxError
from nnx.kernels import losses as K

RNG = np.random.default_rng(0)
PRED = RNG.standard_normal((5, 3))
TARGET = PRED + RNG.uniform(0.2, 2.5, (5, 3)) * RNG.choice([-1.0, 1.0], (5, 3))  # |d| in [.2, 2.5]
PROBS = RNG.uniform(0.05, 0.95, (6, 2))
BITS = RNG.integers(0, 2, (6, 2)).astype(np.float64)
LOGITS = RNG.standard_normal((6, 4)) * 2.0
LABELS = np.array([0, 3, 1, 2, 3, 0])
ONEHOT = np.eye(4)[LABELS]
CLASS_PROBS = softmax(LOGITS, axis=1)


def hand_huber(d, delta):
    a = np.abs(d)
    return np.mean(np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta)))


CASES = {  # id: (loss, prediction, target, value computed by hand)
    "mse": (losses.get("mse"), PRED, TARGET, np.mean((PRED - TARGET) ** 2)),
    "mae": (losses.get("mae"), PRED, TARGET, np.mean(np.abs(PRED - TARGET))),
    "huber": (losses.get("huber"), PRED, TARGET, hand_huber(PRED - TARGET, 1.0)),
    "huber_delta2": (losses.get({"type": "huber", "delta": 2.0}), PRED, TARGET,
                     hand_huber(PRED - TARGET, 2.0)),
    "bce_probs": (losses.get("binary_crossentropy"), PROBS, BITS,
                  -np.mean(BITS * np.log(PROBS) + (1 - BITS) * np.log(1 - PROBS))),
    "bce_logits": (losses.get({"type": "binary_crossentropy", "from_logits": True}), LOGITS[:, :2],
                   BITS, -np.mean(BITS * np.log(expit(LOGITS[:, :2]))
                                  + (1 - BITS) * np.log(1 - expit(LOGITS[:, :2])))),
    "cce_probs_labels": (losses.get("categorical_crossentropy"), CLASS_PROBS, LABELS,
                         -np.mean(np.log(CLASS_PROBS[np.arange(6), LABELS]))),
    "cce_probs_onehot": (losses.get("categorical_crossentropy"), CLASS_PROBS, ONEHOT,
                         -np.mean(np.sum(ONEHOT * np.log(CLASS_PROBS), axis=1))),
    "cce_logits_labels": (losses.get({"type": "categorical_crossentropy", "from_logits": True}),
                          LOGITS, LABELS,
                          -np.mean(log_softmax(LOGITS, axis=1)[np.arange(6), LABELS])),
    "cce_logits_onehot": (losses.get({"type": "categorical_crossentropy", "from_logits": True}),
                          LOGITS, ONEHOT,
                          -np.mean(np.sum(ONEHOT * log_softmax(LOGITS, axis=1), axis=1))),
}


@pytest.mark.parametrize("case", CASES)
def test_loss_value_matches_hand_computation(case):
    loss, pred, target, want = CASES[case]
    value = loss.forward(pred.copy(), target)
    assert isinstance(value, float)
    assert value == pytest.approx(want, rel=1e-13)


@pytest.mark.parametrize("case", CASES)
def test_loss_gradient_matches_finite_differences(case):
    loss, pred, target, _ = CASES[case]
    pred = pred.copy()
    loss.forward(pred, target)
    analytic = loss.backward().copy()
    assert analytic.shape == pred.shape
    numeric = numeric_grad(lambda: loss.forward(pred, target), pred)
    assert max_rel_error(analytic, numeric) < 1e-6


def test_closed_form_gradients():
    """The gradients themselves: 2d/N, sign(d)/N, clipped d/N, (p - t)/(p(1-p))/N, -t/p/N."""
    n = PRED.size
    d = PRED - TARGET
    for name, want in (("mse", 2 * d / n), ("mae", np.sign(d) / n),
                       ("huber", np.clip(d, -1, 1) / n)):
        loss = losses.get(name)
        loss.forward(PRED.copy(), TARGET)
        np.testing.assert_allclose(loss.backward(), want, rtol=1e-14, err_msg=name)
    loss = losses.get("binary_crossentropy")
    loss.forward(PROBS.copy(), BITS)
    np.testing.assert_allclose(loss.backward(), (PROBS - BITS) / (PROBS * (1 - PROBS)) / PROBS.size,
                               rtol=1e-13)
    loss = losses.get("categorical_crossentropy")
    loss.forward(CLASS_PROBS.copy(), LABELS)
    np.testing.assert_allclose(loss.backward(), -ONEHOT / CLASS_PROBS / 6, rtol=1e-13)


def test_int_labels_and_one_hot_agree():
    for from_logits, pred in ((False, CLASS_PROBS), (True, LOGITS)):
        a = losses.CategoricalCrossentropy(from_logits=from_logits)
        b = losses.CategoricalCrossentropy(from_logits=from_logits)
        assert a.forward(pred.copy(), LABELS) == pytest.approx(b.forward(pred.copy(), ONEHOT),
                                                               rel=1e-14)
        np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-14, atol=1e-17)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_of_huge_logits_is_finite(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, 0.0], [-1e4, -1e4, 1e4]], dtype)
    labels = np.array([0, 0, 2, 1])
    grad = np.empty_like(z)
    value = K.cce_logits(z, labels, np.empty(0, dtype), grad)
    # row 0: right class dominates -> 0; row 1: log(2) + 2e4; row 2: log 3; row 3: 2e4
    want = (0.0 + (np.log(2.0) + 2e4) + np.log(3.0) + 2e4) / 4
    assert np.isfinite(value) and value == pytest.approx(want, rel=1e-6)
    s = np.array([[1, 0, 0], [0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3], [0, 0, 1]])
    assert grad.dtype == dtype and np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, (s - np.eye(3)[labels]) / 4, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_binary_cross_entropy_of_huge_logits_is_finite(dtype):
    z = np.array([[1e4, -1e4], [-1e4, 1e4]], dtype)
    t = np.array([[1.0, 0.0], [1.0, 0.0]], dtype)
    grad = np.empty_like(z)
    value = K.bce_logits(z, t, np.empty(0, dtype), grad)
    assert np.isfinite(value) and value == pytest.approx((0 + 0 + 1e4 + 1e4) / 4, rel=1e-9)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, (expit(z.astype(np.float64)) - t) / 4, atol=1e-12)


def test_probability_losses_clip_instead_of_returning_inf():
    p = np.array([[0.0, 1.0]])
    bce = losses.get("binary_crossentropy")
    assert np.isfinite(bce.forward(p.copy(), np.array([[1.0, 0.0]])))
    cce = losses.get("categorical_crossentropy")
    value = cce.forward(p.copy(), np.array([0]))
    assert value == pytest.approx(-np.log(1e-7), rel=1e-6)
    assert np.all(np.isfinite(cce.backward()))


def test_float32_loss_keeps_float32_gradient():
    loss = losses.get("mse")
    pred = PRED.astype(np.float32)
    value = loss.forward(pred, TARGET.astype(np.float32))
    assert loss.backward().dtype == np.float32
    assert value == pytest.approx(np.mean((PRED - TARGET) ** 2), rel=1e-5)


def test_aliases_and_with_logits():
    assert isinstance(losses.get("mean_squared_error"), losses.MeanSquaredError)
    assert isinstance(losses.get("sparse_categorical_crossentropy"), losses.CategoricalCrossentropy)
    fused = losses.get("binary_crossentropy").with_logits()
    assert fused.from_logits and isinstance(fused, losses.BinaryCrossentropy)
    assert losses.get({"type": "huber", "delta": 0.5}).get_config() == {"type": "huber",
                                                                         "delta": 0.5}


# -- sample weights: sum_i w_i l_i / N (Keras' normalisation) ------------------------------
ROW_LOSSES = {  # id: per-row loss l_i of CASES[id] by hand (mean over a row's elements,
    # the sum over the classes for the categorical forms)
    "mse": lambda p, t: np.mean((p - t) ** 2, axis=1),
    "mae": lambda p, t: np.mean(np.abs(p - t), axis=1),
    "huber": lambda p, t: np.array([hand_huber(d, 1.0) for d in p - t]),
    "huber_delta2": lambda p, t: np.array([hand_huber(d, 2.0) for d in p - t]),
    "bce_probs": lambda p, t: -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p), axis=1),
    "bce_logits": lambda z, t: -np.mean(t * np.log(expit(z)) + (1 - t) * np.log(1 - expit(z)),
                                        axis=1),
    "cce_probs_labels": lambda p, t: -np.log(p[np.arange(len(t)), t]),
    "cce_probs_onehot": lambda p, t: -np.sum(t * np.log(p), axis=1),
    "cce_logits_labels": lambda z, t: -log_softmax(z, axis=1)[np.arange(len(t)), t],
    "cce_logits_onehot": lambda z, t: -np.sum(t * log_softmax(z, axis=1), axis=1),
}


def row_weights(n):
    """Positive weights with a zero among them (a sample that must not count)."""
    w = np.random.default_rng(n).uniform(0.2, 3.0, n)
    w[1] = 0.0
    return w


@pytest.mark.parametrize("case", CASES)
def test_weighted_loss_matches_hand_computation(case):
    loss, pred, target, _ = CASES[case]
    w = row_weights(len(pred))
    want = np.sum(w * ROW_LOSSES[case](pred, target)) / len(pred)
    assert loss.forward(pred.copy(), target, sample_weight=w) == pytest.approx(want, rel=1e-13)


@pytest.mark.parametrize("case", CASES)
def test_weighted_loss_gradient_matches_finite_differences(case):
    loss, pred, target, _ = CASES[case]
    pred, w = pred.copy(), row_weights(len(pred))
    loss.forward(pred, target, sample_weight=w)
    analytic = loss.backward().copy()
    numeric = numeric_grad(lambda: loss.forward(pred, target, sample_weight=w), pred)
    assert max_rel_error(analytic, numeric) < 1e-6
    assert np.all(analytic[1] == 0)  # the zero-weight sample gets no gradient


@pytest.mark.parametrize("case", CASES)
def test_unit_weights_give_the_unweighted_loss(case):
    loss, pred, target, _ = CASES[case]
    plain = loss.forward(pred.copy(), target)
    grad = loss.backward().copy()
    weighted = loss.forward(pred.copy(), target, sample_weight=np.ones(len(pred)))
    assert weighted == pytest.approx(plain, rel=1e-15)
    np.testing.assert_array_equal(loss.backward(), grad)


@pytest.mark.parametrize("name", ["mse", "binary_crossentropy", "categorical_crossentropy"])
def test_float32_weighted_loss_keeps_float32(name):
    loss = losses.get({"type": name, "from_logits": True} if "crossentropy" in name else name)
    pred = LOGITS[:, :1].astype(np.float32) if name != "categorical_crossentropy" else \
        LOGITS.astype(np.float32)
    target = LABELS if name == "categorical_crossentropy" else BITS[:, :1].astype(np.float32)
    w = row_weights(6)
    value = loss.forward(pred, target, sample_weight=w)
    assert loss.backward().dtype == np.float32
    want = loss.forward(pred.astype(np.float64), target, sample_weight=w)
    assert value == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("weight, problem", [
    (np.array([1.0, -1.0, 1.0, 1.0, 1.0, 1.0]), r"sample_weight\[1\] is -1.0"),
    (np.array([1.0, 1.0, np.nan, 1.0, 1.0, 1.0]), r"sample_weight\[2\] is nan"),
    (np.array([1.0, 1.0, 1.0, np.inf, 1.0, 1.0]), r"sample_weight\[3\] is inf"),
    (np.ones(5), r"one weight per sample \(6,\), got shape \(5,\)"),
    (np.array(["a"] * 6), "must be numbers"),
])
def test_bad_sample_weights_are_refused(weight, problem):
    with pytest.raises(NnxError, match=problem):
        losses.get("mse").forward(PROBS.copy()[:, :1], BITS[:, :1], sample_weight=weight)

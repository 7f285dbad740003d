"""Optimizer kernels against update rules written out independently in numpy (float64,
several steps), and float32 parameters updated in float32."""

import numpy as np
import pytest

from nnx.kernels import optim as K

RNG = np.random.default_rng(0)
P0 = RNG.standard_normal(7)
GRADS = [RNG.standard_normal(7) for _ in range(4)]


def ref_sgd(lr, momentum=0.0, nesterov=False, wd=0.0):
    p, buf = P0.copy(), None
    for g in GRADS:
        d = g + wd * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + d  # torch: first buf = d
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
    return p


def ref_momentum_ema(lr, beta):
    p, v = P0.copy(), np.zeros_like(P0)
    for g in GRADS:
        v = beta * v + (1 - beta) * g
        p = p - lr * v
    return p


def ref_adagrad(lr, eps):
    p, acc = P0.copy(), np.zeros_like(P0)
    for g in GRADS:
        acc = acc + g * g
        p = p - lr * g / (np.sqrt(acc) + eps)
    return p


def ref_rmsprop(lr, rho, eps):
    p, sq = P0.copy(), np.zeros_like(P0)
    for g in GRADS:
        sq = rho * sq + (1 - rho) * g * g
        p = p - lr * g / (np.sqrt(sq) + eps)
    return p


def ref_adam(lr, b1, b2, eps, wd=0.0, decoupled=False):
    p, m, v = P0.copy(), np.zeros_like(P0), np.zeros_like(P0)
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def run(kernel, dtype, *args, slots=1, adam=False):
    p = P0.astype(dtype)
    state = [np.zeros_like(p) for _ in range(slots)]
    for t, g in enumerate(GRADS, start=1):
        if adam:
            kernel(p, g.astype(dtype), *state, *args, t)
        else:
            kernel(p, g.astype(dtype), *state, *args)
    return p


SGD_CASES = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.1, momentum=0.9),
    "nesterov": dict(lr=0.05, momentum=0.8, nesterov=True),
    "weight_decay": dict(lr=0.1, wd=0.1),
    "all": dict(lr=0.05, momentum=0.9, nesterov=True, wd=0.01),
}


@pytest.mark.parametrize("case", SGD_CASES)
def test_sgd(case):
    kw = SGD_CASES[case]
    p = run(K.sgd, np.float64, kw["lr"], kw.get("momentum", 0.0), kw.get("nesterov", False),
            kw.get("wd", 0.0))
    np.testing.assert_allclose(p, ref_sgd(**kw), rtol=1e-13)


def test_momentum_ema():
    np.testing.assert_allclose(run(K.momentum_ema, np.float64, 0.1, 0.9),
                               ref_momentum_ema(0.1, 0.9), rtol=1e-13)


def test_adagrad():
    np.testing.assert_allclose(run(K.adagrad, np.float64, 0.1, 1e-10), ref_adagrad(0.1, 1e-10),
                               rtol=1e-13)


def test_rmsprop():
    np.testing.assert_allclose(run(K.rmsprop, np.float64, 0.01, 0.9, 1e-8),
                               ref_rmsprop(0.01, 0.9, 1e-8), rtol=1e-13)


@pytest.mark.parametrize("wd,decoupled", [(0.0, False), (0.1, False), (0.1, True)],
                         ids=["adam", "adam_l2", "adamw"])
def test_adam(wd, decoupled):
    p = run(K.adam, np.float64, 0.01, 0.9, 0.999, 1e-8, wd, decoupled, slots=2, adam=True)
    np.testing.assert_allclose(p, ref_adam(0.01, 0.9, 0.999, 1e-8, wd, decoupled), rtol=1e-12)


def test_first_adam_step_is_lr_times_sign():
    """Bias correction makes the first step lr * g / (|g| + eps) ~ lr * sign(g)."""
    p, m, v = P0.copy(), np.zeros(7), np.zeros(7)
    K.adam(p, GRADS[0], m, v, 0.01, 0.9, 0.999, 1e-8, 0.0, False, 1)
    np.testing.assert_allclose(P0 - p, 0.01 * np.sign(GRADS[0]), rtol=1e-6)


FLOAT32_CASES = {
    "sgd": (K.sgd, (0.1, 0.9, True, 0.01), 1, False, ref_sgd(0.1, 0.9, True, 0.01)),
    "momentum": (K.momentum_ema, (0.1, 0.9), 1, False, ref_momentum_ema(0.1, 0.9)),
    "adagrad": (K.adagrad, (0.1, 1e-10), 1, False, ref_adagrad(0.1, 1e-10)),
    "rmsprop": (K.rmsprop, (0.01, 0.9, 1e-8), 1, False, ref_rmsprop(0.01, 0.9, 1e-8)),
    "adamw": (K.adam, (0.01, 0.9, 0.999, 1e-8, 0.1, True), 2, True,
              ref_adam(0.01, 0.9, 0.999, 1e-8, 0.1, True)),
}


@pytest.mark.parametrize("case", FLOAT32_CASES)
def test_float32_parameters_stay_float32(case):
    kernel, args, slots, adam, want = FLOAT32_CASES[case]
    p = run(kernel, np.float32, *args, slots=slots, adam=adam)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p, want, rtol=1e-5, atol=1e-6)

"""Optimizer classes: `step(params, grads)` against hand-computed steps, clipping (global
norm like torch's clip_grad_norm_, and by value), per-array state, dtype, config."""

import numpy as np
import pytest

from nnx import NnxError, optimizers

RNG = np.random.default_rng(1)
SHAPES = [(3, 2), (2,)]
INIT = [RNG.standard_normal(s) for s in SHAPES]
GRADS = [[RNG.standard_normal(s) for s in SHAPES] for _ in range(4)]


def run(opt, dtype=np.float64, grads=GRADS):
    params = [p.astype(dtype) for p in INIT]
    for step in grads:
        opt.step(params, [g.astype(dtype) for g in step])
    return params


def by_hand(update):
    """Apply `update(p, g, state, t)` per parameter position over the gradient sequence."""
    params = [p.copy() for p in INIT]
    states = [{} for _ in params]
    for t, step in enumerate(GRADS, start=1):
        params = [update(p, g, s, t) for p, g, s in zip(params, step, states, strict=True)]
    return params


def sgd_rule(lr, momentum=0.0, nesterov=False, wd=0.0):
    def update(p, g, s, t):
        d = g + wd * p
        if momentum:
            s["buf"] = d if t == 1 else momentum * s["buf"] + d
            d = d + momentum * s["buf"] if nesterov else s["buf"]
        return p - lr * d
    return update


def momentum_rule(lr, beta):
    def update(p, g, s, t):
        s["v"] = beta * s.get("v", 0.0) + (1 - beta) * g
        return p - lr * s["v"]
    return update


def adagrad_rule(lr, eps=1e-10):
    def update(p, g, s, t):
        s["acc"] = s.get("acc", 0.0) + g * g
        return p - lr * g / (np.sqrt(s["acc"]) + eps)
    return update


def rmsprop_rule(lr, rho=0.9, eps=1e-8):
    def update(p, g, s, t):
        s["sq"] = rho * s.get("sq", 0.0) + (1 - rho) * g * g
        return p - lr * g / (np.sqrt(s["sq"]) + eps)
    return update


def adam_rule(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    def update(p, g, s, t):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        return p - lr * (s["m"] / (1 - b1 ** t)) / (np.sqrt(s["v"] / (1 - b2 ** t)) + eps)
    return update


CASES = {
    "sgd": (lambda: optimizers.SGD(lr=0.1), sgd_rule(0.1)),
    "sgd_momentum": (lambda: optimizers.SGD(lr=0.1, momentum=0.9), sgd_rule(0.1, 0.9)),
    "sgd_nesterov": (lambda: optimizers.SGD(lr=0.1, momentum=0.9, nesterov=True),
                     sgd_rule(0.1, 0.9, True)),
    "sgd_weight_decay": (lambda: optimizers.SGD(lr=0.1, momentum=0.5, weight_decay=0.05),
                         sgd_rule(0.1, 0.5, False, 0.05)),
    "momentum_ema": (lambda: optimizers.Momentum(lr=0.1, beta=0.8), momentum_rule(0.1, 0.8)),
    "adagrad": (lambda: optimizers.Adagrad(lr=0.2), adagrad_rule(0.2)),
    "rmsprop": (lambda: optimizers.RMSprop(lr=0.01, rho=0.95), rmsprop_rule(0.01, 0.95)),
    "adam": (lambda: optimizers.Adam(lr=0.01), adam_rule(0.01)),
    "adam_weight_decay": (lambda: optimizers.Adam(lr=0.01, weight_decay=0.1),
                          adam_rule(0.01, wd=0.1)),
    "adamw": (lambda: optimizers.AdamW(lr=0.01), adam_rule(0.01, wd=0.01, decoupled=True)),
}


@pytest.mark.parametrize("case", CASES)
def test_steps_match_hand_computation(case):
    make, rule = CASES[case]
    opt = make()
    got = run(opt)
    assert opt.iterations == len(GRADS)
    for a, b in zip(got, by_hand(rule), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", CASES)
def test_float32_params_stay_float32(case):
    make, rule = CASES[case]
    got = run(make(), np.float32)
    for a, b in zip(got, by_hand(rule), strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_params_are_updated_in_place():
    params = [p.copy() for p in INIT]
    ids = [id(p) for p in params]
    optimizers.SGD(lr=0.1).step(params, [g.copy() for g in GRADS[0]])
    assert [id(p) for p in params] == ids
    np.testing.assert_allclose(params[0], INIT[0] - 0.1 * GRADS[0][0])


def test_clipnorm_scales_by_the_global_norm_like_clip_grad_norm():
    grads = [np.array([[3.0, 0.0], [0.0, 0.0], [0.0, 0.0]]), np.array([0.0, 4.0])]  # norm 5
    params = [p.copy() for p in INIT]
    optimizers.SGD(lr=1.0, clipnorm=1.0).step(params, grads)
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0], INIT[0] - coef * np.array([[3, 0], [0, 0], [0, 0]]),
                               rtol=1e-15)
    np.testing.assert_allclose(params[1], INIT[1] - coef * np.array([0, 4]), rtol=1e-15)
    np.testing.assert_allclose(np.sqrt(sum(np.sum(g * g) for g in grads)), 5 * coef, rtol=1e-12)


def test_clipnorm_leaves_small_gradients_alone():
    grads = [np.full((3, 2), 0.1), np.full(2, 0.1)]  # norm ~0.28 < 1
    before = [g.copy() for g in grads]
    optimizers.SGD(lr=1.0, clipnorm=1.0).step([p.copy() for p in INIT], grads)
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_array_equal(g, b)


def test_clipnorm_inside_adam_steps():
    opt = optimizers.Adam(lr=0.01, clipnorm=0.5)
    got = run(opt)
    params = [p.copy() for p in INIT]
    states = [{} for _ in params]
    rule = adam_rule(0.01)
    for t, step in enumerate(GRADS, start=1):
        norm = np.sqrt(sum(np.sum(g * g) for g in step))
        coef = min(1.0, 0.5 / (norm + 1e-6))
        params = [rule(p, g * coef, s, t) for p, g, s in zip(params, step, states, strict=True)]
    for a, b in zip(got, params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_clipvalue_clips_each_element():
    grads = [np.array([[3.0, -0.2], [-5.0, 0.1], [0.0, 0.5]]), np.array([-0.7, 2.0])]
    params = [p.copy() for p in INIT]
    optimizers.SGD(lr=1.0, clipvalue=0.5).step(params, [g.copy() for g in grads])
    for p, p0, g in zip(params, INIT, grads, strict=True):
        np.testing.assert_allclose(p, p0 - np.clip(g, -0.5, 0.5), rtol=1e-15)


def test_state_is_kept_per_parameter_array():
    opt = optimizers.Adagrad(lr=0.1)
    params = run(opt)
    np.testing.assert_allclose(opt.slots_of(params[0])["accumulator"],
                               sum(step[0] ** 2 for step in GRADS), rtol=1e-14)
    np.testing.assert_allclose(opt.slots_of(params[1])["accumulator"],
                               sum(step[1] ** 2 for step in GRADS), rtol=1e-14)
    assert opt.slots_of(params[0].copy()) == {}  # another array: no state of its own yet


def test_defaults_are_pytorch_defaults_and_config_round_trips():
    adam = optimizers.Adam()
    assert (adam.lr, adam.beta1, adam.beta2, adam.eps, adam.weight_decay) == (1e-3, 0.9, 0.999,
                                                                              1e-8, 0.0)
    assert optimizers.AdamW().weight_decay == 0.01
    assert optimizers.Adagrad().eps == 1e-10
    rms = optimizers.RMSprop()
    assert (rms.rho, rms.eps) == (0.9, 1e-8)
    for opt in (optimizers.SGD(lr=0.3, momentum=0.9, nesterov=True, clipnorm=2.0),
                optimizers.AdamW(lr=0.02, weight_decay=0.05, clipvalue=1.0),
                optimizers.Momentum(lr=0.5, beta=0.7), optimizers.RMSprop(lr=0.1, rho=0.8)):
        config = opt.get_config()
        clone = optimizers.get(config)
        assert type(clone) is type(opt) and clone.get_config() == config


@pytest.mark.parametrize("make,message", [
    (lambda: optimizers.Adam(lr="fast"), "adam: lr must be a number >= 0, got 'fast'"),
    (lambda: optimizers.SGD(lr=-0.1), "sgd: lr must be a number >= 0, got -0.1"),
    (lambda: optimizers.SGD(lr=0.1, nesterov=True), "nesterov needs momentum > 0"),
    (lambda: optimizers.Adam(beta1=1.0), "beta1 must be a number in [0, 1), got 1.0"),
    (lambda: optimizers.RMSprop(rho=-0.5), "rho must be a number in [0, 1), got -0.5"),
    (lambda: optimizers.SGD(lr=0.1, clipnorm=0), "clipnorm must be a number > 0, got 0"),
    (lambda: optimizers.get("adma"), "did you mean 'adam'"),
    (lambda: optimizers.get({"type": "sgd", "momentun": 0.9}), "did you mean 'momentum'"),
])
def test_bad_hyperparameters_raise_nnx_error(make, message):
    with pytest.raises(NnxError) as err:
        make()
    assert message in str(err.value)

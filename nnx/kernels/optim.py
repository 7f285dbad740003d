"""In-place optimizer updates over flat (n,) parameter, gradient and state arrays.

The rules are PyTorch's (eps outside the square root); scalars are converted to the
parameter dtype so float32 updates stay float32.
"""

import numpy as np
from nnx.kernels.jit import kernel


@kernel
def sgd(p, g, velocity, lr, momentum, nesterov, weight_decay):
    """p -= lr * step, step = g + wd p, through a heavy-ball (or Nesterov) velocity."""
    t = p.dtype.type
    lr_, mu, wd = t(lr), t(momentum), t(weight_decay)
    for i in range(p.shape[0]):
        d = g[i] + wd * p[i]
        if mu != 0:
            velocity[i] = mu * velocity[i] + d
            d = d + mu * velocity[i] if nesterov else velocity[i]
        p[i] -= lr_ * d


@kernel
def momentum_ema(p, g, velocity, lr, beta):
    """The textbook EMA form: v = beta v + (1 - beta) g; p -= lr v."""
    t = p.dtype.type
    lr_, b = t(lr), t(beta)
    one = t(1.0)
    for i in range(p.shape[0]):
        velocity[i] = b * velocity[i] + (one - b) * g[i]
        p[i] -= lr_ * velocity[i]


@kernel
def adagrad(p, g, accumulator, lr, eps):
    """acc += g^2; p -= lr g / (sqrt(acc) + eps)."""
    t = p.dtype.type
    lr_, eps_ = t(lr), t(eps)
    for i in range(p.shape[0]):
        accumulator[i] += g[i] * g[i]
        p[i] -= lr_ * g[i] / (np.sqrt(accumulator[i]) + eps_)


@kernel
def rmsprop(p, g, square_avg, lr, rho, eps):
    """sq = rho sq + (1 - rho) g^2; p -= lr g / (sqrt(sq) + eps)."""
    t = p.dtype.type
    lr_, rho_, eps_ = t(lr), t(rho), t(eps)
    one = t(1.0)
    for i in range(p.shape[0]):
        square_avg[i] = rho_ * square_avg[i] + (one - rho_) * g[i] * g[i]
        p[i] -= lr_ * g[i] / (np.sqrt(square_avg[i]) + eps_)


@kernel
def adam(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, step):
    """Adam (L2 weight decay added to g) or AdamW (decoupled: p *= 1 - lr wd), bias-corrected."""
    t = p.dtype.type
    one = t(1.0)
    b1, b2, eps_ = t(beta1), t(beta2), t(eps)
    step_size = t(lr / (1.0 - beta1 ** step))
    inv_sqrt_bc2 = t(1.0 / np.sqrt(1.0 - beta2 ** step))
    l2 = t(0.0) if decoupled else t(weight_decay)
    decay = t(1.0 - lr * weight_decay) if decoupled else one
    for i in range(p.shape[0]):
        d = g[i] + l2 * p[i]
        mi = b1 * m[i] + (one - b1) * d
        vi = b2 * v[i] + (one - b2) * d * d
        m[i] = mi
        v[i] = vi
        p[i] = decay * p[i] - step_size * mi / (np.sqrt(vi) * inv_sqrt_bc2 + eps_)

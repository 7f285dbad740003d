"""In-place optimizer updates over flat (n,) parameter, gradient and state arrays.

The rules are PyTorch's (eps outside the square root); scalars are converted to the
parameter dtype so float32 updates stay float32.

Given `stats` (3,) float64, every update also adds to it, in the same pass over memory: the step's
gradient norm to stats[0], its update-to-weight ratio ||delta p|| / ||p|| to stats[1], and
the weight norm after the step to stats[2] (overwritten). Training diagnostics read them;
reassociation lets LLVM vectorize these sums (it changes nothing else in these loops), so
the kernels compile through jit.reassociating_kernel. Without `stats` (None) numba compiles
the update apart, with no such work: it drops the branch on None, and LLVM the sums nothing
then reads.
"""

import numpy as np

from nnx.kernels.jit import reassociating_kernel as optimizer_kernel


@optimizer_kernel
def record(stats, grad_sq, update_sq, param_sq):
    """Add one step's norms to `stats` (see the module docstring)."""
    stats[0] += np.sqrt(grad_sq)
    if param_sq > 0:
        stats[1] += np.sqrt(update_sq / param_sq)
    stats[2] = np.sqrt(param_sq)


@optimizer_kernel
def sgd(p, g, velocity, lr, momentum, nesterov, weight_decay, stats=None):
    """p -= lr * step, step = g + wd p, through a heavy-ball (or Nesterov) velocity."""
    t = p.dtype.type
    lr_, mu, wd = t(lr), t(momentum), t(weight_decay)
    gs, us, ps = t(0.0), t(0.0), t(0.0)
    for i in range(p.shape[0]):
        d = g[i] + wd * p[i]
        if mu != 0:
            velocity[i] = mu * velocity[i] + d
            d = d + mu * velocity[i] if nesterov else velocity[i]
        u = lr_ * d
        p[i] -= u
        gs += g[i] * g[i]
        us += u * u
        ps += p[i] * p[i]
    if stats is not None:
        record(stats, gs, us, ps)


@optimizer_kernel
def momentum_ema(p, g, velocity, lr, beta, stats=None):
    """The textbook EMA form: v = beta v + (1 - beta) g; p -= lr v."""
    t = p.dtype.type
    lr_, b = t(lr), t(beta)
    one = t(1.0)
    gs, us, ps = t(0.0), t(0.0), t(0.0)
    for i in range(p.shape[0]):
        velocity[i] = b * velocity[i] + (one - b) * g[i]
        u = lr_ * velocity[i]
        p[i] -= u
        gs += g[i] * g[i]
        us += u * u
        ps += p[i] * p[i]
    if stats is not None:
        record(stats, gs, us, ps)


@optimizer_kernel
def adagrad(p, g, accumulator, lr, eps, stats=None):
    """acc += g^2; p -= lr g / (sqrt(acc) + eps)."""
    t = p.dtype.type
    lr_, eps_ = t(lr), t(eps)
    gs, us, ps = t(0.0), t(0.0), t(0.0)
    for i in range(p.shape[0]):
        accumulator[i] += g[i] * g[i]
        u = lr_ * g[i] / (np.sqrt(accumulator[i]) + eps_)
        p[i] -= u
        gs += g[i] * g[i]
        us += u * u
        ps += p[i] * p[i]
    if stats is not None:
        record(stats, gs, us, ps)


@optimizer_kernel
def rmsprop(p, g, square_avg, lr, rho, eps, stats=None):
    """sq = rho sq + (1 - rho) g^2; p -= lr g / (sqrt(sq) + eps)."""
    t = p.dtype.type
    lr_, rho_, eps_ = t(lr), t(rho), t(eps)
    one = t(1.0)
    gs, us, ps = t(0.0), t(0.0), t(0.0)
    for i in range(p.shape[0]):
        square_avg[i] = rho_ * square_avg[i] + (one - rho_) * g[i] * g[i]
        u = lr_ * g[i] / (np.sqrt(square_avg[i]) + eps_)
        p[i] -= u
        gs += g[i] * g[i]
        us += u * u
        ps += p[i] * p[i]
    if stats is not None:
        record(stats, gs, us, ps)


@optimizer_kernel
def adam(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, step, stats=None):
    """Adam (L2 weight decay added to g) or AdamW (decoupled: p *= 1 - lr wd), bias-corrected."""
    t = p.dtype.type
    one = t(1.0)
    b1, b2, eps_ = t(beta1), t(beta2), t(eps)
    step_size = t(lr / (1.0 - beta1 ** step))
    inv_sqrt_bc2 = t(1.0 / np.sqrt(1.0 - beta2 ** step))
    l2 = t(0.0) if decoupled else t(weight_decay)
    decay = t(1.0 - lr * weight_decay) if decoupled else one
    gs, us, ps = t(0.0), t(0.0), t(0.0)
    for i in range(p.shape[0]):
        d = g[i] + l2 * p[i]
        mi = b1 * m[i] + (one - b1) * d
        vi = b2 * v[i] + (one - b2) * d * d
        m[i] = mi
        v[i] = vi
        new = decay * p[i] - step_size * mi / (np.sqrt(vi) * inv_sqrt_bc2 + eps_)
        u = p[i] - new
        p[i] = new
        gs += g[i] * g[i]
        us += u * u
        ps += new * new
    if stats is not None:
        record(stats, gs, us, ps)

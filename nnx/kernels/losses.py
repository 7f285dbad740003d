"""Loss values and their gradients in one pass over (n, m) predictions.

Each kernel returns the mean loss (float64 accumulation) and writes dL/dpred into `grad`.
The *_logits kernels take pre-activations and give the gradient at the logits directly,
finite for any logits (log-sum-exp and softplus forms).
"""

import numpy as np

from nnx.kernels.jit import kernel

PROB_EPS = 1e-7  # probabilities are clipped to [eps, 1 - eps] before the log, as Keras does
BCE_GRAD_EPS = 1e-12  # PyTorch's clamp of p(1 - p) in the BCE gradient


@kernel
def mse(pred, target, grad):
    """mean((pred - target)^2) over all elements."""
    n, m = pred.shape
    scale = pred.dtype.type(2.0 / (n * m))
    total = 0.0
    for i in range(n):
        for j in range(m):
            d = pred[i, j] - target[i, j]
            total += d * d
            grad[i, j] = scale * d
    return total / (n * m)


@kernel
def mae(pred, target, grad):
    """mean |pred - target|; the gradient of |0| is 0, as in PyTorch."""
    n, m = pred.shape
    scale = pred.dtype.type(1.0 / (n * m))
    total = 0.0
    for i in range(n):
        for j in range(m):
            d = pred[i, j] - target[i, j]
            total += abs(d)
            grad[i, j] = scale * np.sign(d)
    return total / (n * m)


@kernel
def huber(pred, target, delta, grad):
    """mean of 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta)."""
    n, m = pred.shape
    scale = pred.dtype.type(1.0 / (n * m))
    delta_ = pred.dtype.type(delta)
    total = 0.0
    for i in range(n):
        for j in range(m):
            d = pred[i, j] - target[i, j]
            if abs(d) <= delta_:
                total += 0.5 * d * d
                grad[i, j] = scale * d
            else:
                total += delta * (abs(d) - 0.5 * delta)
                grad[i, j] = scale * delta_ * np.sign(d)
    return total / (n * m)


@kernel
def bce(prob, target, grad):
    """Binary cross-entropy of probabilities, mean over all elements (multi-label too)."""
    n, m = prob.shape
    scale = 1.0 / (n * m)
    total = 0.0
    for i in range(n):
        for j in range(m):
            p = min(max(prob[i, j], PROB_EPS), 1.0 - PROB_EPS)
            t = target[i, j]
            total -= t * np.log(p) + (1.0 - t) * np.log(1.0 - p)
            q = prob[i, j]
            grad[i, j] = scale * (q - t) / max(q * (1.0 - q), BCE_GRAD_EPS)
    return total * scale


@kernel
def bce_logits(z, target, grad):
    """Binary cross-entropy of logits: max(z, 0) - z t + log(1 + exp(-|z|)); grad sigmoid(z) - t."""
    n, m = z.shape
    scale = 1.0 / (n * m)
    total = 0.0
    for i in range(n):
        for j in range(m):
            v = z[i, j]
            t = target[i, j]
            total += max(v, 0.0) - v * t + np.log1p(np.exp(-abs(v)))
            if v >= 0:
                s = 1.0 / (1.0 + np.exp(-v))
            else:
                e = np.exp(v)
                s = e / (1.0 + e)
            grad[i, j] = scale * (s - t)
    return total * scale


@kernel
def cce(prob, target, grad):
    """Categorical cross-entropy of probabilities; target (n,) int labels or (n, c) one-hot."""
    n, c = prob.shape
    scale = 1.0 / n
    total = 0.0
    grad[:, :] = 0
    for i in range(n):
        if target.ndim == 1:
            k = target[i]
            p = max(prob[i, k], PROB_EPS)
            total -= np.log(p)
            grad[i, k] = -scale / p
        else:
            for j in range(c):
                t = target[i, j]
                if t != 0:
                    p = max(prob[i, j], PROB_EPS)
                    total -= t * np.log(p)
                    grad[i, j] = -scale * t / p
    return total * scale


@kernel
def cce_logits(z, target, grad):
    """Softmax cross-entropy of logits: log-sum-exp(z) - z[label]; grad softmax(z) - onehot."""
    n, c = z.shape
    scale = 1.0 / n
    total = 0.0
    for i in range(n):
        top = z[i, 0]
        for j in range(1, c):
            top = max(top, z[i, j])
        sum_exp = 0.0
        for j in range(c):
            sum_exp += np.exp(z[i, j] - top)
        log_norm = top + np.log(sum_exp)
        for j in range(c):
            grad[i, j] = scale * np.exp(z[i, j] - log_norm)
        if target.ndim == 1:
            k = target[i]
            total += log_norm - z[i, k]
            grad[i, k] -= scale
        else:
            for j in range(c):
                t = target[i, j]
                total += t * (log_norm - z[i, j])
                grad[i, j] -= scale * t
    return total * scale

"""Loss values and their gradients in one pass over (n, m) predictions.

Each kernel returns the mean loss (float64 accumulation) and writes dL/dpred into `grad`.
The *_logits kernels take pre-activations and give the gradient at the logits directly,
finite for any logits (log-sum-exp and softplus forms).

Sample weights ride in the same pass: `weight` is (n,) in the predictions' dtype, or empty
for a weight of 1 each. Row i's loss l_i (the mean over its m elements; the sum over the
classes for the categorical forms) counts w_i times and the batch mean stays over n rows:
sum_i w_i l_i / n, Keras' normalisation (not PyTorch's sum_i w_i l_i / sum_i w_i), so a
weight of 2 counts a row twice and the scale of the loss does not jump with the weights a
batch happens to hold.
"""

import numpy as np

from nnx.kernels.jit import kernel

PROB_EPS = 1e-7  # probabilities are clipped to [eps, 1 - eps] before the log, as Keras does
BCE_GRAD_EPS = 1e-12  # PyTorch's clamp of p(1 - p) in the BCE gradient


@kernel
def _row_weight(weight, i, one):
    """w_i of (n,) `weight`, or `one` (in the predictions' dtype) when it is empty."""
    return weight[i] if weight.shape[0] > 0 else one


@kernel
def mse(pred, target, weight, grad):
    """mean((pred - target)^2) over all elements, row i counted weight[i] times."""
    n, m = pred.shape
    scale = pred.dtype.type(2.0 / (n * m))
    one = pred.dtype.type(1.0)
    total = 0.0
    for i in range(n):
        w = _row_weight(weight, i, one)
        s = scale * w
        row = 0.0
        for j in range(m):
            d = pred[i, j] - target[i, j]
            row += d * d
            grad[i, j] = s * d
        total += w * row
    return total / (n * m)


@kernel
def mae(pred, target, weight, grad):
    """mean |pred - target|, row i counted weight[i] times; the gradient of |0| is 0, as in
    PyTorch."""
    n, m = pred.shape
    scale = pred.dtype.type(1.0 / (n * m))
    one = pred.dtype.type(1.0)
    total = 0.0
    for i in range(n):
        w = _row_weight(weight, i, one)
        s = scale * w
        row = 0.0
        for j in range(m):
            d = pred[i, j] - target[i, j]
            row += abs(d)
            grad[i, j] = s * np.sign(d)
        total += w * row
    return total / (n * m)


@kernel
def huber(pred, target, delta, weight, grad):
    """mean of 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta); row i counted
    weight[i] times."""
    n, m = pred.shape
    scale = pred.dtype.type(1.0 / (n * m))
    one = pred.dtype.type(1.0)
    delta_ = pred.dtype.type(delta)
    total = 0.0
    for i in range(n):
        w = _row_weight(weight, i, one)
        s = scale * w
        row = 0.0
        for j in range(m):
            d = pred[i, j] - target[i, j]
            if abs(d) <= delta_:
                row += 0.5 * d * d
                grad[i, j] = s * d
            else:
                row += delta * (abs(d) - 0.5 * delta)
                grad[i, j] = s * delta_ * np.sign(d)
        total += w * row
    return total / (n * m)


@kernel
def bce(prob, target, weight, grad):
    """Binary cross-entropy of probabilities, mean over all elements (multi-label too), row i
    counted weight[i] times."""
    n, m = prob.shape
    scale = 1.0 / (n * m)
    one = prob.dtype.type(1.0)
    total = 0.0
    for i in range(n):
        w = _row_weight(weight, i, one)
        s = scale * w
        row = 0.0
        for j in range(m):
            p = min(max(prob[i, j], PROB_EPS), 1.0 - PROB_EPS)
            t = target[i, j]
            row -= t * np.log(p) + (1.0 - t) * np.log(1.0 - p)
            q = prob[i, j]
            grad[i, j] = s * (q - t) / max(q * (1.0 - q), BCE_GRAD_EPS)
        total += w * row
    return total * scale


@kernel
def bce_logits(z, target, weight, grad):
    """Binary cross-entropy of logits: max(z, 0) - z t + log(1 + exp(-|z|)); grad sigmoid(z) - t;
    row i counted weight[i] times."""
    n, m = z.shape
    scale = 1.0 / (n * m)
    one = z.dtype.type(1.0)
    total = 0.0
    for i in range(n):
        w = _row_weight(weight, i, one)
        s = scale * w
        row = 0.0
        for j in range(m):
            v = z[i, j]
            t = target[i, j]
            row += max(v, 0.0) - v * t + np.log1p(np.exp(-abs(v)))
            if v >= 0:
                sig = 1.0 / (1.0 + np.exp(-v))
            else:
                e = np.exp(v)
                sig = e / (1.0 + e)
            grad[i, j] = s * (sig - t)
        total += w * row
    return total * scale


@kernel
def cce(prob, target, weight, grad):
    """Categorical cross-entropy of probabilities; target (n,) int labels or (n, c) one-hot;
    row i counted weight[i] times."""
    n, c = prob.shape
    scale = 1.0 / n
    one = prob.dtype.type(1.0)
    total = 0.0
    grad[:, :] = 0
    for i in range(n):
        w = _row_weight(weight, i, one)
        s = scale * w
        if target.ndim == 1:
            k = target[i]
            p = max(prob[i, k], PROB_EPS)
            total -= w * np.log(p)
            grad[i, k] = -s / p
        else:
            row = 0.0
            for j in range(c):
                t = target[i, j]
                if t != 0:
                    p = max(prob[i, j], PROB_EPS)
                    row -= t * np.log(p)
                    grad[i, j] = -s * t / p
            total += w * row
    return total * scale


@kernel
def cce_logits(z, target, weight, grad):
    """Softmax cross-entropy of logits: log-sum-exp(z) - z[label]; grad softmax(z) - onehot;
    row i counted weight[i] times."""
    n, c = z.shape
    scale = 1.0 / n
    one = z.dtype.type(1.0)
    total = 0.0
    for i in range(n):
        w = _row_weight(weight, i, one)
        s = scale * w
        top = z[i, 0]
        for j in range(1, c):
            top = max(top, z[i, j])
        sum_exp = 0.0
        for j in range(c):
            sum_exp += np.exp(z[i, j] - top)
        log_norm = top + np.log(sum_exp)
        for j in range(c):
            grad[i, j] = s * np.exp(z[i, j] - log_norm)
        if target.ndim == 1:
            k = target[i]
            total += w * (log_norm - z[i, k])
            grad[i, k] -= s
        else:
            row = 0.0
            for j in range(c):
                t = target[i, j]
                row += t * (log_norm - z[i, j])
                grad[i, j] -= s * t
            total += w * row
    return total * scale

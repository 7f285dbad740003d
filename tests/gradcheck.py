"""Central finite differences in float64: the reference for every gradient in nnx."""

import numpy as np


def numeric_grad(f, x, eps=1e-6):
    """d f() / d x by central differences; f reads x (which is perturbed in place)."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def max_rel_error(a, b):
    """max |a - b| / max(|a|, |b|, 1e-8) over all elements: scale-free, strict near zero."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-8)))


def check_layer_gradients(layer, x, seed=0, tol=1e-6, eps=1e-6):
    """Compare a built float64 layer's backward (dx and every grad) with finite differences of
    L = sum(forward(x) * r) for a fixed random r (step eps). Returns {name: max relative
    error}."""
    rng = np.random.default_rng(seed)
    y = layer.forward(x, training=True)
    r = rng.standard_normal(y.shape)

    def loss():
        return float(np.sum(layer.forward(x, training=True) * r))

    layer.forward(x, training=True)
    dx = layer.backward(r.copy())
    analytic = {"x": dx, **{k: g.copy() for k, g in layer.grads.items()}}
    errors = {"x": max_rel_error(dx, numeric_grad(loss, x, eps))}
    for key, param in layer.params.items():
        errors[key] = max_rel_error(analytic[key], numeric_grad(loss, param, eps))
    bad = {k: e for k, e in errors.items() if e > tol}
    assert not bad, f"gradient mismatch for {layer.name}: {bad}"
    return errors

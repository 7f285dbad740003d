"""Synthetic datasets drawn with numpy from a Generator: the same seed gives the same arrays.

Each function takes the generator and its options and returns (x, y) with x (N, ...) float64
and y int class codes (N,) or float targets (N, K).
"""

import numpy as np

from nnx.errors import NnxError

# The multilabel rule must not change with the seed (the seed draws the samples only), so
# that every trial of a search learns the same function.
MULTILABEL_RULE_SEED = 20240611
IMBALANCED_RULE_SEED = 20261204  # as for multilabel: the seed draws the samples only
IMBALANCED_INFORMATIVE = 5  # the features of `imbalanced` (of 20) its rule reads


def sine(rng, n_samples, noise):
    """y = sin(x) + noise, x uniform in [-pi, pi]."""
    x = rng.uniform(-np.pi, np.pi, size=(n_samples, 1))
    return x, np.sin(x) + noise * rng.standard_normal((n_samples, 1))


def moons(rng, n_samples, noise):
    """Two interleaved half circles; class 0 the upper, class 1 the lower."""
    y = _balanced_labels(rng, n_samples, 2)
    t = rng.uniform(0.0, np.pi, n_samples)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where(y[:, None] == 0, upper, lower)
    return x + noise * rng.standard_normal(x.shape), y


def circles(rng, n_samples, noise, factor):
    """A circle of radius `factor` (class 1) inside one of radius 1 (class 0)."""
    y = _balanced_labels(rng, n_samples, 2)
    t = rng.uniform(0.0, 2.0 * np.pi, n_samples)
    radius = np.where(y == 1, factor, 1.0)[:, None]
    x = radius * np.stack([np.cos(t), np.sin(t)], axis=1)
    return x + noise * rng.standard_normal(x.shape), y


def xor(rng, n_samples, noise):
    """Points in [-1, 1]^2; class 1 where the two coordinates differ in sign."""
    clean = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    y = ((clean[:, 0] > 0) != (clean[:, 1] > 0)).astype(np.int64)
    return clean + noise * rng.standard_normal(clean.shape), y


def spirals(rng, n_samples, noise):
    """Three spiral arms, one class each; `noise` jitters the angle (radians)."""
    y = _balanced_labels(rng, n_samples, 3)
    r = rng.uniform(0.05, 1.0, n_samples)
    angle = 2.0 * np.pi * y / 3 + 4.0 * r + noise * rng.standard_normal(n_samples)
    return np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1), y


def multilabel(rng, n_samples, n_features, n_labels):
    """x ~ N(0, I); label k is 1 where p1 * p2 + 0.5 * p3 > 0 for three fixed unit projections.

    The product needs a hidden layer (a linear model stays near chance on it). Each label
    is 1 for about half the rows, so the majority baseline (all zeros) scores about 0.5
    element-wise accuracy and about 0.5 ** n_labels subset accuracy.
    """
    w = np.random.default_rng(MULTILABEL_RULE_SEED).standard_normal((n_labels, 3, n_features))
    w /= np.linalg.norm(w, axis=2, keepdims=True)
    x = rng.standard_normal((n_samples, n_features))
    p = np.einsum("nf,kjf->nkj", x, w)
    y = (p[:, :, 0] * p[:, :, 1] + 0.5 * p[:, :, 2] > 0).astype(np.float64)
    return x, y


def sequence_sum(rng, n_samples, length):
    """x (N, T, 1) uniform in [-1, 1]; y (N, 1) its sum over time."""
    x = rng.uniform(-1.0, 1.0, size=(n_samples, length, 1))
    return x, x.sum(axis=1)


def signal(rng, n_samples, length, noise):
    """x (N, 1, L): class 0 sine, 1 square, 2 sawtooth, 1.5-4 cycles at a random phase."""
    y = _balanced_labels(rng, n_samples, 3)
    cycles = rng.uniform(1.5, 4.0, (n_samples, 1))
    phase = rng.uniform(0.0, 1.0, (n_samples, 1))
    position = cycles * np.arange(length) / length + phase
    fraction = position % 1.0
    waves = np.stack([np.sin(2.0 * np.pi * position),
                      np.where(fraction < 0.5, 1.0, -1.0),
                      2.0 * fraction - 1.0])
    x = waves[y, np.arange(n_samples)] + noise * rng.standard_normal((n_samples, length))
    return x[:, None, :], y


def noisy_sine_next(rng, n_samples, length, noise):
    """x (N, T, 1): T noisy samples of a sine of random frequency and phase; y (N, 1) the
    noise-free next value, so a perfect forecaster reaches zero loss."""
    omega = rng.uniform(0.15, 0.45, (n_samples, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, (n_samples, 1))
    clean = np.sin(omega * np.arange(length + 1) + phase)
    x = clean[:, :length] + noise * rng.standard_normal((n_samples, length))
    return x[:, :, None], clean[:, length:]


def min_max_order(rng, n_samples, length, vocab):
    """x (N, T) token ids in 0..vocab-1; y 1 where the sequence's smallest id comes before its
    largest, else 0 (balanced).

    The smallest (lo) and the largest (hi) id occur once each, hi - lo >= 2, and every other
    step draws an id strictly between them. Which ids are the extremes changes from sequence
    to sequence, so finding them means comparing the tokens with each other: a model that
    weighs each position on its own (an MLP on the flattened ids) cannot read off the order
    as it could for two fixed marker ids, whose positions are linear in a one-hot input.
    """
    y = _balanced_labels(rng, n_samples, 2)
    lo = rng.integers(0, vocab - 2, n_samples)
    hi = rng.integers(lo + 2, vocab)
    x = rng.integers(lo[:, None] + 1, hi[:, None], (n_samples, length))
    first = rng.integers(0, length, n_samples)
    second = (first + rng.integers(1, length, n_samples)) % length
    early, late = np.minimum(first, second), np.maximum(first, second)
    rows = np.arange(n_samples)
    x[rows, early] = np.where(y == 1, lo, hi)
    x[rows, late] = np.where(y == 1, hi, lo)
    return x.astype(np.float64), y


def imbalanced(rng, n_samples, positives, ceiling):
    """x ~ N(0, I) in 20 features; y = 1 with the probability `imbalanced_probability` gives.

    With a ceiling below 0.5, positives are the majority nowhere (as in fraud data): a model
    of the true probabilities predicts no positive at the 0.5 threshold, so F1 needs the
    rare class weighted up (or another threshold).
    """
    if positives >= ceiling:
        raise NnxError(f"data.positives ({positives}) must be below data.ceiling ({ceiling}), "
                       "the largest probability of class 1 anywhere")
    x = rng.standard_normal((n_samples, 20))
    probability = imbalanced_probability(x, positives, ceiling)
    return x, (rng.random(n_samples) < probability).astype(np.int64)


def imbalanced_probability(x, positives, ceiling):
    """P(y = 1 | x) of `imbalanced`: ceiling * sigmoid(3 (s - c)), where
    s = (p1 + p2 p3 - r) / sqrt(2 + r^2) is a standardized nonlinear score of three fixed
    unit projections of the first 5 features (r = E[p2 p3]) and the offset c makes the mean
    probability over x ~ N(0, I) equal `positives`. It depends on the options only."""
    rule = np.random.default_rng(IMBALANCED_RULE_SEED)
    w = np.zeros((3, x.shape[1]))
    w[:, :IMBALANCED_INFORMATIVE] = rule.standard_normal((3, IMBALANCED_INFORMATIVE))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    r = float(w[1] @ w[2])

    def score(rows):
        p = rows @ w.T
        return (p[:, 0] + p[:, 1] * p[:, 2] - r) / np.sqrt(2.0 + r * r)

    reference = score(rule.standard_normal((200_000, x.shape[1])))
    low, high = -20.0, 20.0
    for _ in range(60):  # bisect the offset c: the mean probability falls as c grows
        c = 0.5 * (low + high)
        share = np.mean(ceiling / (1.0 + np.exp(-3.0 * (reference - c))))
        low, high = (c, high) if share > positives else (low, c)
    return ceiling / (1.0 + np.exp(-3.0 * (score(x) - c)))


def _balanced_labels(rng, n_samples, n_classes):
    """Class codes with counts differing by at most one, in random order."""
    return rng.permutation(np.arange(n_samples) % n_classes).astype(np.int64)

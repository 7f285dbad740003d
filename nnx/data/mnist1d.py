"""MNIST-1D (Greydanus 2020, "Scaling down deep learning"), generated here with numpy.

Each signal is one of ten 12-point digit templates, padded with 36-60 zeros and stretched
to 72 points, scaled by 0.8-1.2, shifted (cyclically) by 0-47 points; the background (the
padding) becomes smooth noise, every point gets small i.i.d. noise, a random linear trend
(shear) is subtracted and the result is resampled to 40 points. The whole set is then
centred and scaled to mean 0 and standard deviation 1, as the paper's set is. The steps and
their defaults are the paper's; the random stream is numpy's `default_rng(seed)`, so the
signals are alike in distribution to the paper's published file, not equal to it.
"""

import numpy as np

# The ten digits as 12-point strokes (the paper's templates: one bump, dip or wave each).
TEMPLATES = np.array([
    [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
    [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
    [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
    [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
    [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
    [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
    [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
    [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
])
MIN_PADDING, MAX_PADDING = 36, 60
SCALE_RANGE = 0.4          # amplitude factor uniform in 1 +- SCALE_RANGE / 2
MAX_SHIFT = 48             # cyclic shift uniform in 0..MAX_SHIFT - 1
SMOOTH_NOISE, SMOOTH_SIGMA = 0.25, 2.0
IID_NOISE = 0.02
SHEAR_RANGE = 0.75         # slope uniform in +- SHEAR_RANGE / 2 over the signal
LENGTH = 40
# Rows drawn per step: bounds the memory of the 72-point working arrays for large sets.
BLOCK_ROWS = 50_000


def mnist1d(n_samples, seed):
    """x (N, 40) float64 of mean 0 and std 1 over the set; y (N,) digit codes 0-9, balanced.

    The dataset is fixed by (n_samples, seed), like a downloaded one: the experiment's own
    seed draws the split and the weights, never the signals.
    """
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n_samples) % len(TEMPLATES)).astype(np.int64)
    strokes = _normalized_templates()
    x = np.concatenate([_signals(strokes[y[start:start + BLOCK_ROWS]], rng)
                        for start in range(0, n_samples, BLOCK_ROWS)])
    return (x - x.mean()) / x.std(), y


def _normalized_templates():
    """Each template whitened, then shifted to start (and end) at 0 and divided by 6."""
    t = (TEMPLATES - TEMPLATES.mean(axis=1, keepdims=True)) / TEMPLATES.std(axis=1, keepdims=True)
    return (t - t[:, :1]) / 6.0


def _signals(strokes, rng):
    """(N, 40) signals from (N, 12) template strokes, following the paper's transform."""
    n, points = len(strokes), strokes.shape[1]
    width = points + MAX_PADDING
    padding = rng.integers(MIN_PADDING, MAX_PADDING + 1, n)
    # Stretch template + padding (points + padding cells, the padding zeros) onto `width`
    # points. `footprint` marks the points that read a template cell (up to the step into
    # the first padding zero); the others are background, which becomes smooth noise.
    source = np.linspace(0.0, 1.0, width)[None, :] * (points + padding[:, None] - 1)
    x = _linear_resample(np.pad(strokes, ((0, 0), (0, width - points))), source)
    x *= 1.0 + SCALE_RANGE * (rng.random((n, 1)) - 0.5)
    footprint = source < points
    shift = rng.integers(0, MAX_SHIFT, n)
    rolled = (np.arange(width)[None, :] - shift[:, None]) % width
    x = np.take_along_axis(x, rolled, axis=1)
    footprint = np.take_along_axis(footprint, rolled, axis=1)
    background = _gaussian_smooth(SMOOTH_NOISE * rng.standard_normal((n, width)), SMOOTH_SIGMA)
    x = np.where(footprint, x, background) + IID_NOISE * rng.standard_normal((n, width))
    slope = SHEAR_RANGE * (rng.random((n, 1)) - 0.5)
    x -= slope * np.linspace(-0.5, 0.5, width)[None, :]
    return _linear_resample(x, np.broadcast_to(np.linspace(0.0, width - 1, LENGTH), (n, LENGTH)))


def _linear_resample(rows, positions):
    """rows (N, W) read at fractional indices positions (N, M) in [0, W-1], linearly."""
    low = np.minimum(np.floor(positions).astype(np.int64), rows.shape[1] - 2)
    weight = positions - low
    left = np.take_along_axis(rows, low, axis=1)
    right = np.take_along_axis(rows, low + 1, axis=1)
    return left + weight * (right - left)


def _gaussian_smooth(rows, sigma):
    """Each row (N, W) convolved with a Gaussian of `sigma` cut at 4 sigma, the edges
    mirrored (a b c | c b a), as scipy.ndimage.gaussian_filter1d does by default."""
    radius = int(4.0 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(rows, ((0, 0), (radius, radius)), mode="symmetric")
    width = rows.shape[1]
    return sum(weight * padded[:, k:k + width] for k, weight in enumerate(taps))

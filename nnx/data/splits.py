"""Train/validation/test row indices: fractions of all rows, stratified by class, seeded."""

import numpy as np

from nnx.errors import NnxError


def split_sizes(n_rows, validation_split, test_split):
    """Rows for (train, val, test); a positive fraction gets at least one row."""
    def size(fraction):
        return 0 if fraction == 0 else max(1, int(np.floor(fraction * n_rows + 0.5)))

    n_val, n_test = size(validation_split), size(test_split)
    n_train = n_rows - n_val - n_test
    if n_train < 1:
        raise NnxError(f"data: {n_rows} rows leave no training rows with validation_split "
                       f"{validation_split} and test_split {test_split}")
    return n_train, n_val, n_test


def split_indices(n_rows, validation_split, test_split, rng, labels=None):
    """(train, val, test) index arrays, each shuffled; val/test are None for a fraction of 0.

    With `labels` (int class codes) the split is stratified: each class puts its
    largest-remainder share into val and into test (within one row of its proportion
    there); train takes the rest of each class (within two rows).
    """
    n_train, n_val, n_test = split_sizes(n_rows, validation_split, test_split)
    if labels is None:
        order = rng.permutation(n_rows)
        val, test, train = np.split(order, [n_val, n_val + n_test])
    else:
        val, test, train = _stratified(labels, n_val, n_test, rng)
    return (rng.permutation(train), rng.permutation(val) if n_val else None,
            rng.permutation(test) if n_test else None)


def _stratified(labels, n_val, n_test, rng):
    members = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    counts = np.array([len(m) for m in members])
    val_counts = _apportion(counts, n_val, rng)
    test_counts = _apportion(counts, n_test, rng, cap=counts - val_counts)
    val, test, train = [], [], []
    for rows, nv, nt in zip(members, val_counts, test_counts, strict=True):
        val.append(rows[:nv])
        test.append(rows[nv:nv + nt])
        train.append(rows[nv + nt:])
    return np.concatenate(val), np.concatenate(test), np.concatenate(train)


def _apportion(counts, total, rng, cap=None):
    """Integer shares of `total` proportional to `counts` (largest remainder; ties at random)."""
    quota = counts * total / counts.sum()
    shares = np.floor(quota).astype(np.int64)
    cap = counts if cap is None else cap
    shares = np.minimum(shares, cap)
    remainder = quota - shares
    # Random keys break ties between equal remainders without favouring low class codes.
    order = np.lexsort((rng.random(len(counts)), -remainder))
    while shares.sum() < total:
        for c in order:
            if shares.sum() < total and shares[c] < cap[c]:
                shares[c] += 1
    return shares


def split_views(x, parts):
    """[train, val, test] views of `x`, whose rows follow the order of `parts`."""
    views, start = [], 0
    for part in parts:
        views.append(None if part is None else x[start:start + len(part)])
        start += 0 if part is None else len(part)
    return views

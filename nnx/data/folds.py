"""Cross-validation folds (`data.folds: K`) of the rows outside the test split.

The K validation sets are disjoint and together hold each of those rows exactly once; fold k
trains on the other K - 1. For classes they are stratified as scikit-learn's StratifiedKFold
is: every class is split within one row of evenly, so each fold keeps the class
proportions. The seed fixes them. The test split is the one the same experiment without
folds holds out, so both estimates are of the same rows.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnx.errors import NnxError


def fold_rows(rows, k, rng, labels=None, classes=None):
    """K index arrays (shuffled) partitioning `rows`; stratified by `labels` (int class codes
    per row of the whole data) when given. NnxError when a fold would miss a class or be
    empty: K above the rows, or above the smallest class (`classes` name them)."""
    if k > len(rows):
        raise NnxError(f"data.folds: {k} folds need at least {k} rows outside the test split; "
                       f"there are {len(rows)}")
    if labels is None:
        ordered = rng.permutation(rows)
    else:
        codes, counts = np.unique(labels[rows], return_counts=True)
        smallest = int(np.argmin(counts))
        if counts[smallest] < k:
            name = codes[smallest] if classes is None else classes[codes[smallest]]
            raise NnxError(f"data.folds: {k} folds are more than the {counts[smallest]} rows of "
                           f"the smallest class ({name!r}) outside the test split; use at most "
                           f"{counts[smallest]} folds")
        # Deal each class's rows (in random order) to the folds in turn, carrying on where
        # the previous class stopped: classes split evenly, fold sizes within one row.
        ordered = np.concatenate([rng.permutation(rows[labels[rows] == c]) for c in codes])
    position = np.arange(len(ordered)) % k
    return [rng.permutation(ordered[position == i]) for i in range(k)]


@dataclass
class CrossValidation:
    """The folds of an experiment: `split(k)` is fold k's DataSplits (validation: fold k,
    training: the other folds, test: the held-out test rows, or None)."""

    validation_rows: list
    test_rows: np.ndarray | None
    make_splits: Callable  # (train rows, validation rows, test rows) -> DataSplits

    @property
    def count(self):
        return len(self.validation_rows)

    def split(self, k):
        train = np.concatenate([rows for i, rows in enumerate(self.validation_rows) if i != k])
        return self.make_splits(train, self.validation_rows[k], self.test_rows)

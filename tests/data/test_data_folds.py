"""Cross-validation folds: the validation sets partition the rows outside the test split
exactly once, stratified by class, fixed by the seed; the test split is the one without
folds; each fold's preprocessing is fitted on its own training rows. And the CSV column of
sample weights, which stays with its rows."""

import numpy as np
import pytest

from nnx.data import load_data
from nnx.data.folds import fold_rows
from nnx.errors import NnxError


def fold_splits(config, seed=0):
    first = load_data(config, seed)
    return first, [first, *(first.cv.split(k) for k in range(1, first.cv.count))]


@pytest.mark.parametrize("k", [2, 3, 5, 7])
def test_validation_folds_partition_the_rows_outside_the_test_split(k):
    rng = np.random.default_rng(k)
    labels = np.repeat(np.arange(4), [9, 40, 23, 28])
    rows = rng.permutation(len(labels))[:80]  # the other 20 stand for a test split
    folds = fold_rows(rows, k, rng, labels)
    together = np.concatenate(folds)
    assert len(together) == len(rows) and set(together) == set(rows)  # each row once
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    counts = np.bincount(labels[rows], minlength=4)
    for fold in folds:  # every class within one row of an even split
        share = np.bincount(labels[fold], minlength=4)
        assert np.all(np.abs(share - counts / k) < 1), (share, counts / k)


def test_unstratified_folds_differ_in_size_by_at_most_one():
    folds = fold_rows(np.arange(103), 5, np.random.default_rng(0))
    assert sorted(len(f) for f in folds) == [20, 20, 21, 21, 21]
    assert sorted(np.concatenate(folds).tolist()) == list(range(103))


@pytest.mark.parametrize("name, folds", [("iris", 5), ("breast_cancer", 4), ("spirals", 3)])
def test_builtin_folds_partition_stratify_and_keep_the_test_split(name, folds):
    config = {"dataset": name, "validation_split": 0.2, "test_split": 0.2, "standardize": False}
    first, splits = fold_splits({**config, "folds": folds})
    plain = load_data(config, 0)
    assert first.cv.count == folds and plain.cv is None
    for split in splits:  # the same held-out test rows as without folds
        np.testing.assert_array_equal(split.x_test, plain.x_test)
        np.testing.assert_array_equal(split.y_test, plain.y_test)
    outside = np.concatenate([plain.x_train, plain.x_val])
    validation = np.concatenate([s.x_val for s in splits])
    assert sorted(map(tuple, validation)) == sorted(map(tuple, outside))  # each row once
    for split in splits:  # training = the rows outside the test split but not in validation
        assert sorted(map(tuple, np.concatenate([split.x_train, split.x_val]))) == \
            sorted(map(tuple, outside))
    labels = np.concatenate([plain.y_train, plain.y_val]).ravel().astype(int)
    counts = np.bincount(labels)
    for split in splits:
        share = np.bincount(split.y_val.ravel().astype(int), minlength=len(counts))
        assert np.all(np.abs(share - counts / folds) < 1), (share, counts / folds)


def test_folds_are_fixed_by_the_seed():
    config = {"dataset": "iris", "folds": 3}
    a, b, c = (load_data(config, seed).cv for seed in (4, 4, 5))
    for fa, fb in zip(a.validation_rows, b.validation_rows, strict=True):
        np.testing.assert_array_equal(fa, fb)
    assert not all(np.array_equal(fa, fc) for fa, fc in zip(a.validation_rows,
                                                            c.validation_rows))


def test_each_fold_standardizes_with_its_own_training_rows():
    config = {"dataset": "wine", "folds": 3, "test_split": 0.25}
    raw = load_data({**config, "standardize": False}, 1)
    scaled = load_data(config, 1)
    for k in range(3):
        fold_raw, fold = raw.cv.split(k), scaled.cv.split(k)
        mean, std = fold_raw.x_train.mean(axis=0), fold_raw.x_train.std(axis=0)
        np.testing.assert_allclose(fold.preprocessing.mean, mean, rtol=1e-5)
        np.testing.assert_allclose(fold.x_val, (fold_raw.x_val - mean) / std, rtol=1e-4,
                                   atol=1e-5)


def test_regression_and_autoencoder_folds_are_random_partitions():
    for config in ({"dataset": "sine", "n_samples": 103, "folds": 4, "test_split": 0.0,
                    "validation_split": 0.0},
                   {"dataset": "digits", "autoencoder": True, "folds": 2}):
        first, splits = fold_splits(config)
        n_outside = len(first.x_train) + len(first.x_val)
        assert sum(len(s.x_val) for s in splits) == n_outside
        if config.get("autoencoder"):
            for split in splits:
                assert split.y_val.shape == (len(split.x_val), 64)


@pytest.mark.parametrize("config, problem", [
    ({"dataset": "iris", "folds": 41}, "41 folds are more than the 40 rows of the smallest "
                                       "class (0) outside the test split; use at most 40"),
    ({"dataset": "sine", "n_samples": 10, "folds": 9, "test_split": 0.2},
     "9 folds need at least 9 rows outside the test split; there are 8"),
    ({"dataset": "iris", "folds": 1}, "data.folds must be an integer >= 2"),
    ({"dataset": "iris", "folds": True}, "data.folds must be an integer >= 2"),
    ({"dataset": "iris", "folds": 3.0}, "data.folds must be an integer >= 2"),
])
def test_bad_fold_counts_are_refused(config, problem):
    with pytest.raises(NnxError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load_data(config, 0)


def write_weighted_csv(tmp_path):
    rows = [f"{i},{(i * 7) % 5},{0.5 + i / 10},{'a' if i % 3 else 'b'}" for i in range(30)]
    path = tmp_path / "w.csv"
    path.write_text("x,z,weight,label\n" + "\n".join(rows) + "\n")
    return path


def test_sample_weight_column_is_not_a_feature_and_follows_its_rows(tmp_path):
    path = write_weighted_csv(tmp_path)
    data = load_data({"path": str(path), "target": "label", "sample_weight": "weight",
                      "standardize": False}, 0)
    assert data.preprocessing.columns == ["x", "z"] and data.input_shape == (2,)
    np.testing.assert_allclose(data.w_train, 0.5 + data.x_train[:, 0] / 10)
    folds = load_data({"path": str(path), "target": "label", "sample_weight": "weight",
                       "standardize": False, "folds": 3, "test_split": 0.0}, 0).cv
    for k in range(3):
        split = folds.split(k)
        np.testing.assert_allclose(split.w_train, 0.5 + split.x_train[:, 0] / 10)
    unweighted = load_data({"path": str(path), "target": "label"}, 0)
    assert unweighted.w_train is None and unweighted.input_shape == (3,)

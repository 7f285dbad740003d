import numpy as np
import pytest

from nnx.data import load_data
from nnx.data.splits import split_indices
from nnx.errors import NnxError


def test_fractions_are_of_all_rows_and_partition_them():
    rng = np.random.default_rng(0)
    train, val, test = split_indices(1000, 0.15, 0.25, rng)
    assert (len(train), len(val), len(test)) == (600, 150, 250)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(1000))


def test_zero_fraction_gives_none():
    s = load_data({"dataset": "moons", "validation_split": 0.0, "test_split": 0.0}, 0)
    assert s.x_val is None and s.y_val is None and s.x_test is None and s.y_test is None
    assert len(s.x_train) == 1000
    t = load_data({"dataset": "moons", "validation_split": 0.1, "test_split": 0}, 0)
    assert len(t.x_val) == 100 and t.x_test is None


def test_stratified_split_keeps_class_proportions():
    labels = np.repeat(np.arange(5), [7, 30, 101, 3, 59])  # 200 rows, uneven classes
    rng = np.random.default_rng(1)
    train, val, test = split_indices(len(labels), 0.2, 0.3, rng, labels)
    counts = np.bincount(labels)
    for part, fraction, tolerance in ((val, 0.2, 1), (test, 0.3, 1), (train, 0.5, 2)):
        share = np.bincount(labels[part], minlength=5)
        assert np.all(np.abs(share - counts * fraction) <= tolerance), (share, counts * fraction)
    assert (len(val), len(test)) == (40, 60)


@pytest.mark.parametrize("name", ["iris", "breast_cancer", "spirals"])
def test_builtin_classification_splits_are_stratified(name):
    s = load_data({"dataset": name}, 7)
    y = [v.ravel().astype(int) for v in (s.y_train, s.y_val, s.y_test)]
    whole = np.bincount(np.concatenate(y))
    n = whole.sum()
    for part in y[1:]:
        share = np.bincount(part, minlength=len(whole))
        assert np.all(np.abs(share - whole * len(part) / n) <= 1)


def test_split_depends_on_seed():
    a, b = (load_data({"dataset": "iris"}, seed) for seed in (0, 1))
    assert not np.array_equal(a.x_val, b.x_val)


def test_positive_fraction_of_tiny_data_gets_a_row():
    rng = np.random.default_rng(0)
    train, val, test = split_indices(5, 0.01, 0.01, rng)
    assert (len(train), len(val), len(test)) == (3, 1, 1)


@pytest.mark.parametrize("update, message", [
    ({"validation_split": 1.0}, r"data.validation_split must be a fraction in \[0, 1\), got 1.0"),
    ({"validation_split": -0.1}, r"data.validation_split must be a fraction in \[0, 1\)"),
    ({"test_split": "0.2"}, r"data.test_split must be a fraction in \[0, 1\), got '0.2'"),
    ({"test_split": float("nan")}, r"data.test_split must be a fraction"),
    ({"validation_split": 0.5, "test_split": 0.5},
     r"data.validation_split \+ data.test_split must be below 1.*0.5 \+ 0.5"),
])
def test_bad_fractions_name_the_field(update, message):
    with pytest.raises(NnxError, match=message):
        load_data({"dataset": "moons", **update}, 0)


def test_too_few_rows_for_the_split():
    with pytest.raises(NnxError, match="4 rows leave no training rows"):
        load_data({"dataset": "moons", "n_samples": 4, "validation_split": 0.5,
                   "test_split": 0.4}, 0)

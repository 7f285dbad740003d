"""The built-in `min_max_order` dataset: token ids where order decides the label."""

import numpy as np
import pytest

from nnx.data import DATASETS, check_data_config, load_data
from nnx.data.synthetic import min_max_order
from nnx.errors import NnxError


def _all_rows(**options):
    s = load_data({"dataset": "min_max_order", "validation_split": 0, "test_split": 0,
                   **options}, 0)
    return s.x_train, s.y_train[:, 0]


def test_metadata_and_splits():
    info = DATASETS.get("min_max_order")
    assert (info.task, info.input_shape, info.n_samples, info.n_classes) == (
        "binary", (12,), 2000, 2)
    s = load_data({"dataset": "min_max_order"}, 0)
    assert (s.task, s.input_shape, s.output_units) == ("binary", (12,), 1)
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (1200, 400, 400)
    for y in (s.y_train, s.y_val, s.y_test):  # stratified and balanced
        assert y.mean() == pytest.approx(0.5, abs=0.01)


def test_label_is_whether_the_smallest_id_comes_before_the_largest():
    x, y = _all_rows(n_samples=500)
    assert np.array_equal(x, np.round(x)) and x.min() >= 0 and x.max() <= 9
    lo, hi = x.min(axis=1), x.max(axis=1)
    assert np.all(hi - lo >= 2)
    assert np.all((x == lo[:, None]).sum(axis=1) == 1)  # each extreme occurs once
    assert np.all((x == hi[:, None]).sum(axis=1) == 1)
    first_lo, first_hi = np.argmax(x == lo[:, None], axis=1), np.argmax(x == hi[:, None], axis=1)
    np.testing.assert_array_equal(y, (first_lo < first_hi).astype(np.float32))
    assert y.mean() == 0.5


def test_the_extremes_vary_so_no_fixed_id_marks_them():
    x, _ = _all_rows()
    assert len(np.unique(x.min(axis=1))) == 8 and len(np.unique(x.max(axis=1))) == 8


def test_token_ids_are_not_standardized_by_default():
    assert check_data_config({"dataset": "min_max_order"})["standardize"] is False
    s = load_data({"dataset": "min_max_order"}, 1)
    assert s.preprocessing.mean is None and np.array_equal(s.x_test, np.round(s.x_test))
    scaled = load_data({"dataset": "min_max_order", "standardize": True}, 1)
    assert scaled.preprocessing.mean is not None  # allowed, for a model without an embedding


def test_options_and_seeds():
    x, y = _all_rows(n_samples=40, length=2, vocab=3)
    assert x.shape == (40, 2) and set(np.unique(x)) == {0.0, 2.0}
    np.testing.assert_array_equal(y, x[:, 0] == 0)
    x, _ = _all_rows(n_samples=30, length=50, vocab=1000)
    assert x.shape == (30, 50) and x.max() <= 999
    a, b, c = (min_max_order(np.random.default_rng(s), 64, 12, 10) for s in (5, 5, 6))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("options, message", [
    ({"vocab": 2}, r"data.vocab must be in \[3, "),
    ({"length": 1}, r"data.length must be in \[2, "),
    ({"vocab": 10.0}, "data.vocab must be an integer"),
])
def test_bad_options(options, message):
    with pytest.raises(NnxError, match=message):
        load_data({"dataset": "min_max_order", **options}, 0)

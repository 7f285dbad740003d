"""The built-in `imbalanced` set: about `positives` of the rows in class 1, a probability of
class 1 that never exceeds `ceiling`, a rule fixed by the options (the seed draws only the
rows), and options that contradict each other refused."""

import numpy as np
import pytest

from nnx.data import load_data
from nnx.data.synthetic import imbalanced, imbalanced_probability
from nnx.errors import NnxError


@pytest.mark.parametrize("positives, ceiling", [(0.03, 0.4), (0.1, 0.9)])
def test_positive_share_and_ceiling(positives, ceiling):
    x = np.random.default_rng(1).standard_normal((100_000, 20))
    probability = imbalanced_probability(x, positives, ceiling)
    assert probability.mean() == pytest.approx(positives, abs=0.002)
    assert probability.max() <= ceiling and probability.max() > 0.9 * ceiling
    _, y = imbalanced(np.random.default_rng(2), 100_000, positives, ceiling)
    assert y.mean() == pytest.approx(positives, abs=0.003)


def test_only_the_first_five_features_matter():
    x = np.random.default_rng(3).standard_normal((1000, 20))
    shuffled = x.copy()
    shuffled[:, 5:] = np.random.default_rng(4).standard_normal((1000, 15))
    np.testing.assert_array_equal(imbalanced_probability(x, 0.03, 0.4),
                                  imbalanced_probability(shuffled, 0.03, 0.4))


def test_the_seed_draws_the_rows_and_stratified_splits_keep_the_share():
    a, b = (load_data({"dataset": "imbalanced", "n_samples": 4000}, seed) for seed in (0, 1))
    assert not np.array_equal(a.x_train, b.x_train)
    shares = [float(part.mean()) for part in (a.y_train, a.y_val, a.y_test)]
    assert max(shares) - min(shares) < 0.002


def test_positives_at_or_above_the_ceiling_are_refused():
    with pytest.raises(NnxError, match=r"data.positives \(0.5\) must be below data.ceiling"):
        load_data({"dataset": "imbalanced", "positives": 0.5, "ceiling": 0.4}, 0)

"""MNIST-1D: the generator's steps against references, its determinism, the three shapes,
the default split, and a linear model scoring about what the paper reports (32 %)."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from nnx.data import DATASETS, check_data_config, load_data
from nnx.data.mnist1d import _gaussian_smooth, _linear_resample, _normalized_templates, mnist1d
from nnx.errors import NnxError

VARIANTS = {"mnist1d": (40,), "mnist1d_channels": (1, 40), "mnist1d_sequence": (40, 1)}


def paper_steps_one_signal_at_a_time(n_samples, seed):
    """The paper's transform written out per signal with np.interp and scipy, on the same
    random draws in the same order; the template is marked by a 1e-8 offset and `!= 0`,
    as in the paper."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n_samples) % 10)
    padding = rng.integers(36, 61, n_samples)
    scale = 1 + 0.4 * (rng.random(n_samples) - 0.5)
    shift = rng.integers(0, 48, n_samples)
    smooth = gaussian_filter1d(0.25 * rng.standard_normal((n_samples, 72)), 2.0, axis=1)
    iid = 0.02 * rng.standard_normal((n_samples, 72))
    slope = 0.75 * (rng.random(n_samples) - 0.5)
    templates, signals = _normalized_templates(), []
    for i in range(n_samples):
        cells = np.concatenate([templates[y[i]] + 1e-8, np.zeros(padding[i])])
        x = np.interp(np.linspace(0, 1, 72), np.linspace(0, 1, len(cells)), cells) * scale[i]
        x = np.roll(x, shift[i])
        x = np.where(x != 0, x, smooth[i]) + iid[i] - slope[i] * np.linspace(-0.5, 0.5, 72)
        signals.append(np.interp(np.linspace(0, 1, 40), np.linspace(0, 1, 72), x))
    x = np.array(signals)
    return (x - x.mean()) / x.std(), y


def test_the_generator_takes_the_papers_steps():
    x, y = mnist1d(60, 3)
    x_ref, y_ref = paper_steps_one_signal_at_a_time(60, 3)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(x, x_ref, atol=1e-6)


def test_same_seed_same_signals_other_seed_differs():
    x, y = mnist1d(300, 7)
    x2, y2 = mnist1d(300, 7)
    x3, y3 = mnist1d(300, 8)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(y, y3) and np.abs(x - x3).mean() > 0.5


def test_the_seed_option_fixes_the_set_and_the_experiment_seed_only_the_split():
    config = {"dataset": "mnist1d", "n_samples": 200, "validation_split": 0,
              "test_split": 0.25}
    a, b = load_data(config, 0), load_data(config, 1)
    rows = {name: np.sort(np.concatenate([s.x_train, s.x_test]), axis=0)
            for name, s in (("a", a), ("b", b))}
    np.testing.assert_array_equal(rows["a"], rows["b"])  # the same 200 signals ...
    assert not np.array_equal(a.x_test, b.x_test)  # ... split differently
    other = load_data({**config, "seed": 43}, 0)
    assert not np.array_equal(np.sort(other.x_train, axis=0),
                              np.sort(a.x_train, axis=0))


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_holds_the_same_signals_in_its_shape(name):
    info = DATASETS.get(name)
    assert (info.input_shape, info.n_samples, info.n_classes) == (VARIANTS[name], 5000, 10)
    s = load_data({"dataset": name, "n_samples": 120, "seed": 5}, 3)
    flat = load_data({"dataset": "mnist1d", "n_samples": 120, "seed": 5}, 3)
    assert s.input_shape == VARIANTS[name] and s.x_train.shape[1:] == VARIANTS[name]
    np.testing.assert_array_equal(s.x_test.reshape(len(s.x_test), 40), flat.x_test)
    np.testing.assert_array_equal(s.y_test, flat.y_test)


def test_classes_are_balanced():
    assert np.bincount(mnist1d(5000, 42)[1]).tolist() == [500] * 10
    counts = np.bincount(mnist1d(1003, 0)[1], minlength=10)
    assert counts.max() - counts.min() == 1 and counts.sum() == 1003


def test_values_are_centred_scaled_and_bounded():
    x, _ = mnist1d(5000, 42)
    assert x.shape == (5000, 40) and x.dtype == np.float64 and np.isfinite(x).all()
    assert abs(x.mean()) < 1e-12 and x.std() == pytest.approx(1.0, abs=1e-12)
    assert 3.0 < np.abs(x).max() < 8.0  # templates plus noise, no outliers
    assert np.all(np.abs(x.mean(axis=0)) < 0.6) and np.all(x.std(axis=0) > 0.6)


def test_default_split_holds_out_the_papers_thousand_test_signals():
    s = load_data({"dataset": "mnist1d"}, 0)
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (3000, 1000, 1000)
    assert np.bincount(s.y_test).tolist() == [100] * 10
    generated = {row.tobytes() for row in mnist1d(5000, 42)[0].astype(np.float32)}
    assert all(row.tobytes() in generated for row in s.x_test)  # as generated: not rescaled


def test_templates_start_and_end_at_zero_with_std_one_sixth():
    t = _normalized_templates()
    assert t.shape == (10, 12)
    np.testing.assert_array_equal(t[:, 0], 0.0)
    np.testing.assert_allclose(t[:, -1], 0.0, atol=1e-15)
    np.testing.assert_allclose(t.std(axis=1), 1 / 6)
    assert len({tuple(row) for row in t.round(6)}) == 10


def test_smooth_noise_is_scipys_gaussian_filter():
    rows = np.random.default_rng(0).standard_normal((6, 72))
    np.testing.assert_allclose(_gaussian_smooth(rows, 2.0), gaussian_filter1d(rows, 2.0, axis=1),
                               atol=1e-14)


def test_linear_resample_is_numpys_interp():
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((4, 9))
    positions = np.sort(rng.uniform(0, 8, (4, 30)), axis=1)
    positions[:, -1] = 8.0  # the last point exactly
    expected = [np.interp(p, np.arange(9), r) for p, r in zip(positions, rows, strict=True)]
    np.testing.assert_allclose(_linear_resample(rows, positions), expected, atol=1e-14)


def test_logistic_regression_scores_about_the_papers_32_percent():
    from sklearn.linear_model import LogisticRegression

    s = load_data({"dataset": "mnist1d"}, 0)
    x_train, y_train = np.concatenate([s.x_train, s.x_val]), np.concatenate([s.y_train, s.y_val])
    model = LogisticRegression(max_iter=2000).fit(x_train, y_train)
    assert 0.25 <= model.score(s.x_test, s.y_test) <= 0.40


@pytest.mark.parametrize("option, value, message", [
    ("n_samples", 9, r"data.n_samples must be in \[10, 1000000\], got 9"),
    ("n_samples", 2.5, "data.n_samples must be an integer, got 2.5"),
    ("seed", 1.5, "data.seed must be an integer, got 1.5"),
    ("seed", "abc", "data.seed must be an integer, got 'abc'"),
    ("seed", -1, "data.seed must be >= 0, got -1"),
    ("noise", 0.1, "data.noise is not an option of dataset 'mnist1d'"),
])
def test_bad_options_name_the_field(option, value, message):
    with pytest.raises(NnxError, match=message):
        check_data_config({"dataset": "mnist1d", option: value})

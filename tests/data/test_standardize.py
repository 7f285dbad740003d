import numpy as np
import pytest

from nnx.data import load_data, scaling
from nnx.data.preprocessing import Preprocessor


def _raw(name, **options):
    return load_data({"dataset": name, "standardize": False, **options}, 5)


def test_tabular_standardization_uses_train_rows_only():
    raw, s = _raw("wine"), load_data({"dataset": "wine"}, 5)
    mean = raw.x_train.astype(np.float64).mean(axis=0)
    std = raw.x_train.astype(np.float64).std(axis=0)
    np.testing.assert_allclose(s.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(s.x_train.std(axis=0), 1, atol=1e-5)
    for scaled, unscaled in ((s.x_val, raw.x_val), (s.x_test, raw.x_test)):
        np.testing.assert_allclose(scaled, (unscaled - mean) / std, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(s.preprocessing.mean, mean, rtol=1e-6)
    # Fitted on train only: the validation rows are not centred exactly.
    assert np.abs(s.x_val.mean(axis=0)).max() > 1e-3


def test_constant_feature_keeps_scale_one():
    raw, s = _raw("digits"), load_data({"dataset": "digits"}, 5)
    constant = raw.x_train.min(axis=0) == raw.x_train.max(axis=0)
    assert constant.any()  # digits' corner pixels are always 0
    assert np.all(s.preprocessing.std[constant] == 1.0)
    np.testing.assert_array_equal(s.x_train[:, constant],
                                  raw.x_train[:, constant] - s.preprocessing.mean[constant])


def test_sequences_pool_rows_and_steps_per_feature():
    raw, s = _raw("digits_rows"), load_data({"dataset": "digits_rows"}, 5)
    x = raw.x_train.astype(np.float64)
    mean, std = x.mean(axis=(0, 1)), x.std(axis=(0, 1))
    assert s.preprocessing.mean.shape == (8,)
    np.testing.assert_allclose(s.x_val, (raw.x_val - mean) / std, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(s.x_train.mean(axis=(0, 1)), 0, atol=1e-5)


def test_images_pool_per_channel():
    raw, s = _raw("digits_images"), load_data({"dataset": "digits_images"}, 5)
    x = raw.x_train.astype(np.float64)
    mean, std = x.mean(), x.std()
    np.testing.assert_allclose(s.preprocessing.mean, [mean])
    np.testing.assert_allclose(s.x_test, (raw.x_test - mean) / std, rtol=1e-4, atol=1e-4)
    signal = load_data({"dataset": "signal"}, 5)
    assert signal.preprocessing.mean.shape == (1,)
    np.testing.assert_allclose(signal.x_train.std(), 1, atol=1e-4)


def test_standardize_false_leaves_x_as_is():
    s = _raw("iris")
    assert s.preprocessing.mean is None
    assert s.x_train.min() >= 0 and s.x_train.max() > 5  # raw centimetres
    # Same rows either way: standardization does not touch the split.
    t = load_data({"dataset": "iris"}, 5)
    np.testing.assert_allclose(t.x_train * t.preprocessing.std + t.preprocessing.mean,
                               s.x_train, rtol=1e-5)


def test_regression_targets_are_not_standardized():
    s = load_data({"dataset": "diabetes"}, 0)
    assert s.y_train.mean() > 100  # disease progression in its own units


@pytest.mark.parametrize("width", [1, 4, 5, 45])
def test_column_parts_fit_and_scale_as_one_pass_does_bit_for_bit(width, monkeypatch):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(300_000, width)) * 1e3 + 7).astype(np.float32)
    results = []
    for parts in (1, scaling.COLUMN_PARTS):
        monkeypatch.setattr(scaling, "COLUMN_PARTS", parts)
        pre, scaled = Preprocessor("regression", (width,), [f"x{i}" for i in range(width)]), \
            x.copy()
        pre.fit_rows(scaled, 200_000)
        pre.scale_in_place(scaled)
        results.append((pre.mean.tobytes(), pre.std.tobytes(), scaled.tobytes()))
    assert results[0] == results[1]

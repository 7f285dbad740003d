"""Autoencoders on digits from Python: a dense denoising one and a convolutional one train,
expose their code (`predict(output="code")`, `submodel`), and (slow) the dense one beats PCA
with the same code size on held-out digits (benchmarks/autoencoder_pca.py)."""

import importlib.util
import pathlib

import numpy as np
import pytest
from sklearn.datasets import load_digits

import nnx
from nnx import layers, optimizers

PIXELS = load_digits().data[:240] / 16.0  # [0, 1]
BENCHMARK = pathlib.Path(__file__).parents[2] / "benchmarks" / "autoencoder_pca.py"


def test_dense_denoising_autoencoder_learns_and_exposes_its_code(tmp_path):
    x = nnx.Input((64,), name="pixels")
    noisy = layers.GaussianNoise(0.2)(x)
    code = layers.Dense(8, name="code")(layers.Dense(32, activation="relu")(noisy))
    out = layers.Dense(64, activation="sigmoid")(layers.Dense(32, activation="relu")(code))
    model = nnx.Model(x, out, seed=0)
    model.compile(optimizer=optimizers.Adam(lr=3e-3), loss="mse")
    hist = model.fit(PIXELS, PIXELS, epochs=25, batch_size=16)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    clean = model.evaluate(PIXELS, PIXELS)["loss"]  # inference: no noise
    assert clean < hist.history["loss"][-1]
    np.testing.assert_array_equal(model.predict(PIXELS), model.predict(PIXELS))
    codes = model.predict(PIXELS, output="code")
    assert codes.shape == (240, 8)
    np.testing.assert_array_equal(model.submodel("code").predict(PIXELS), codes)
    model.save(tmp_path / "ae.npz")
    np.testing.assert_array_equal(nnx.load_model(tmp_path / "ae.npz").predict(
        PIXELS, output="code"), codes)


def test_convolutional_autoencoder_learns():
    images = PIXELS[:96].reshape(-1, 1, 8, 8)
    x = nnx.Input((1, 8, 8))
    h = layers.MaxPool2D(2)(layers.Conv2D(8, 3, padding="same", activation="relu")(x))
    code = layers.Conv2D(4, 3, padding="same", name="code")(h)
    h = layers.UpSampling2D(2)(layers.Conv2D(8, 3, padding="same", activation="relu")(code))
    out = layers.Conv2D(1, 3, padding="same", activation="sigmoid")(h)
    model = nnx.Model(x, out, seed=0)
    model.compile(optimizer=optimizers.Adam(lr=5e-3), loss="mse")
    hist = model.fit(images, images, epochs=12, batch_size=16)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    assert model.predict(images).shape == (96, 1, 8, 8)
    assert model.predict(images, output="code").shape == (96, 4, 4, 4)


@pytest.mark.slow
def test_dense_autoencoder_beats_pca_on_held_out_digits():
    spec = importlib.util.spec_from_file_location("autoencoder_pca", BENCHMARK)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.compare()
    for k, row in result["codes"].items():
        print(f"code {k}: PCA {row['pca']:.5f}, autoencoder {row['autoencoder']:.5f}")
        assert row["autoencoder"] < row["pca"]

"""Autoencoders vs PCA on held-out digits: `python -m benchmarks.autoencoder_pca`.

Data: scikit-learn's 8x8 digits, pixels scaled to [0, 1] (divided by 16), split 80/20
stratified by class (`random_state=0`). The figure is the reconstruction MSE per pixel on
the held-out 20 %, for a code of 8 and of 16 numbers:

- PCA: the top-k principal directions of the training split (numpy SVD of the centred data),
  test images projected and mapped back;
- dense autoencoder (nnx.Model): 64-128-64-k-64-128-64, ReLU, a linear code, a sigmoid
  output, MSE, Adam (lr 1e-3), batch 32, 100 epochs; the mean over seeds 0, 1, 2.
  `--noise S` trains it denoising (GaussianNoise(S) on the input, training only).
- `--conv`: also a convolutional autoencoder (Conv2D / MaxPool2D down to a 4x2x2 = 16-number
  code, UpSampling2D back), reported for code size 16.

The last line of stdout is the result as JSON.
"""

import argparse
import json
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import nnx
from nnx import layers, optimizers

CODE_SIZES = (8, 16)
SEEDS = (0, 1, 2)


def digits():
    """(train, test) pixels in [0, 1], shape (n, 64)."""
    x, y = load_digits(return_X_y=True)
    train, test = train_test_split(x / 16.0, test_size=0.2, random_state=0, stratify=y)
    return train, test


def pca_mse(train, test, k):
    mean = train.mean(axis=0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    basis = vt[:k]
    reconstruction = (test - mean) @ basis.T @ basis + mean
    return float(np.mean((reconstruction - test) ** 2))


def dense_autoencoder(code_size, seed, noise=0.0):
    pixels = nnx.Input((64,), name="pixels")
    h = layers.GaussianNoise(noise)(pixels) if noise else pixels
    h = layers.Dense(64, activation="relu")(layers.Dense(128, activation="relu")(h))
    code = layers.Dense(code_size, name="code")(h)
    h = layers.Dense(128, activation="relu")(layers.Dense(64, activation="relu")(code))
    out = layers.Dense(64, activation="sigmoid", name="reconstruction")(h)
    model = nnx.Model(pixels, out, seed=seed, name=f"dense_ae_{code_size}")
    return model.compile(optimizer=optimizers.Adam(lr=1e-3), loss="mse")


def conv_autoencoder(seed, noise=0.0):
    """(1, 8, 8) -> (4, 2, 2) = 16 numbers -> (1, 8, 8)."""
    image = nnx.Input((1, 8, 8), name="image")
    h = layers.GaussianNoise(noise)(image) if noise else image
    h = layers.MaxPool2D(2)(layers.Conv2D(16, 3, padding="same", activation="relu")(h))
    h = layers.MaxPool2D(2)(layers.Conv2D(16, 3, padding="same", activation="relu")(h))
    code = layers.Conv2D(4, 3, padding="same", name="code")(h)
    h = layers.UpSampling2D(2)(layers.Conv2D(16, 3, padding="same", activation="relu")(code))
    h = layers.UpSampling2D(2)(layers.Conv2D(16, 3, padding="same", activation="relu")(h))
    out = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="reconstruction")(h)
    model = nnx.Model(image, out, seed=seed, name="conv_ae_16")
    return model.compile(optimizer=optimizers.Adam(lr=2e-3), loss="mse")


def autoencoder_mse(make, train, test, epochs):
    model = make()
    model.fit(train, train, epochs=epochs, batch_size=32, verbose=0)
    return float(model.evaluate(test, test)["loss"])


def compare(epochs=100, seeds=SEEDS, noise=0.0, conv=False):
    train, test = digits()
    result = {"data": "digits scaled to [0, 1], 80/20 stratified split (random_state 0)",
              "metric": "held-out reconstruction MSE per pixel", "epochs": epochs,
              "seeds": list(seeds), "noise": noise, "codes": {}}
    for k in CODE_SIZES:
        start = time.perf_counter()
        runs = [autoencoder_mse(lambda s=s, k=k: dense_autoencoder(k, s, noise), train, test,
                                epochs) for s in seeds]
        result["codes"][str(k)] = {"pca": pca_mse(train, test, k),
                                   "autoencoder": float(np.mean(runs)),
                                   "autoencoder_runs": runs,
                                   "seconds": time.perf_counter() - start}
    if conv:
        images = (train.reshape(-1, 1, 8, 8), test.reshape(-1, 1, 8, 8))
        runs = [autoencoder_mse(lambda s=s: conv_autoencoder(s, noise), *images, epochs)
                for s in seeds]
        result["codes"]["16"]["conv_autoencoder"] = float(np.mean(runs))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--conv", action="store_true")
    args = parser.parse_args()
    result = compare(epochs=args.epochs, noise=args.noise, conv=args.conv)
    for k, row in result["codes"].items():
        conv = (f", conv autoencoder {row['conv_autoencoder']:.5f}"
                if "conv_autoencoder" in row else "")
        print(f"code {k:>2}: PCA {row['pca']:.5f}, dense autoencoder {row['autoencoder']:.5f} "
              f"(seeds {', '.join(f'{r:.5f}' for r in row['autoencoder_runs'])}){conv}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

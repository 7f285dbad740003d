"""The built-in datasets: one registry entry each, with the metadata `nnx datasets` shows.

Entries hold plain values and a loader; reading this module loads no data and imports
no scikit-learn, so listing and validating stay fast.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from nnx.data import synthetic
from nnx.data.mnist1d import mnist1d
from nnx.data.raw import RawData
from nnx.data.sklearn_cache import load_sklearn
from nnx.errors import NnxError
from nnx.registry import Registry


@dataclass(frozen=True)
class Option:
    """A dataset option: its default and the smallest/largest value allowed (None: unbounded)."""

    default: int | float
    low: int | float | None = None
    high: int | float | None = None


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata (for the defaults of its options) and the loader of a built-in dataset.

    `make(rng, **options)` returns (x, y): class codes 0..n_classes-1, or float targets.
    `standardize` is the default of `data.standardize`: False for token ids, which an
    Embedding takes as they are, and for MNIST-1D, whose generator scales the whole set as
    the paper does (per-position scaling would give its MLP variant other inputs).
    """

    name: str
    task: str
    input_shape: tuple
    n_samples: int
    source: str
    description: str
    make: Callable
    layout: str = "tabular"
    n_classes: int | None = None
    options: dict = field(default_factory=dict)
    standardize: bool = True


def _sklearn(name, reshape=None):
    """A loader of a scikit-learn dataset (its rng unused: the data are fixed)."""
    def make(rng):
        x, y = load_sklearn(name)
        return (x if reshape is None else x.reshape(len(x), *reshape)), y
    return make


def _mnist1d(shape):
    """A loader of MNIST-1D in `shape` (its rng unused: the signals are fixed by their own
    `seed` option, as the paper's set is fixed, so every experiment seed sees the same set)."""
    def make(rng, n_samples, seed):
        x, y = mnist1d(n_samples, seed)
        return x.reshape(len(x), *shape), y
    return make


MNIST1D = {"n_samples": Option(5000, low=10, high=1_000_000), "seed": Option(42, low=0)}


def _n_samples(default):
    return Option(default, low=4, high=10_000_000)


NOISE = partial(Option, low=0.0, high=10.0)

DATASETS = Registry("dataset")
for info in [
    DatasetInfo("diabetes", "regression", (10,), 442, "scikit-learn",
                "disease progression after one year from 10 baseline measurements",
                _sklearn("diabetes")),
    DatasetInfo("sine", "regression", (1,), 1000, "synthetic",
                "y = sin(x) + noise, x uniform in [-pi, pi]", synthetic.sine,
                options={"n_samples": _n_samples(1000), "noise": NOISE(0.1)}),
    DatasetInfo("breast_cancer", "binary", (30,), 569, "scikit-learn",
                "malignant (0) or benign (1) tumour from 30 cell-nucleus measurements",
                _sklearn("breast_cancer"), n_classes=2),
    DatasetInfo("moons", "binary", (2,), 1000, "synthetic",
                "two interleaved half circles", synthetic.moons, n_classes=2,
                options={"n_samples": _n_samples(1000), "noise": NOISE(0.1)}),
    DatasetInfo("circles", "binary", (2,), 1000, "synthetic",
                "a small circle (1) inside a large one (0)", synthetic.circles, n_classes=2,
                options={"n_samples": _n_samples(1000), "noise": NOISE(0.05),
                         "factor": Option(0.5, low=0.01, high=0.99)}),
    DatasetInfo("xor", "binary", (2,), 1000, "synthetic",
                "points in [-1, 1]^2, class 1 where the coordinates differ in sign",
                synthetic.xor, n_classes=2,
                options={"n_samples": _n_samples(1000), "noise": NOISE(0.1)}),
    DatasetInfo("imbalanced", "binary", (20,), 10000, "synthetic",
                "about 3 % positives (class 1) from a nonlinear rule on 5 of 20 features, "
                "never the majority anywhere (ceiling 0.4): rare events for class weights",
                synthetic.imbalanced, n_classes=2,
                options={"n_samples": _n_samples(10000),
                         "positives": Option(0.03, low=0.001, high=0.5),
                         "ceiling": Option(0.4, low=0.01, high=1.0)}),
    DatasetInfo("digits", "multiclass", (64,), 1797, "scikit-learn",
                "8x8 handwritten digits 0-9, flattened to 64 pixels", _sklearn("digits"),
                n_classes=10),
    DatasetInfo("digits_images", "multiclass", (1, 8, 8), 1797, "scikit-learn",
                "8x8 handwritten digits 0-9 as one-channel images (channels first)",
                _sklearn("digits", reshape=(1, 8, 8)), layout="channels", n_classes=10),
    DatasetInfo("digits_rows", "multiclass", (8, 8), 1797, "scikit-learn",
                "8x8 handwritten digits 0-9 read row by row: 8 steps of 8 features",
                _sklearn("digits", reshape=(8, 8)), layout="sequence", n_classes=10),
    DatasetInfo("mnist1d", "multiclass", (40,), 5000, "synthetic",
                "MNIST-1D (Greydanus 2020): digits 0-9 as 40-point signals, generated",
                _mnist1d((40,)), n_classes=10, options=MNIST1D, standardize=False),
    DatasetInfo("mnist1d_channels", "multiclass", (1, 40), 5000, "synthetic",
                "MNIST-1D as one-channel signals (channels first)",
                _mnist1d((1, 40)), layout="channels", n_classes=10, options=MNIST1D,
                standardize=False),
    DatasetInfo("mnist1d_sequence", "multiclass", (40, 1), 5000, "synthetic",
                "MNIST-1D read point by point: 40 steps of 1 feature",
                _mnist1d((40, 1)), layout="sequence", n_classes=10, options=MNIST1D,
                standardize=False),
    DatasetInfo("iris", "multiclass", (4,), 150, "scikit-learn",
                "three iris species from 4 flower measurements", _sklearn("iris"), n_classes=3),
    DatasetInfo("wine", "multiclass", (13,), 178, "scikit-learn",
                "three wine cultivars from 13 chemical measurements", _sklearn("wine"),
                n_classes=3),
    DatasetInfo("spirals", "multiclass", (2,), 900, "synthetic",
                "three interleaved spiral arms, one class each", synthetic.spirals,
                n_classes=3, options={"n_samples": _n_samples(900), "noise": NOISE(0.2)}),
    DatasetInfo("signal", "multiclass", (1, 40), 900, "synthetic",
                "noisy waveforms (channels first): 0 sine, 1 square, 2 sawtooth",
                synthetic.signal, layout="channels", n_classes=3,
                options={"n_samples": _n_samples(900), "length": Option(40, low=4, high=100_000),
                         "noise": NOISE(0.2)}),
    DatasetInfo("multilabel", "multilabel", (20,), 2000, "synthetic",
                "5 labels, each a nonlinear rule on 3 projections of 20 features "
                "(all-zeros baseline: ~0.5 accuracy)", synthetic.multilabel,
                options={"n_samples": _n_samples(2000),
                         "n_features": Option(20, low=3, high=10_000),
                         "n_labels": Option(5, low=1, high=1000)}),
    DatasetInfo("sequence_sum", "regression", (10, 1), 1000, "synthetic",
                "sequences of 10 numbers in [-1, 1]; y is their sum", synthetic.sequence_sum,
                layout="sequence",
                options={"n_samples": _n_samples(1000), "length": Option(10, low=1, high=100_000)}),
    DatasetInfo("noisy_sine_next", "regression", (20, 1), 1000, "synthetic",
                "20 noisy steps of a sine of random frequency; y is the clean next value",
                synthetic.noisy_sine_next, layout="sequence",
                options={"n_samples": _n_samples(1000), "length": Option(20, low=2, high=100_000),
                         "noise": NOISE(0.05)}),
    DatasetInfo("min_max_order", "binary", (12,), 2000, "synthetic",
                "12 token ids in 0..9 (for an embedding; not standardized); 1 where the "
                "smallest id comes before the largest", synthetic.min_max_order,
                n_classes=2, standardize=False,
                options={"n_samples": _n_samples(2000), "length": Option(12, low=2, high=100_000),
                         "vocab": Option(10, low=3, high=1_000_000)}),
]:
    DATASETS.register(info.name, info)


def dataset_options(name):
    """{option: default} of a built-in dataset (NnxError for an unknown name)."""
    return {key: option.default for key, option in DATASETS.get(name).options.items()}


def describe_datasets():
    """One dict per built-in dataset, from metadata only (nothing is loaded)."""
    return [{"name": info.name, "task": info.task, "shape": info.input_shape,
             "n_samples": info.n_samples, "description": info.description}
            for _, info in DATASETS.items()]


def check_option(dataset, key, value):
    """`value` for option `key` of `dataset`, checked against its type and bounds."""
    option = DATASETS.get(dataset).options[key]
    integral = isinstance(option.default, int)
    kind = "an integer" if integral else "a number"
    ok_type = (int,) if integral else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_type) or value != value:
        raise NnxError(f"data.{key} must be {kind}, got {value!r}")
    if (option.low is not None and value < option.low) or (
            option.high is not None and value > option.high):
        allowed = (f">= {option.low}" if option.high is None
                   else f"in [{option.low}, {option.high}]")
        raise NnxError(f"data.{key} must be {allowed}, got {value!r}")
    return value


def load_builtin(name, options, rng):
    """The RawData of built-in dataset `name` with checked `options`."""
    info = DATASETS.get(name)
    x, y = info.make(rng, **options)
    n_features = int(np.prod(x.shape[1:]))
    return RawData(name=name, x=x, y=y, columns=[f"x{i}" for i in range(n_features)],
                   layout=info.layout, task=info.task, generated_columns=True,
                   classes=list(range(info.n_classes)) if info.n_classes else None)

"""The raw table a source hands over: features before encoding, targets before labelling."""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RawData:
    """Features and targets as read, plus what the encoder needs to know about them.

    A built-in or NPZ source fills `x` (numbers, shape (N, *input_shape)); a CSV fills
    `cells` (column -> float64 array, or str array for a categorical column), because the
    one-hot vocabularies may only be learnt once the training rows are known.
    `layout` says how standardization pools: tabular (N, F) per feature, sequence
    (N, T, F) per feature over N and T, channels (N, C, ...) per channel. `sample_weight`:
    float64 (N,) loss weights of the rows (a CSV's `data.sample_weight` column), or None.
    """

    name: str
    y: np.ndarray
    columns: list
    layout: str = "tabular"
    x: np.ndarray | None = None
    cells: dict | None = None
    categorical: list = field(default_factory=list)
    targets: list | None = None
    task: str | None = None
    classes: list | None = None
    generated_columns: bool = False
    sample_weight: np.ndarray | None = None

"""Per-sample loss weights, checked once at the edge: `sample_weight` arrays and
`class_weight` ({class: weight} or "balanced"), turned into one weight per sample.

Keras' rules: a class missing from the mapping weighs 1; the class of a sample is its integer
label, the argmax of a one-hot row, or the value of a single column of labels 0/1 (where
Keras rounds a fraction, nnx refuses it); given both, a sample's weight is its sample
weight times its class weight. "balanced" is scikit-learn's
`compute_class_weight`: n_samples / (n_classes * count of the class), over the classes the
training targets hold, so the weights average 1 over those samples.
"""

import math
from collections.abc import Mapping

import numpy as np

from nnx.errors import NnxError

BALANCED = "balanced"


def checked_sample_weight(values, n, where=""):
    """`values` as float64 (n,): one finite weight >= 0 per sample ((n, 1) is accepted);
    NnxError after `where` otherwise."""
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise NnxError(f"{where}sample_weight must be numbers, got dtype {array.dtype}")
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or len(array) != n:
        raise NnxError(f"{where}sample_weight must have one weight per sample ({n},), got "
                       f"shape {array.shape}")
    array = array.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(array) | (array < 0))
    if len(bad):
        raise NnxError(f"{where}sample_weight[{bad[0]}] is {array[bad[0]]}; weights must be "
                       "finite and >= 0")
    return array


def in_dtype(weights, dtype, where=""):
    """Checked weights as C-contiguous `dtype` for the loss kernels; NnxError when one is
    beyond that dtype's range (a float32 model cannot weigh a row 1e39 times)."""
    with np.errstate(over="ignore"):  # reported just below
        converted = np.ascontiguousarray(weights, dtype=dtype)
    if not np.isfinite(converted).all():
        raise NnxError(f"{where}a loss weight of {weights.max():g} is beyond the "
                       f"{np.dtype(dtype).name} range")
    return converted


def check_class_weight(class_weight, where=""):
    """"balanced", or {class: float} with every weight finite and >= 0 (the classes
    themselves are checked against the targets by `class_weights_of`)."""
    if isinstance(class_weight, str) and class_weight == BALANCED:
        return BALANCED
    if not isinstance(class_weight, Mapping) or not class_weight:
        raise NnxError(f"{where}class_weight must be 'balanced' or a non-empty mapping "
                       f"{{class: weight}}, got {class_weight!r}")
    checked = {}
    for label, weight in class_weight.items():
        if (isinstance(weight, bool) or not isinstance(weight, (int, float, np.number))
                or not math.isfinite(weight) or weight < 0):
            raise NnxError(f"{where}class_weight: the weight of class {label!r} must be a "
                           f"finite number >= 0, got {weight!r}")
        checked[label] = float(weight)
    return checked


def balanced(codes):
    """{class code: weight} for the classes present in `codes` (int (N,))."""
    present, counts = np.unique(codes, return_counts=True)
    return {int(c): len(codes) / (len(present) * int(k)) for c, k in zip(present, counts)}


def class_codes(target, decision, n_classes, where=""):
    """Each sample's class (int64 (N,)) from targets as a loss takes them: labels (N,),
    one-hot rows, or one column of labels 0..n_classes-1; NnxError for anything else
    (regression values, several labels per sample)."""
    if target.ndim == 1:
        return target.astype(np.int64)
    rows = target.reshape(len(target), -1)
    if rows.shape[1] > 1:
        if decision == "argmax":
            return rows.argmax(axis=1)
        kind = "multi-label" if decision is not None else "regression"
        raise NnxError(f"{where}class_weight needs one class per sample; these targets have "
                       f"{rows.shape[1]} columns ({kind}): give sample_weight instead")
    codes = np.rint(rows[:, 0])
    bad = np.flatnonzero((codes != rows[:, 0]) | (codes < 0) | (codes >= n_classes))
    if len(bad):
        raise NnxError(f"{where}class_weight needs class labels 0..{n_classes - 1} as targets, "
                       f"found {rows[bad[0], 0]:g}: give sample_weight instead")
    return codes.astype(np.int64)


def class_weights_of(codes, class_weight, n_classes, where=""):
    """float64 (N,): each sample's class weight. `class_weight` as `check_class_weight`
    returns it, its keys class codes 0..n_classes-1 (ints, or their text)."""
    if class_weight == BALANCED:
        class_weight = balanced(codes)
    table = np.ones(n_classes)
    for label, weight in class_weight.items():
        code = _code(label)
        if code is None or not 0 <= code < n_classes:
            raise NnxError(f"{where}class_weight names class {label!r}, which the output does "
                           f"not have; its classes are 0..{n_classes - 1}")
        table[code] = weight
    return table[codes]


def _code(label):
    """An integer class code from 3, 3.0, '3' or a numpy integer; None for anything else."""
    try:
        value = float(label)
    except (TypeError, ValueError):
        return None
    return int(value) if value.is_integer() and not isinstance(label, bool) else None

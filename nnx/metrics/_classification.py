"""Metrics on predicted labels (and top-k on class scores), as scikit-learn defines them.

Precision, recall and F1 follow scikit-learn's `zero_division` default: a ratio whose
denominator is zero (no predicted, or no true, samples of a class) counts as 0. Averages
run over the classes present in the true or the predicted labels (every column of a
multi-label output), as scikit-learn's do.
"""

import numpy as np

from nnx.errors import NnxError
from nnx.metrics._inputs import is_multiclass, labels, probabilities, single_labels


def accuracy(pred, target, decision):
    """Fraction correct: argmax over classes; element-wise threshold for binary/multi-label."""
    predicted, true = labels(pred, target, decision)
    return float(np.mean(predicted == true))


def subset_accuracy(pred, target, decision):
    """Multi-label exact match: a sample counts only when every label is right."""
    predicted, true = labels(pred, target, decision)
    if predicted.ndim == 1:
        return float(np.mean(predicted == true))
    return float(np.mean(np.all(predicted == true, axis=1)))


def precision(pred, target, decision, average=None):
    """Of the samples predicted positive, the fraction truly positive: class 1 of a binary
    output; else averaged over classes (`average`: micro, macro (default) or weighted)."""
    hits, predicted, true = _class_counts(pred, target, decision, average)
    return _averaged(hits, predicted, true, average)


def recall(pred, target, decision, average=None):
    """Of the truly positive samples, the fraction predicted positive (averaged as
    `precision`)."""
    hits, _, true = _class_counts(pred, target, decision, average)
    return _averaged(hits, true, true, average)


def f1(pred, target, decision, average=None):
    """The harmonic mean of precision and recall, 2 tp / (2 tp + fp + fn) (averaged as
    `precision`; `micro` sums the counts over classes first)."""
    hits, predicted, true = _class_counts(pred, target, decision, average)
    return _averaged(2 * hits, predicted + true, true, average)


def balanced_accuracy(pred, target, decision):
    """The mean recall over the classes present in the true labels."""
    predicted, true = single_labels(pred, target, decision)
    size = max(predicted.max(), true.max()) + 1
    support = np.bincount(true, minlength=size)
    hits = np.bincount(true[predicted == true], minlength=size)
    present = support > 0
    return float(np.mean(hits[present] / support[present]))


def top_k_accuracy(pred, target, decision, k=2):
    """Fraction of samples whose true class is among the `k` highest scores. Ties rank the
    higher class index first, as scikit-learn's stable sort does."""
    scores = probabilities(pred, decision)
    classes = scores.shape[1]
    if k >= classes:
        raise NnxError(f"top_k_accuracy: k must be below the number of classes ({classes}), "
                       f"got {k}")
    true = target if target.ndim == 1 else target.argmax(axis=1)
    own = scores[np.arange(len(scores)), true][:, None]
    index = np.arange(classes)
    ahead = (scores > own) | ((scores == own) & (index > true[:, None]))
    return float(np.mean(ahead.sum(axis=1) < k))


def _class_counts(pred, target, decision, average):
    """(true positives, predicted, true) counts per class, as float64 arrays: the columns
    of a multi-label output; class 1 alone for a binary output without `average`; else the
    classes present in either labelling."""
    predicted, true = labels(pred, target, decision)
    if predicted.ndim == 2 and predicted.shape[1] > 1:
        counts = ((predicted & true).sum(axis=0), predicted.sum(axis=0), true.sum(axis=0))
        return tuple(c.astype(np.float64) for c in counts)
    predicted, true = predicted.reshape(len(predicted)), true.reshape(len(true))
    size = max(predicted.max(), true.max(), 1) + 1
    counts = (np.bincount(true[predicted == true], minlength=size),
              np.bincount(predicted, minlength=size), np.bincount(true, minlength=size))
    if average is None and not is_multiclass(decision):
        classes = [1]
    else:
        classes = np.union1d(predicted, true)
    return tuple(c[classes].astype(np.float64) for c in counts)


def _averaged(numerator, denominator, support, average):
    """numerator / denominator per class (0 where the denominator is 0), averaged: micro
    sums both first; weighted weighs each class by its true samples (`support`)."""
    if average == "micro":
        numerator, denominator = numerator.sum(keepdims=True), denominator.sum(keepdims=True)
    ratios = np.divide(numerator, denominator, out=np.zeros_like(numerator),
                       where=denominator > 0)
    if average == "weighted":
        total = support.sum()
        return float(ratios @ support / total) if total > 0 else 0.0
    return float(ratios.mean())

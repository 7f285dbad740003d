"""Metrics on predicted probabilities: ROC AUC, average precision (PR AUC) and log loss.

Several classes or labels are scored one-vs-rest, per column, and macro-averaged. Tied
scores form one threshold, so ROC AUC counts a tied positive-negative pair as half right,
as scikit-learn's curves do. Non-finite predictions (a diverged model) score NaN.
"""

import math

import numpy as np

from nnx.errors import NnxError
from nnx.metrics._inputs import indicators, is_multiclass, probabilities


def roc_auc(pred, target, decision):
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative. Averaged over the columns where it is defined; NaN when no column has both
    positives and negatives (scikit-learn returns NaN as soon as one column lacks either)."""
    columns = _columns(pred, target, decision)
    if columns is None:
        return math.nan
    areas = [area for area in (_roc_area(*_curve(t, s)) for t, s in columns)
             if not math.isnan(area)]
    return float(np.mean(areas)) if areas else math.nan


def pr_auc(pred, target, decision):
    """Average precision: precision at each threshold weighted by the recall it adds
    (scikit-learn's `average_precision_score`, no interpolation). A column without positives
    scores 0, as scikit-learn's do."""
    columns = _columns(pred, target, decision)
    if columns is None:
        return math.nan
    return float(np.mean([_average_precision(*_curve(t, s)) for t, s in columns]))


def log_loss(pred, target, decision):
    """Mean negative log-probability of the true class; probabilities are clipped to
    [eps, 1 - eps] (eps of the predictions' dtype) as scikit-learn clips them."""
    scores = probabilities(pred, decision)
    if scores.shape[1] > 1 and not is_multiclass(decision):
        raise NnxError("log_loss needs one binary output or one class per column; a "
                       "multi-label output has no single true class")
    if not np.isfinite(scores).all():
        return math.nan
    true = indicators(pred, target, decision)
    if scores.shape[1] == 1:  # a binary output: the probability of class 1
        own = np.where(true[:, 0], scores[:, 0], 1.0 - scores[:, 0])
    else:
        own = scores[true]
    eps = np.finfo(pred.dtype if pred.dtype.kind == "f" else np.float64).eps
    return float(-np.mean(np.log(np.clip(own, eps, 1 - eps))))


def _columns(pred, target, decision):
    """[(true indicator, score)] per class or label column; None for non-finite scores."""
    scores = probabilities(pred, decision)
    if not np.isfinite(scores).all():
        return None
    true = indicators(pred, target, decision)
    return [(true[:, j], scores[:, j]) for j in range(scores.shape[1])]


def _curve(true, score):
    """(true positives, false positives) above each distinct score, highest score first."""
    order = np.argsort(score, kind="stable")[::-1]
    score, true = score[order], true[order]
    ends = np.append(np.flatnonzero(score[1:] != score[:-1]), len(score) - 1)
    positives = np.cumsum(true)[ends].astype(np.float64)
    return positives, (ends + 1) - positives


def _roc_area(positives, negatives):
    """The trapezoid area under (false positive rate, true positive rate); NaN without
    positives or negatives. Sums of counts stay exact integers until the one division."""
    n_pos, n_neg = positives[-1], negatives[-1]
    if n_pos == 0 or n_neg == 0:
        return math.nan
    heights = positives + np.append(0.0, positives[:-1])
    return float(np.diff(negatives, prepend=0.0) @ heights / (2.0 * n_pos * n_neg))


def _average_precision(positives, negatives):
    if positives[-1] == 0:
        return 0.0
    precision = positives / (positives + negatives)
    return float(np.diff(positives, prepend=0.0) @ precision / positives[-1])

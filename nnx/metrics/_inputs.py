"""What a metric compares: predicted and true labels, or probabilities and true indicators.

`decision` (the loss's `decision()`) says what the predictions are: "argmax" (class
probabilities), "argmax_logits" (class logits), the threshold of a binary or multi-label
output (0.5 on probabilities, 0.0 on logits), or None (regression; a classification metric
then reads the values as probabilities). Metrics that read scores see probabilities: logits
go through the softmax or sigmoid first, so that a model trained on logits scores as the
same model with the activation would.
"""

import numpy as np

ARGMAX = ("argmax", "argmax_logits")
LOGIT_THRESHOLD = 0.0


def is_multiclass(decision):
    return decision in ARGMAX


def labels(pred, target, decision):
    """(predicted, true) integer labels of the same shape: (N,) classes for several classes,
    else one 0/1 column per output unit."""
    if is_multiclass(decision):
        true = target if target.ndim == 1 else target.argmax(axis=1)
        return pred.argmax(axis=1), true
    threshold = 0.5 if decision is None else decision
    return (pred > threshold).astype(np.int64), np.rint(target).astype(np.int64).reshape(pred.shape)


def single_labels(pred, target, decision):
    """`labels` as (N,) vectors, for metrics defined on one label per sample (a binary
    output's single column, or the class of a multi-class output)."""
    predicted, true = labels(pred, target, decision)
    return predicted.reshape(len(predicted)), true.reshape(len(true))


def probabilities(pred, decision):
    """The predictions as float64 probabilities, (N, columns): per class for several
    classes, else per output unit."""
    scores = np.asarray(pred, dtype=np.float64).reshape(len(pred), -1)
    if decision == "argmax_logits":
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    if decision == LOGIT_THRESHOLD:
        small = np.exp(-np.abs(scores))  # never overflows: exp of a non-positive number
        return np.where(scores >= 0, 1.0 / (1.0 + small), small / (1.0 + small))
    return scores


def indicators(pred, target, decision):
    """(N, columns) booleans of the true classes (one-hot) or true labels, the columns of
    `probabilities`."""
    if is_multiclass(decision):
        true = target if target.ndim == 1 else target.argmax(axis=1)
        return true[:, None] == np.arange(pred.shape[1])
    return np.rint(target).reshape(len(pred), -1) == 1

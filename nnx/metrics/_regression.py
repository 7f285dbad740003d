"""Regression metrics. Several output columns are scored one by one and averaged
(scikit-learn's `multioutput="uniform_average"`)."""

import numpy as np


def mae(pred, target, decision):
    return float(np.mean(np.abs(pred - target.reshape(pred.shape))))


def mse(pred, target, decision):
    return float(np.mean((pred - target.reshape(pred.shape)) ** 2))


def rmse(pred, target, decision):
    """The root of each column's mean squared error, averaged over columns."""
    pred, target = _columns(pred, target)
    return float(np.sqrt(np.mean((pred - target) ** 2, axis=0)).mean())


def mape(pred, target, decision):
    """Mean absolute percentage error as a fraction (0.05 is 5 %); a true value of 0 divides
    by float64's eps instead, as scikit-learn does, so it weighs enormously."""
    pred, target = _columns(pred, target)
    scale = np.maximum(np.abs(target), np.finfo(np.float64).eps)
    return float(np.mean(np.abs(pred - target) / scale, axis=0).mean())


def r2(pred, target, decision):
    """Coefficient of determination, averaged over outputs (scikit-learn's default)."""
    pred, target = _columns(pred, target)
    ss_res = ((target - pred) ** 2).sum(axis=0)
    ss_tot = ((target - target.mean(axis=0)) ** 2).sum(axis=0)
    # A constant target scores 1 when predicted exactly, else 0 (as scikit-learn does).
    scores = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                      np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


def _columns(pred, target):
    """(N, outputs) float64 predictions and targets."""
    pred = pred.reshape(pred.shape[0], -1).astype(np.float64)
    return pred, target.reshape(pred.shape).astype(np.float64)

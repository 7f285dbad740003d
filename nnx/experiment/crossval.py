"""A cross-validated run (`data.folds: K`): K models of the same config and seed, fold k
validating on fold k and training on the others, one after another; the test split stays
held out and each fold's model is evaluated on it.

The run's `metrics` are the means over the folds (so every reader of a run, and a search
trial's value, sees the cross-validated estimate) and its `history` the mean curve over the
epochs every fold ran. The record's `cv` keeps the rest: `folds` (K), `metrics_std` (the
population standard deviation over the folds, numpy's default, as `cross_val_score(...).std()`
gives) and `per_fold`, each fold's rows, status, history, metrics, costs and diagnostics.
The run's `costs` are the folds' model size, their training time summed and their
prediction time averaged.

No model is kept: each fold's model learnt from part of the rows only, and the run is an
estimate of how the config generalises; train without `data.folds` for the model to use.
The folds stop at the first one that does not complete (pruned, diverged, failed,
interrupted), whose status becomes the run's.
"""

import time
import traceback

import numpy as np

from nnx.experiment.build import build_model


def cross_validate(prepared, fit_fold, reporter):
    """The outcome of the run over every fold, as `fit_fold(model, data) -> outcome` gives
    one fold's (status, stop_reason, error, history, metrics, costs, diagnostics)."""
    data, cv = prepared.data, prepared.data.cv
    folds = []
    for k in range(cv.count):
        started = time.perf_counter()
        try:
            fold_data = data if k == 0 else cv.split(k)
            model = prepared.model if k == 0 else build_model(prepared.config, fold_data)
        except Exception as err:  # noqa: BLE001 - the folds so far are kept: a failed run
            outcome = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                       "stop_reason": None, "history": {}, "metrics": {},
                       "costs": None, "diagnostics": None,
                       "traceback": traceback.format_exc()}
            fold_data = None
        else:
            reporter.fold_begin(k, cv.count, len(fold_data.x_train), len(fold_data.x_val))
            outcome = fit_fold(model, fold_data)
        folds.append({"fold": k + 1,
                      "n_train": None if fold_data is None else len(fold_data.x_train),
                      "n_val": None if fold_data is None else len(fold_data.x_val),
                      "status": outcome["status"], "stop_reason": outcome["stop_reason"],
                      "error": outcome["error"],
                      "duration_s": round(time.perf_counter() - started, 3),
                      "history": outcome["history"], "metrics": outcome["metrics"],
                      "costs": outcome["costs"], "diagnostics": outcome["diagnostics"]})
        if outcome["status"] != "completed":
            return _combined(folds, cv.count, outcome.get("traceback"))
    return _combined(folds, cv.count)


def _combined(folds, count, trace=None):
    last = folds[-1]
    means, deviations = {}, {}
    scored = [fold["metrics"] for fold in folds if fold["metrics"]]
    for split in (scored[0] if scored else {}):
        names = [name for name in scored[0][split]
                 if all(name in metrics.get(split, {}) for metrics in scored)]
        values = {name: np.array([metrics[split][name] for metrics in scored], dtype=float)
                  for name in names}
        means[split] = {name: float(v.mean()) for name, v in values.items()}
        deviations[split] = {name: float(v.std()) for name, v in values.items()}
    where = f"fold {last['fold']} of {count}: "
    outcome = {"status": last["status"], "metrics": means,
               "stop_reason": last["stop_reason"] and where + last["stop_reason"],
               "error": last["error"] and where + last["error"],
               "history": _mean_history([fold["history"] for fold in folds]),
               "costs": _costs(folds), "diagnostics": _diagnostics(folds),
               "cv": {"folds": count, "metrics_std": deviations, "per_fold": folds}}
    if trace:
        outcome["traceback"] = trace
    return outcome


def _costs(folds):
    """The run's costs: the folds' model (they share the config), their training time
    summed, their prediction time averaged (None unless every fold measured one)."""
    measured = [fold["costs"] for fold in folds if fold["costs"]]
    if not measured:
        return None
    times = [c["predict_ms"] for c in measured]
    return {"params": measured[-1]["params"], "model_bytes": measured[-1]["model_bytes"],
            "train_s": round(sum(c["train_s"] for c in measured), 3),
            "predict_ms": (round(float(np.mean(times)), 4)
                           if len(times) == len(folds) and None not in times else None)}


def _mean_history(histories):
    """{key: per-epoch mean over the folds} for the keys and epochs every fold has."""
    keys = [key for key in histories[0] if all(key in h for h in histories)]
    mean = {}
    for key in keys:
        epochs = min(len(h[key]) for h in histories)
        values = np.array([h[key][:epochs] for h in histories], dtype=float)
        mean[key] = values.mean(axis=0).tolist()
    return mean


def _diagnostics(folds):
    """The folds' flags (each with its fold) and their validation confusion matrices summed:
    every row outside the test split predicted once, by the model that did not train on it.
    Per-epoch figures stay in each fold's entry."""
    found = [fold["diagnostics"] for fold in folds if fold["diagnostics"]]
    if not found:
        return None
    matrices = [d["confusion_matrix"] for d in found if d.get("confusion_matrix")]
    return {"level": found[0]["level"], "thresholds": found[0]["thresholds"], "per_epoch": {},
            "flags": [{**flag, "fold": fold["fold"]} for fold in folds
                      for flag in (fold["diagnostics"] or {}).get("flags", [])],
            "confusion_matrix": (np.sum(matrices, axis=0).tolist()
                                 if matrices and len(matrices) == len(folds) else None)}

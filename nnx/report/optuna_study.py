"""A study document as an in-memory Optuna study, so that Optuna's own analyses (parameter
importance, `optuna.visualization`) run from the JSON alone: on any host, for a study kept
in a database elsewhere, and without opening (or locking, or repairing) its journal.

The document is rebuilt from the storage after every trial, so it holds what those
analyses read: each trial's state, parameters, value and per-epoch reports. Optuna is
imported inside the functions: the overview never pays for it.
"""

from nnx.report.values import as_dict, as_number

# nnx's trial states as Optuna holds them (a diverged trial is told as pruned); any other
# state (failed, running, waiting) becomes a placeholder without parameters.
_FINISHED = {"complete": "COMPLETE", "pruned": "PRUNED", "diverged": "PRUNED"}


def distribution(spec):
    """The Optuna distribution of one parameter of the space as written in the study."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    kind = spec.get("type")
    if kind == "categorical":
        return CategoricalDistribution(list(spec["choices"]))
    log, step = bool(spec.get("log", False)), spec.get("step")
    if kind == "int":
        return IntDistribution(int(spec["low"]), int(spec["high"]), log=log,
                               step=int(step) if step else 1)
    if kind == "float":
        return FloatDistribution(float(spec["low"]), float(spec["high"]), log=log,
                                 step=None if step is None else float(step))
    raise ValueError(f"unknown parameter type {kind!r}")


def space_distributions(document):
    """{parameter: distribution} of the document's space; ValueError, KeyError or
    TypeError when the space cannot be read."""
    return {name: distribution(spec) for name, spec in as_dict(document.get("space")).items()
            if isinstance(spec, dict)}


def rebuild_study(document, distributions=None):
    """An in-memory study with one trial per trial number of the document, at the same
    number: complete trials with their value, pruned and diverged ones as pruned with their
    reports; failed, running and waiting trials, and any whose parameters lie outside the
    space (a warm start from another space), as failed placeholders that every analysis
    skips. ValueError (or KeyError, TypeError) when the space cannot be read."""
    import optuna
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if distributions is None:
        distributions = space_distributions(document)
    study = optuna.create_study(
        direction="maximize" if document.get("direction") == "maximize" else "minimize")
    by_number = {t["number"]: t for t in document["trials"]
                 if isinstance(t.get("number"), int) and not isinstance(t["number"], bool)
                 and t["number"] >= 0}
    for number in range(max(by_number, default=-1) + 1):
        trial = by_number.get(number, {})
        try:
            frozen = _frozen_trial(trial, distributions)
        except (ValueError, TypeError):
            frozen = None
        study.add_trial(frozen or create_trial(state=TrialState.FAIL))
    return study


def _frozen_trial(trial, distributions):
    """The Optuna trial of a finished document trial, or None for a placeholder."""
    from optuna.trial import TrialState, create_trial

    state = _FINISHED.get(trial.get("state"))
    value = as_number(trial.get("value"))
    if state is None or (state == "COMPLETE" and value is None):
        return None
    params = {k: v for k, v in as_dict(trial.get("params")).items() if k in distributions}
    reports = {}
    for step, report in as_dict(trial.get("intermediate")).items():
        try:
            step = int(step)
        except (TypeError, ValueError):
            continue
        if as_number(report) is not None:
            reports[step] = float(report)
    return create_trial(state=TrialState[state],
                        value=value if state == "COMPLETE" else None, params=params,
                        distributions={k: distributions[k] for k in params},
                        intermediate_values=reports)

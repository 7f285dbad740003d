"""Parameter importance from a study document: Optuna's PED-ANOVA (numpy only) over an
in-memory study rebuilt from the document's complete trials and its space.

Works from the JSON alone, so any host can show it without the study's storage. Optuna is
imported inside the function: the overview never pays for it.
"""

import math

MIN_TRIALS = 4  # fewer complete trials say nothing about importance


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


def param_importances(document):
    """(importances {param: share, summing to 1, largest first}, None) or (None, reason)."""
    space = document.get("space")
    if not isinstance(space, dict) or not space:
        return None, "the study document holds no search space"
    trials = [t for t in document["trials"] if t.get("state") == "complete"
              and isinstance(t.get("value"), (int, float)) and math.isfinite(t["value"])]
    if len(trials) < MIN_TRIALS:
        return None, (f"needs at least {MIN_TRIALS} complete trials "
                      f"({len(trials)} so far)")
    try:
        distributions = {name: distribution(spec) for name, spec in space.items()
                         if isinstance(spec, dict)}
    except (KeyError, TypeError, ValueError) as err:
        return None, f"cannot read the search space ({type(err).__name__}: {err})"
    varied = {name for name, dist in distributions.items() if not dist.single()}
    if not varied:
        return None, "no parameter of the space can vary"

    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    maximize = document.get("direction") == "maximize"
    study = optuna.create_study(direction="maximize" if maximize else "minimize")
    added = 0
    for trial in trials:
        params = {k: v for k, v in dict(trial.get("params") or {}).items()
                  if k in distributions}
        try:
            frozen = create_trial(state=TrialState.COMPLETE, value=float(trial["value"]),
                                  params=params,
                                  distributions={k: distributions[k] for k in params})
        except (ValueError, TypeError):  # a value outside the space (e.g. a warm start)
            continue
        study.add_trial(frozen)
        added += 1
    if added < MIN_TRIALS:
        return None, f"needs at least {MIN_TRIALS} complete trials inside the space"
    try:
        importances = get_param_importances(study, evaluator=PedAnovaImportanceEvaluator())
    except (RuntimeError, ValueError, ZeroDivisionError) as err:
        return None, f"PED-ANOVA failed: {err}"
    if not importances:
        return None, "no parameter varied across the complete trials"
    return dict(sorted(importances.items(), key=lambda kv: -kv[1])), None

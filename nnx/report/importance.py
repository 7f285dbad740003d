"""Parameter importance from a study document: Optuna's PED-ANOVA (numpy only) over the
in-memory study rebuilt from the document (`nnx.report.optuna_study`).

Works from the JSON alone, so any host can show it without the study's storage. Optuna is
imported inside the functions: the overview never pays for it.
"""

import math

MIN_TRIALS = 4  # fewer complete trials say nothing about importance


def importance_study(document):
    """(in-memory study, None) when the document holds enough to weigh its parameters,
    else (None, the reason)."""
    from nnx.report.optuna_study import rebuild_study, space_distributions

    space = document.get("space")
    if not isinstance(space, dict) or not space:
        return None, "the study document holds no search space"
    trials = [t for t in document["trials"] if t.get("state") == "complete"
              and isinstance(t.get("value"), (int, float)) and math.isfinite(t["value"])]
    if len(trials) < MIN_TRIALS:
        return None, (f"needs at least {MIN_TRIALS} complete trials "
                      f"({len(trials)} so far)")
    try:
        distributions = space_distributions(document)
    except (KeyError, TypeError, ValueError) as err:
        return None, f"cannot read the search space ({type(err).__name__}: {err})"
    if all(dist.single() for dist in distributions.values()):
        return None, "no parameter of the space can vary"
    from optuna.trial import TrialState

    study = rebuild_study(document, distributions)
    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < MIN_TRIALS:
        return None, f"needs at least {MIN_TRIALS} complete trials inside the space"
    return study, None


def evaluator():
    from optuna.importance import PedAnovaImportanceEvaluator

    return PedAnovaImportanceEvaluator()


def param_importances(document):
    """(importances {param: share, summing to 1, largest first}, None) or (None, reason)."""
    study, reason = importance_study(document)
    if study is None:
        return None, reason
    from optuna.importance import get_param_importances

    try:
        importances = get_param_importances(study, evaluator=evaluator())
    except (RuntimeError, ValueError, ZeroDivisionError) as err:
        return None, f"PED-ANOVA failed: {err}"
    if not importances:
        return None, "no parameter varied across the complete trials"
    return dict(sorted(importances.items(), key=lambda kv: -kv[1])), None

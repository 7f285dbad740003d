"""`--warm-start STUDY`: the best complete trials of an earlier study (of one with several
objectives: its Pareto front, best first on the first objective) queued first in this one,
with their parameters that lie in this space (the sampler fills in the rest)."""

import math

from nnx.search.study_json import pareto_rows, study_objectives, trial_row

WARM_START_TRIALS = 5


def enqueue_warm_start(study, source_storage, source_name, space, limit=WARM_START_TRIALS):
    """Queue the best `limit` complete trials of study `source_name` (in `source_storage`)
    that this study has not queued yet; returns how many were queued."""
    import optuna

    source = optuna.load_study(study_name=source_name, storage=source_storage.optuna)
    objectives = study_objectives(source)
    rows = [trial_row(t) for t in source.get_trials(deepcopy=False)]
    if len(objectives) > 1:
        rows = pareto_rows(source, rows, objectives)
    else:
        rows = [r for r in rows if r["state"] == "complete"
                and isinstance(r["value"], (int, float)) and math.isfinite(r["value"])]
        rows.sort(key=lambda r: r["value"], reverse=objectives[0]["direction"] == "maximize")
    done = {t.user_attrs.get("nnx_warm_start") for t in study.get_trials(deepcopy=False)}
    queued = 0
    for row in rows[:limit]:
        tag = f"{source_name}#{row['number']}"
        params = space.effective(row["params"] or {})
        if tag in done or not params:
            continue
        study.enqueue_trial(params, user_attrs={"nnx_warm_start": tag}, skip_if_exists=True)
        queued += 1
    return queued

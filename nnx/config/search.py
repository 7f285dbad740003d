"""The `search:` section of an experiment: metric and direction (or several objectives),
method, pruner, trials and space.

Kept apart from the rest of the schema on purpose: this is the one place to change.
Method and pruner names come from `nnx.config.search_names`; the space syntax (types,
ranges, `when:` conditions) from `nnx.config.space`. Whether each searched path is a
field the experiment accepts is checked by `nnx search` and `nnx validate`
(`nnx.config.space_check`), which resolve the experiment with the parameters set.
"""

from nnx.config.errors import ConfigError, describe, join, unknown_key
from nnx.config.search_names import DEFAULT_PRUNER, METHODS, PRUNERS
from nnx.config.space import parse_space
from nnx.costs import COSTS
from nnx.errors import closest
from nnx.metrics import canonical, higher_is_better

DIRECTIONS = ("minimize", "maximize")
DEFAULT_N_TRIALS = 20

# key -> default; direction None: from the metric (maximize for accuracy-like metrics);
# objectives None: the one objective `metric`/`direction`
SEARCH_KEYS = {"metric": "val_loss", "direction": None, "objectives": None, "method": "bayes",
               "n_trials": DEFAULT_N_TRIALS, "pruner": DEFAULT_PRUNER, "space": {}}
# the keys of one item of `search.objectives` (direction None: as for `search.direction`)
OBJECTIVE_KEYS = {"metric": None, "direction": None}


def check_search(search, path="search", train=None, data=None):
    """The `search:` mapping with defaults filled in, or None when absent.

    With the resolved `train` and `data` sections, the metric is checked against what the
    runs will log: `val_loss`, or `val_<metric>` for a metric in `train.metrics`.
    """
    if search is None:
        return None
    if not isinstance(search, dict):
        raise ConfigError(path, f"must be a mapping, got {describe(search)}")
    for key in search:
        if key not in SEARCH_KEYS:
            raise unknown_key(path, key, list(SEARCH_KEYS))
    out = {key: search.get(key, default) for key, default in SEARCH_KEYS.items()}
    _choice(path, "method", out["method"], METHODS.names())
    _choice(path, "pruner", out["pruner"], PRUNERS.names())
    if out["objectives"] is None:
        if isinstance(out["metric"], str):  # `val_top_k_accuracy` is logged by its k
            out["metric"] = canonical(out["metric"])
        _check_metric(out["metric"], join(path, "metric"), train, data)
        out["objectives"] = [_objective(path, out["metric"], out["direction"])]
    else:
        out["objectives"] = check_objectives(out["objectives"], join(path, "objectives"),
                                             train, data)
        _check_first_objective(search, path, out["objectives"][0])
    out["metric"], out["direction"] = (out["objectives"][0][k] for k in ("metric", "direction"))
    if len(out["objectives"]) > 1:
        _check_multi_objective(search, path, out)
    n = out["n_trials"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(join(path, "n_trials"), f"must be an integer >= 1, got {describe(n)}")
    space = parse_space(out["space"], join(path, "space"))
    if out["method"] == "grid":
        for param in space.params:
            if param.type == "float" and param.step is None:
                param.grid_values(join(path, "space"))  # raises: a grid needs a step
    out["space"] = dict(out["space"] or {})
    return out


def check_objectives(objectives, path, train=None, data=None):
    """`search.objectives` as [{metric, direction}]: each a validation metric the runs log
    or a cost nnx measures (`nnx.costs`), named once, with its direction."""
    if not isinstance(objectives, list) or not objectives:
        raise ConfigError(path, "must be a list of objectives such as [{metric: val_accuracy, "
                                "direction: maximize}, {metric: params, direction: minimize}], "
                                f"got {describe(objectives)}")
    out = []
    for i, item in enumerate(objectives):
        where = join(path, i)
        if not isinstance(item, dict):
            raise ConfigError(where, "must be a mapping {metric: NAME, direction: "
                                     f"minimize|maximize}}, got {describe(item)}")
        for key in item:
            if key not in OBJECTIVE_KEYS:
                raise unknown_key(where, key, list(OBJECTIVE_KEYS))
        if "metric" not in item:
            raise ConfigError(join(where, "metric"), "missing; name a validation metric or a "
                                                     f"cost ({', '.join(COSTS.names())})")
        metric = item["metric"]
        if isinstance(metric, str) and metric not in COSTS:
            metric = canonical(metric)
        _check_objective_metric(metric, join(where, "metric"), train, data)
        named = [o["metric"] for o in out]
        if metric in named:
            raise ConfigError(join(where, "metric"), f"{metric!r} is named twice (also "
                                                     f"{join(path, named.index(metric))})")
        out.append(_objective(where, metric, item.get("direction")))
    return out


def _check_first_objective(search, path, first):
    """`metric` and `direction` beside `objectives` (a resolved section has them) must be the
    first objective's: one search section cannot name two first objectives."""
    for key in ("metric", "direction"):
        if key in search and search[key] != first[key]:
            raise ConfigError(join(path, key), f"{describe(search[key])} is not the first of "
                                               f"search.objectives ({first[key]!r}); give "
                                               "either search.metric/direction or "
                                               "search.objectives")


def _objective(path, metric, direction):
    if direction is None:
        direction = "maximize" if higher_is_better(metric) else "minimize"
    _choice(path, "direction", direction, DIRECTIONS)
    return {"metric": metric, "direction": direction}


def _check_objective_metric(metric, path, train, data):
    if isinstance(metric, str) and metric in COSTS:
        return
    if isinstance(metric, str) and metric.startswith("val_"):
        _check_metric(metric, path, train, data)
        return
    logged = ["val_loss", *(f"val_{name}" for name in train["metrics"])] if train else []
    hint = closest(metric, [*logged, *COSTS.names()]) if isinstance(metric, str) else None
    raise ConfigError(path, "must be a validation metric (val_loss or val_<metric> for a "
                            "metric in train.metrics) or a cost nnx measures "
                            f"({', '.join(COSTS.names())}), got {describe(metric)}"
                      + (f" (did you mean {hint!r}?)" if hint else ""))


def _check_multi_objective(search, path, out):
    """Optuna prunes single-objective studies only, and CMA-ES optimizes one objective."""
    if search.get("pruner", "none") != "none":
        raise ConfigError(join(path, "pruner"), "pruning needs a single objective, but "
                                                "search.objectives names several; remove "
                                                "search.pruner or set it to none")
    out["pruner"] = "none"
    if not METHODS.get(out["method"]).multi_objective:
        raise ConfigError(join(path, "method"), f"{out['method']} optimizes a single "
                                                "objective; with several objectives use one "
                                                f"of {', '.join(multi_objective_methods())}")


def multi_objective_methods():
    return [name for name, method in METHODS.items() if method.multi_objective]


def _check_metric(metric, path, train, data):
    if not isinstance(metric, str) or not metric.startswith("val_"):
        raise ConfigError(path, "must be a validation metric: val_loss or val_<metric> for a "
                                f"metric in train.metrics, got {describe(metric)}")
    if train is None:
        return
    allowed = ["val_loss", *(f"val_{name}" for name in train["metrics"])]
    if metric not in allowed:
        hint = closest(metric, allowed)
        listed = metric.removeprefix("val_")
        raise ConfigError(path, f"the runs will log {', '.join(allowed)}; for {metric!r} add "
                                f"{listed!r} to train.metrics"
                          + (f" (or did you mean {hint!r}?)" if hint else ""))
    if data is not None and not data.get("validation_split"):
        raise ConfigError(path, f"{metric!r} needs validation data, but data.validation_split "
                                "is 0; set a validation_split (e.g. 0.2)")


def _choice(path, key, value, allowed):
    if value not in allowed:
        hint = closest(value, allowed) if isinstance(value, str) else None
        raise ConfigError(join(path, key), f"must be one of {', '.join(allowed)}, got "
                                           f"{describe(value)}"
                          + (f" (did you mean {hint!r}?)" if hint else ""))

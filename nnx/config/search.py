"""The `search:` section of an experiment: metric, direction, method, pruner, trials and
space.

Kept apart from the rest of the schema on purpose: this is the one place to change.
Method and pruner names come from `nnx.config.search_names`; the space syntax (types,
ranges, `when:` conditions) from `nnx.config.space`. Whether each searched path is a
field the experiment accepts is checked by `nnx search` and `nnx validate`
(`nnx.config.space_check`), which resolve the experiment with the parameters set.
"""

from nnx.config.errors import ConfigError, describe, join, unknown_key
from nnx.config.search_names import DEFAULT_PRUNER, METHODS, PRUNERS
from nnx.config.space import parse_space
from nnx.errors import closest
from nnx.metrics import canonical, higher_is_better

DIRECTIONS = ("minimize", "maximize")
DEFAULT_N_TRIALS = 20

# key -> default; direction None: from the metric (maximize for accuracy-like metrics)
SEARCH_KEYS = {"metric": "val_loss", "direction": None, "method": "bayes",
               "n_trials": DEFAULT_N_TRIALS, "pruner": DEFAULT_PRUNER, "space": {}}


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
    if isinstance(out["metric"], str):  # `val_top_k_accuracy` is logged by its k
        out["metric"] = canonical(out["metric"])
    _check_metric(out["metric"], join(path, "metric"), train, data)
    _choice(path, "method", out["method"], METHODS.names())
    _choice(path, "pruner", out["pruner"], PRUNERS.names())
    if out["direction"] is None:
        out["direction"] = "maximize" if higher_is_better(out["metric"]) else "minimize"
    _choice(path, "direction", out["direction"], DIRECTIONS)
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

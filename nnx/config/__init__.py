"""Experiment files: read the YAML, apply `--set` overrides, validate and resolve.

`load_experiment(path, overrides)` is what `nnx train`, `nnx validate` and `nnx search`
call; `resolve_config(raw)` validates a mapping already in memory (a search trial's).
Every problem is a ConfigError naming the file, the field path and what is allowed.
"""

import copy
import os

from nnx.config.errors import ConfigError, describe
from nnx.config.overrides import apply_override, parse_override, with_overrides
from nnx.config.schema import resolve_config
from nnx.config.search import check_search
from nnx.config.yaml_io import read_yaml_file


def load_experiment(path, overrides=()):
    """The resolved experiment in YAML file `path` with `overrides` ('PATH=VALUE') applied.

    A relative `data.path` in the file is relative to the file's folder; one given by
    `--set` is relative to the working directory. The result holds absolute paths.
    """
    return read_experiment(path, overrides)[1]


def read_experiment(path, overrides=()):
    """(raw, resolved): the file's mapping with the overrides applied (what a search trial
    sets its parameters on, so that e.g. a new optimizer type drops the old one's
    arguments), and its resolved form; ConfigError as for `load_experiment`."""
    source = os.fspath(path)
    raw = read_yaml_file(source)
    applied = []
    try:
        if raw is None:
            raise ConfigError(None, "the file is empty; an experiment needs name, data, model "
                                    "and train")
        if not isinstance(raw, dict):
            raise ConfigError(None, "an experiment file must be a mapping with the keys name, "
                                    f"data, model and train, got {describe(raw)}")
        _anchor_data_path(raw, os.path.dirname(os.path.abspath(source)))
        for text in overrides:
            key, value = parse_override(text)
            applied.append((key, text, [key]))
            applied[-1][2].extend(apply_override(raw, key, value))
        return raw, resolve_config(copy.deepcopy(raw))
    except ConfigError as err:
        # Name the override when the bad field is the one it set, lies below it, or is a
        # mapping it had to create or convert on the way.
        err.source = err.source or source
        err.origin = next((text for key, text, made in reversed(applied) if err.path and (
            err.path in made or err.path.startswith(key + ".")
            or key.startswith(err.path + "."))), None)
        raise


def _anchor_data_path(raw, folder):
    data = raw.get("data")
    if isinstance(data, dict) and isinstance(data.get("path"), str) and data["path"]:
        path = os.path.expanduser(data["path"])
        if not os.path.isabs(path):
            data["path"] = os.path.join(folder, path)


__all__ = ["ConfigError", "load_experiment", "read_experiment", "resolve_config",
           "with_overrides", "parse_override", "apply_override", "check_search"]

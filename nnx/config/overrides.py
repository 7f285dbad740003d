"""`--set PATH=VALUE` overrides: parsed as YAML, applied to the raw experiment mapping.

A path may name keys the file leaves out (`train.early_stopping.patience`): the mappings
on the way are created, and a name given as a string (`optimizer: adam`) becomes
`{type: adam}` so that its arguments can be set. Whether the schema knows the path is
decided by the validation that follows, which names the closest valid key.
"""

import copy
import re

from nnx.config.errors import ConfigError
from nnx.config.yaml_io import parse_value

_KEY = re.compile(r"^[A-Za-z0-9_]+$")


def parse_override(text):
    """(path, value) from 'PATH=VALUE'; ConfigError when malformed."""
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError("--set", f"expected PATH=VALUE (e.g. train.epochs=5), got {text!r}")
    path, _, raw = text.partition("=")
    path = path.strip()
    keys = path.split(".")
    if not path or not all(_KEY.match(k) for k in keys):
        raise ConfigError("--set", f"{text!r}: the path must be dotted keys and list indices "
                                   "such as model.layers.0.units")
    try:
        value = parse_value(raw)
    except ConfigError as err:
        raise ConfigError("--set", f"{text!r}: {err.problem}") from None
    return path, value


def apply_override(raw, path, value):
    """Set `value` at dotted `path` inside the nested dicts/lists of `raw` (in place).

    Returns the paths of the mappings it had to create on the way (for error messages).
    """
    keys = path.split(".")
    node, created = raw, []
    for depth, key in enumerate(keys[:-1]):
        here = ".".join(keys[:depth + 1])
        child = _get(node, key, here)
        if child is None or child is True:
            child = {}
            created.append(here)
        elif isinstance(child, str):
            child = {"type": child}  # a registry name takes arguments once it is a mapping
            created.append(here)
        elif not isinstance(child, (dict, list)):
            raise ConfigError(here, f"is {child!r}, which has no field {keys[depth + 1]!r}")
        _put(node, key, child, here)
        node = child
    _put(node, keys[-1], value, path)
    return created


def _get(node, key, here):
    if isinstance(node, list):
        return node[_index(node, key, here)]
    return node.get(key)


def _put(node, key, value, here):
    if isinstance(node, list):
        node[_index(node, key, here)] = value
    else:
        node[key] = value


def _index(node, key, here):
    if not key.isdigit():
        raise ConfigError(here, f"is a list position; use an index 0..{len(node) - 1}, "
                                f"got {key!r}")
    index = int(key)
    if index >= len(node):
        raise ConfigError(here, f"index {index} is out of range: the list has {len(node)} "
                                f"item{'s' if len(node) != 1 else ''}")
    return index


def with_overrides(config, values):
    """A deep copy of `config` with `{dotted path: value}` set (for search trials)."""
    config = copy.deepcopy(config)
    for key, value in values.items():
        apply_override(config, key, value)
    return config

"""Building registry objects from `{type: NAME, ...arguments}` specs, with errors that name the
exact field (`train.optimizer.lr`, `model.layers.2.units`).

The allowed arguments come from the constructor signatures in the registries: a layer
type or an optimizer argument exists in one place only.
"""

import inspect

from nnx.config.errors import ConfigError, describe, join, unknown_key
from nnx.errors import NnxError, unknown_name


def accepted_arguments(factory):
    """{name: inspect.Parameter} of the keyword arguments `factory` takes."""
    return {name: p for name, p in inspect.signature(factory).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def from_registry(registry, spec, path, ignore=(), default_type=None):
    """(instance, `{type, ...arguments}`) from a name or a mapping; ConfigError at the field.

    Keys in `ignore` belong to the config, not to the constructor (a layer's `repeat`).
    A mapping without `type` takes `default_type` (`--set train.optimizer.lr=0.01` on a
    file that leaves the optimizer to its default); without one, the type is required.
    """
    if isinstance(spec, dict) and "type" not in spec and default_type is not None:
        spec = {"type": default_type, **spec}
    if isinstance(spec, str):
        spec = {"type": spec}
        type_path = path
    elif isinstance(spec, dict):
        type_path = join(path, "type")
        if "type" not in spec:
            raise ConfigError(type_path, f"missing; give the {registry.family} type, one of: "
                                         f"{', '.join(sorted(registry.names()))}")
    else:
        raise ConfigError(path, f"must be a {registry.family} name or a mapping with a 'type', "
                                f"got {describe(spec)}")
    name = spec["type"]
    if not isinstance(name, str) or name not in registry:
        raise ConfigError(type_path, str(unknown_name(registry.family, name, registry.names())))
    args = {k: v for k, v in spec.items() if k != "type" and k not in ignore}
    instance = construct(registry.get(name), args, path, f"{registry.family} {name!r}")
    return instance, {"type": name, **args}


def construct(factory, args, path, what):
    """`factory(**args)`; a bad argument is a ConfigError naming `path.<argument>`."""
    accepted = accepted_arguments(factory)
    for key in args:
        if key not in accepted:
            raise unknown_key(path, key, list(accepted), owner=what)
    for key, parameter in accepted.items():
        if parameter.default is parameter.empty and key not in args:
            raise ConfigError(join(path, key), f"missing; {what} needs it")
    try:
        return factory(**args)
    except (NnxError, TypeError, ValueError, OverflowError) as err:
        culprit = _culprit(factory, args, accepted, err)
        problem = str(err) if isinstance(err, NnxError) else f"invalid value ({err})"
        raise ConfigError(join(path, culprit) if culprit else path, problem) from None


def _culprit(factory, args, accepted, err):
    """The argument that makes `factory(**args)` fail: the one whose default fixes it, else
    the one the message names."""
    for key in args:
        default = accepted[key].default
        if default is accepted[key].empty or args[key] == default:
            continue
        try:
            factory(**{**args, key: default})
        except Exception:  # noqa: BLE001 - another argument is (also) bad
            continue
        return key
    words = set(str(err).replace(":", " ").replace(",", " ").split())
    named = [key for key in args if key in words]
    return named[0] if len(named) == 1 else None

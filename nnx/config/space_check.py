"""Whether every searched path is a field the experiment accepts, with each of its values:
the one check of a search space against its experiment, which `nnx validate` and
`nnx search` share (`checked_space`). Apart from `nnx.config.space` because it resolves
whole experiments, and the experiment schema itself reads the space module.
"""

from nnx.config.errors import ConfigError, join
from nnx.config.schema import resolve_config
from nnx.config.space import parse_space


def checked_space(raw, search, method, source=None):
    """(Space, grid points or None for another method) of the experiment `raw` (the file
    with its overrides) whose resolved `search:` section is `search`: every searched path
    set and resolved on the experiment. What `nnx search` and `nnx validate` both refuse,
    as a ConfigError naming `source`."""
    try:
        space = parse_space(search["space"])
        check_paths(space, raw)
        return space, space.grid_points() if method == "grid" else None
    except ConfigError as err:
        err.source = err.source or source
        raise


def check_paths(space, raw, where="search.space"):
    """Every parameter must name a field the experiment schema accepts, with each of its
    values: set it (with what its conditions need) on the raw experiment and resolve.

    A value may need another searched value (sgd's nesterov needs momentum > 0), so a
    value that fails with the others as in the file is tried again with each other
    parameter at each of its probe values; it is bad when no such setting accepts it.
    """
    base = {k: v for k, v in raw.items() if k != "search"}

    def resolves(values):
        try:
            resolve_config(space.apply(base, values))
        except ConfigError as err:
            return err
        return None

    for param in space.params:
        context = space.prerequisites(param, where)
        others = [(q.path, w) for q in space.params if q.path != param.path
                  and q.path not in context for w in q.probe_values()]
        for value in param.probe_values():
            error = resolves({**context, param.path: value})
            if error is None or any(
                    resolves({**context, path: w, param.path: value}) is None
                    for path, w in others):
                continue
            error.source = None
            raise ConfigError(join(where, param.path),
                              f"cannot set {param.path} to {value!r}: {error}")

"""Values of a search space drawn through an Optuna trial (define-by-run): each active
parameter is suggested in the space's order, so that a condition is decided before the
parameter it guards is reached."""


def suggest(param, trial):
    """One `nnx.config.space.Param`, sampled by an Optuna trial."""
    if param.type == "categorical":
        return trial.suggest_categorical(param.path, list(param.choices))
    if param.type == "int":
        return trial.suggest_int(param.path, param.low, param.high, step=param.step or 1,
                                 log=param.log)
    return trial.suggest_float(param.path, param.low, param.high, step=param.step,
                               log=param.log)


def sample(space, trial):
    """{path: value} of the active parameters of `space`, sampled by an Optuna trial."""
    values = {}
    for param in space.params:
        if space.active(param, values):
            values[param.path] = suggest(param, trial)
    return values

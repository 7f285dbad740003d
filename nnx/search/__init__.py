"""Hyperparameter search on Optuna: grid, random, Bayesian (TPE) and other samplers over a
space written in the experiment file; pruning on per-epoch reports; studies that resume.

Modules: `suggest` (a space, `nnx.config.space`, sampled through an Optuna trial),
`samplers` and `pruners` (the Optuna builder of each name in `nnx.config.search_names`),
`storage` (journal file or database), `study` (create/resume, fingerprint, the grid's queue,
budgets), `trial` (one trial through `nnx.experiment.run_experiment`, with its heartbeat),
`liveness` (which running trials lost their worker; failing and re-queueing them),
`study_json` (the study document, reproduce command, export), `loop` (`run_search`: what
`nnx search` calls; `trial_loop`: what every worker runs), `workers` (`--n-jobs`: spawned
worker processes), `lock` (`--exclusive`). Importing this package imports neither optuna
nor numba.
"""

"""Hyperparameter search on Optuna: grid, random, Bayesian (TPE) and other samplers over a
space written in the experiment file; pruning on per-epoch reports; studies that resume.

Modules: `space` (parsing, conditions, grid points), `samplers` and `pruners` (registries),
`storage` (journal file or database), `study` (create/resume, fingerprint, the grid's queue,
budgets), `trial` (one trial through `nnx.experiment.run_experiment`, with its heartbeat),
`liveness` (which running trials lost their worker; failing and re-queueing them),
`study_json` (the study document, reproduce command, export), `loop` (`run_search`: what
`nnx search` calls; `trial_loop`: what every worker runs), `workers` (`--n-jobs`: spawned
worker processes), `lock` (`--exclusive`). Importing this package imports neither optuna
nor numba.
"""

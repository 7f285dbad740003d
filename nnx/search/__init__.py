"""Hyperparameter search on Optuna: grid, random, Bayesian (TPE) and other samplers over a
space written in the experiment file; pruning on per-epoch reports; studies that resume.

Modules: `space` (parsing, conditions, grid points), `samplers` and `pruners` (registries),
`storage` (journal file or database), `study` (create/resume, fingerprint, budgets),
`trial` (one trial through `nnx.experiment.run_experiment`), `study_json` (the study
document, reproduce command, export), `loop` (`run_search`: what `nnx search` and a worker
process call). Importing this package imports neither optuna nor numba.
"""

"""Hyperparameter search on Optuna: grid, random, Bayesian (TPE) and other samplers over a
space written in the experiment file; pruning on per-epoch reports; studies that resume.

A search runs Request -> Plan -> Session -> Summary: `request` (SearchRequest: the
options as given), `plan` (plan_search: every check, nothing written; an immutable Plan),
`session` (open_search: the study opened by one process; `trial_loop`: what the single
process and every worker runs), `run` (run_search: what `nnx search` calls), `workers`
(`--n-jobs`: spawned worker processes), `summary` (the listener hooks, SearchInfo and
Summary). Below them: `pareto` (picking a trial from the Pareto front of several
objectives), `suggest` (a space sampled through an Optuna trial; the space itself
is `nnx.config.space`), `samplers` and `pruners` (the Optuna builder of each name in
`nnx.config.search_names`), `storage` (journal file or database), `study` (create/resume,
fingerprint, the grid's queue, budgets), `trial` (one trial through
`nnx.experiment.run_experiment`, with its heartbeat), `liveness` (which running trials lost
their worker; failing and re-queueing them), `study_json` (the study document, reproduce
command, export), `warm_start`, `lock` (`--exclusive`). Importing this package imports
neither optuna nor numba.
"""

"""What nnx leaves on disk under the results folder: run records and models (`runs`), study
documents and journals (`studies`, `journal`), and a trial picked from a study document's
Pareto front (`pareto`). A low room: the run, the search, the report and the command line
all read and write through it, and it imports nothing of theirs."""

from nnx.results.runs import (
    DEFAULT_RESULTS_DIR,
    RUN_ID_TAIL,
    RUN_KEYS,
    RUN_SCHEMA,
    RUN_STATUSES,
    find_run,
    is_run_id,
    load_runs,
    model_file,
    new_run_id,
    read_json,
    read_run,
    results_dir,
    runs_dir,
    to_json,
    utc_now,
    write_json,
    write_run,
)

__all__ = ["DEFAULT_RESULTS_DIR", "RUN_ID_TAIL", "RUN_KEYS", "RUN_SCHEMA", "RUN_STATUSES",
           "find_run", "is_run_id", "load_runs", "model_file", "new_run_id", "read_json",
           "read_run", "results_dir", "runs_dir", "to_json", "utc_now", "write_json",
           "write_run"]

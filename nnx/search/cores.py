"""How many worker processes `--n-jobs` starts: at most one per core this process may use.
More workers than cores only take turns on the cores, each with one thread and its own
copy of the data, and hundreds of them exhaust the machine."""

import os

from nnx.errors import NnxError

MAX_JOBS_PER_CORE = 4  # above this many per core, --n-jobs is refused rather than capped


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_count(n_jobs):
    """(workers to start, a one-line warning or None) for `--n-jobs n_jobs`: capped to the
    cores; NnxError when it is not a positive number or above MAX_JOBS_PER_CORE x cores."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise NnxError(f"--n-jobs must be a positive number of worker processes, got "
                       f"{n_jobs!r}")
    cores = available_cores()
    if n_jobs <= cores:
        return n_jobs, None
    plural = "s" if cores != 1 else ""
    if n_jobs > MAX_JOBS_PER_CORE * cores:
        raise NnxError(f"--n-jobs {n_jobs} is more than {MAX_JOBS_PER_CORE} x the {cores} "
                       f"core{plural} this process may use: give at most "
                       f"{MAX_JOBS_PER_CORE * cores} (any number above {cores} runs {cores} "
                       f"worker{plural})")
    return cores, (f"warning: --n-jobs {n_jobs} is more than the {cores} core{plural} this "
                   f"process may use: running {cores} worker{plural}")

"""How much of the machine nnx takes: worker processes (`nnx search --n-jobs`) and threads
per run (`--threads`, `train.threads`), each at most one per core this process may use.

More workers or threads than cores only take turns on the cores (and each worker holds its
own copy of the data), so a count above the cores runs as many as there are cores, with a
warning; a count above MAX_PER_CORE x the cores is refused as the typo it most likely is
(hundreds of workers exhaust the machine).
"""

import os

from nnx.errors import NnxError

MAX_PER_CORE = 4  # above this many per core, a count is refused rather than capped


class TooMany(NnxError):
    """A count above MAX_PER_CORE x the cores; `problem` is the message without the option's
    name, for a caller that names the place itself (a config path)."""

    def __init__(self, option, problem):
        super().__init__(f"{option} {problem}")
        self.option, self.problem = option, problem


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_count(n_jobs):
    """(workers to start, a one-line warning or None) for `--n-jobs n_jobs`; NnxError when it
    is not a positive number, TooMany above MAX_PER_CORE x the cores."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise NnxError(f"--n-jobs must be a positive number of worker processes, got "
                       f"{n_jobs!r}")
    return _capped(n_jobs, "--n-jobs", "worker")


def thread_count(threads, option="--threads"):
    """(threads to use, a one-line warning or None) for `threads` (a positive integer, as the
    config and the CLI check it) given as `option`; TooMany above MAX_PER_CORE x the cores."""
    return _capped(threads, option, "thread")


def _capped(count, option, unit):
    cores = available_cores()
    if count <= cores:
        return count, None
    plural = "s" if cores != 1 else ""
    if count > MAX_PER_CORE * cores:
        raise TooMany(option, f"{count} is more than {MAX_PER_CORE} x the {cores} core{plural} "
                              f"this process may use: give at most {MAX_PER_CORE * cores} (any "
                              f"number above {cores} runs {cores} {unit}{plural})")
    return cores, (f"warning: {option} {count} is more than the {cores} core{plural} this "
                   f"process may use: running {cores} {unit}{plural}")

"""Leftovers of killed writes under the results folder, removed by the next run.

A write killed half-way (SIGKILL, a power cut, a full disk) can leave
- a hidden temporary file `.<name>.<random>.tmp` (`nnx.atomic`) in runs/ or studies/;
- a model file `runs/<run_id>.npz` without its record `<run_id>.json`: a run writes its
  model first, then its record, so a kill between the two leaves the model alone.
Both are also what a run going on in another process (another worker, an overlapping cron
job) has on disk at this moment: a temporary file while it is written, a model in the
instant before its record. So only files untouched for LEFTOVER_AGE_S count as leftovers;
no write leaves its file untouched that long (a process stopped mid-write for longer
loses that write). Model files not named like a run (saved by hand) are never touched.
"""

import os
import time
from pathlib import Path

from nnx.atomic import TEMPORARY_SUFFIX
from nnx.results import is_run_id, runs_dir

LEFTOVER_AGE_S = 3600
FOLDERS = ("runs", "studies")


def find_leftovers(root, now=None):
    """The leftover files under the results folder `root` (see the module)."""
    cutoff = (time.time() if now is None else now) - LEFTOVER_AGE_S
    found = [path for name in FOLDERS for path in stale_temporaries(Path(root) / name, cutoff)]
    runs = runs_dir(root)
    for model in runs.glob("*.npz") if runs.is_dir() else []:
        if is_run_id(model.stem) and not model.with_suffix(".json").exists() and _older(
                model, cutoff):
            found.append(model)
    return found


def stale_temporaries(folder, cutoff):
    """The temporary files of `nnx.atomic` in `folder` untouched since `cutoff`."""
    folder = Path(folder)
    return [path for path in (folder.glob(f".*{TEMPORARY_SUFFIX}") if folder.is_dir() else [])
            if _older(path, cutoff)]


def remove_leftovers(root, now=None):
    """Remove the leftovers under `root`; returns the paths removed."""
    return remove_files(find_leftovers(root, now))


def remove_files(paths):
    """Remove `paths` where they still exist; returns those removed."""
    removed = []
    for path in paths:
        try:
            path.unlink()
        except OSError:
            continue  # another run removed it first, or it is not ours to remove
        removed.append(path)
    return removed


def _older(path, cutoff):
    try:
        return os.stat(path).st_mtime < cutoff
    except FileNotFoundError:
        return False

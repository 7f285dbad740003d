"""Where a study's files live under the results folder, and what its document says of it.

The search engine writes a study (its journal and its JSON document); the report and the
`studies` command read them. Both sides take the file names, the document schema and the
status rules from here, so neither has to import the other.
"""

from pathlib import Path

STUDY_SCHEMA = "nnx.study/1"
JOURNAL_SUFFIX = ".journal"
# A trial's state in the study document: Optuna's states, with `diverged` (told as PRUNED)
# kept apart; the first four are finished, the last two are not.
TRIAL_STATES = ("complete", "pruned", "diverged", "failed", "running", "waiting")
FINISHED_STATES = TRIAL_STATES[:4]


def studies_dir(results_dir):
    return Path(results_dir) / "studies"


def journal_path(results_dir, study):
    return studies_dir(results_dir) / f"{study}{JOURNAL_SUFFIX}"


def embedded_study_names(results_dir):
    """The studies kept in journal files in the results folder."""
    folder = studies_dir(results_dir)
    if not folder.is_dir():
        return []
    return sorted(p.name[:-len(JOURNAL_SUFFIX)] for p in folder.glob(f"*{JOURNAL_SUFFIX}"))


def study_status(counts, damaged=False):
    """A study's state in listings: `damaged` (its journal no longer loads), `running` (a
    trial runs now), `idle` (trials are queued but none runs: the next search runs them),
    `finished`, or `empty`."""
    if damaged:
        return "damaged"
    if not sum(counts.values()):
        return "empty"
    if counts.get("running"):
        return "running"
    return "idle" if counts.get("waiting") else "finished"


def damaged_document(name, journal, message):
    """The stand-in of a study whose journal is damaged: its name, file and what is wrong."""
    return {"schema": STUDY_SCHEMA, "study": name, "storage": str(journal), "trials": [],
            "counts": {}, "best": None, "damaged": message}

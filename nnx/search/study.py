"""A study: created on the first run, resumed by the same command later, refused when its
base experiment changed; and the budgets that decide when an invocation stops.

What makes a study is kept in the study's own user attributes in the storage (so any host
can rebuild the study JSON): the fingerprinted document (the resolved experiment without its
name, search section, threads and diagnostics, plus the space as written, the metric and the
direction, and the objectives when there are several), the experiment path and `--set`
overrides that started it, and the last method.

Many processes may open one study at the same moment (workers, cron on several machines).
Optuna's `create_study` lets exactly one of them create it; that one writes nnx's attributes,
queues a grid's points (one WAITING trial per point: Optuna hands each to one worker only),
and sets `nnx_ready` last. The others wait for `nnx_ready` before they use the study.
"""

import copy
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from nnx.errors import NnxError
from nnx.results import utc_now
from nnx.results.studies import STUDY_SCHEMA
from nnx.search.samplers import GRID_PARAM

READY_WAIT_S = 60.0  # how long a study's creator may take to describe it and queue its grid
# Parts of the resolved experiment that do not change what a trial computes.
UNFINGERPRINTED = (("name",), ("search",), ("diagnostics",), ("train", "threads"))


class StudyChanged(NnxError):
    """The base experiment of an existing study changed."""


def fingerprint_document(config, space, metric, direction, objectives=None):
    """What a study's trials depend on besides their parameters (`objectives`: several, or
    None for one, which leaves the document of a single-objective study as it always was)."""
    base = copy.deepcopy(config)
    for keys in UNFINGERPRINTED:
        node = base
        for key in keys[:-1]:
            node = node.get(key) or {}
        node.pop(keys[-1], None)
    document = {"experiment": base, "space": space, "metric": metric, "direction": direction}
    if objectives is not None:
        document["objectives"] = objectives
    return json.loads(json.dumps(document, default=str))  # as the storage will give it back


def fingerprint(document):
    text = json.dumps(document, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def first_difference(old, new, path=""):
    """(dotted path, old value, new value) of the first difference, or None."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            if old.get(key, _MISSING) != new.get(key, _MISSING):
                return first_difference(old.get(key, _MISSING), new.get(key, _MISSING),
                                        f"{path}.{key}" if path else str(key))
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            if a != b:
                return first_difference(a, b, f"{path}.{i}" if path else str(i))
        return None
    return None if old == new else (path, old, new)


class _Missing:
    def __repr__(self):
        return "(absent)"


_MISSING = _Missing()


@dataclass
class StudyPlan:
    """What a search needs to open its study."""

    name: str
    metric: str
    direction: str
    method: str
    document: dict  # the fingerprinted document
    experiment: str
    overrides: list
    objectives: list | None = None  # [{metric, direction}]; None: the one metric/direction

    def __post_init__(self):
        if self.objectives is None:
            self.objectives = [{"metric": self.metric, "direction": self.direction}]


def open_study(storage, plan, grid_size=None):
    """(optuna Study, resumed?) for `plan`: load the study, or create it with nnx's
    attributes (and, for a grid of `grid_size` points, its queue); StudyChanged when the
    existing one was started from another experiment."""
    import optuna

    created = False
    try:
        study = optuna.load_study(study_name=plan.name, storage=storage.optuna)
        resumed = True
    except KeyError:
        try:
            study = optuna.create_study(study_name=plan.name, storage=storage.optuna,
                                        directions=[o["direction"] for o in plan.objectives])
            created = True
        except optuna.exceptions.DuplicatedStudyError:  # another process created it just now
            study = optuna.load_study(study_name=plan.name, storage=storage.optuna)
        resumed = False
    if created:
        _describe_new_study(study, plan)
    else:
        wait_until_ready(study)
    check_same_experiment(study, plan)
    if grid_size is not None:
        queue_grid(study, grid_size)
    if created:
        study.set_user_attr("nnx_ready", True)
    if study.user_attrs.get("nnx_method") != plan.method:
        study.set_user_attr("nnx_method", plan.method)
    return study, resumed


def wait_until_ready(study, wait_s=READY_WAIT_S):
    """Wait while another process is still setting up a study it just created (at most
    `wait_s`, or a few seconds when the study shows no sign of nnx at all)."""
    started = time.monotonic()
    while time.monotonic() - started < wait_s:
        attrs = study.user_attrs
        if attrs.get("nnx_ready"):
            return
        if "nnx_fingerprint" in attrs:
            if _age_s(attrs.get("nnx_created")) > wait_s:
                return  # made before nnx_ready existed, or its creator died setting it up
        elif study.get_trials(deepcopy=False) or time.monotonic() - started > 5:
            return  # not an nnx study: check_same_experiment says so
        time.sleep(0.2)


def _age_s(stamp):
    try:
        created = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return float("inf")
    return (datetime.now(UTC) - created).total_seconds()


def grid_point_of(trial):
    """The grid point index a trial runs or will run (None: not a grid trial)."""
    point = trial.params.get(GRID_PARAM, (trial.system_attrs.get("fixed_params") or {}).get(
        GRID_PARAM))
    return None if point is None else int(point)


def queue_grid(study, grid_size):
    """Queue every grid point that no trial has taken yet, once per study: the creator does
    it before `nnx_ready`; a study searched by another method before gets it on its first
    grid run."""
    if study.user_attrs.get("nnx_grid_queued") == grid_size:
        return 0
    taken = {grid_point_of(t) for t in study.get_trials(deepcopy=False)}
    points = [i for i in range(grid_size) if i not in taken]
    for point in points:
        study.enqueue_trial({GRID_PARAM: point})
    study.set_user_attr("nnx_grid_queued", grid_size)
    return len(points)


def _describe_new_study(study, plan):
    attrs = {"nnx_schema": STUDY_SCHEMA, "nnx_created": utc_now(),
             "nnx_fingerprint": fingerprint(plan.document), "nnx_document": plan.document,
             "nnx_metric": plan.metric, "nnx_direction": plan.direction,
             "nnx_objectives": plan.objectives,
             "nnx_space": plan.document["space"], "nnx_experiment": plan.experiment,
             "nnx_overrides": list(plan.overrides), "nnx_method": plan.method}
    for key, value in attrs.items():
        study.set_user_attr(key, value)


def check_same_experiment(study, plan):
    attrs = study.user_attrs
    if "nnx_fingerprint" not in attrs:
        raise NnxError(f"study {plan.name!r} exists in the storage but was not created by nnx "
                       f"search; choose another name with --study NEW_NAME")
    if attrs["nnx_fingerprint"] == fingerprint(plan.document):
        return
    recorded = attrs.get("nnx_document", {})
    differences = []  # the objectives first: a changed metric also changes the direction
    for key in ("objectives", "metric", "direction", "space", "experiment"):
        difference = first_difference(recorded.get(key, _MISSING),
                                       plan.document.get(key, _MISSING), key)
        if difference is not None:
            differences.append(difference)
    what = ""
    if differences:
        label = {"experiment": "the experiment", "space": "search.space",
                 "metric": "search.metric", "direction": "search.direction",
                 "objectives": "search.objectives"}
        shown = []
        for path, old, new in differences[:2]:
            head, _, rest = path.partition(".")
            field = rest if head == "experiment" and rest else (
                f"search.space.{rest}" if head == "space" and rest else label.get(head, path))
            shown.append(f"{field}: {_show(old)} then, {_show(new)} now")
        what = f" ({'; '.join(shown)})"
    started = attrs.get("nnx_experiment", "?")
    overrides = " ".join(f"--set {o}" for o in attrs.get("nnx_overrides", []))
    raise StudyChanged(
        f"study {plan.name!r} was started from a different experiment{what}; its trials would "
        f"not be comparable. Start a new study with --study NEW_NAME, or resume this one with "
        f"the original settings ({started}{' ' + overrides if overrides else ''})")


def _show(value):
    text = json.dumps(value, default=str) if value is not _MISSING else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- budgets ----------------------------------------------------------------------------
@dataclass
class Budget:
    """The budgets of `nnx search`: `n_trials` trials in this invocation, `max_trials`
    finished trials in the study (complete, pruned or diverged; failed ones are retried and
    not counted), `timeout` seconds after which no new trial starts. None: no limit of that
    kind."""

    n_trials: int | None = None
    max_trials: int | None = None
    timeout: float | None = None

    def stop_reason(self, *, started, finished_in_study, elapsed, running_in_study=0):
        """Why no further trial may start now (a one-line reason), or None. Trials running
        elsewhere count toward --max-trials: they will finish (or, failing, be queued again
        and picked up by whoever is still running), so starting one more would overshoot."""
        if self.max_trials is not None and finished_in_study >= self.max_trials:
            return (f"the study holds {finished_in_study} finished trials (--max-trials "
                    f"{self.max_trials})")
        if (self.max_trials is not None
                and finished_in_study + running_in_study >= self.max_trials):
            return (f"the study holds {finished_in_study} finished trials and "
                    f"{running_in_study} running (--max-trials {self.max_trials})")
        if self.n_trials is not None and started >= self.n_trials:
            return f"{started} trial{'s' if started != 1 else ''} run (--n-trials {self.n_trials})"
        if self.timeout is not None and elapsed >= self.timeout:
            return f"--timeout {self.timeout:g} s reached"
        return None


def check_budget(n_trials, max_trials, timeout):
    for flag, value in (("--n-trials", n_trials), ("--max-trials", max_trials)):
        if value is not None and (isinstance(value, bool) or value < 1):
            raise NnxError(f"{flag} must be a positive integer, got {value!r}")
    if timeout is not None and not timeout > 0:
        raise NnxError(f"--timeout must be a positive number of seconds, got {timeout!r}")

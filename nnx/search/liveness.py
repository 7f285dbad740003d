"""Which RUNNING trials still have a worker, and what to do with those that do not.

Optuna keeps a trial RUNNING for ever when its worker is killed (SIGKILL, OOM, a reboot, a
lost machine), and its own heartbeats exist only for RDB storages inside `optimize`. So
every trial records who runs it, in its user attributes:

- `host`, `pid`, `worker` (the worker index of its invocation);
- `process`: {"boot": the kernel boot id, "start": the process start time in clock ticks
  since boot} (Linux; None elsewhere), which tells a live worker from a later process
  that reused its pid, and a host that rebooted since;
- `heartbeat`: {"at": Unix time, "longest_epoch_s": the longest epoch so far}, written when
  the trial starts and then from the per-epoch callback (at most every HEARTBEAT_EVERY_S).

A worker is gone when
- on this host (same host name and boot): its pid no longer exists, or belongs to a process
  that started at another time (pid reused); a host that rebooted since has no live worker;
- on another host: its last heartbeat is older than the grace period,
  max(GRACE_S, 3 x the longest epoch the trial has reported) — so a worker whose epochs take
  20 minutes is given an hour. Clocks of the hosts must agree to well within the grace.

`reap` marks such a trial failed (Optuna FAIL, nnx `failed` with the reason) and queues its
parameters again (WAITING, once: a retry that is lost too is not queued again; see
`requeue`), and a queued retry runs before any other trial (`nnx.search.trial`). `tell` is
atomic in both storages (a row lock in PostgreSQL, the journal's append order), so when two
workers reap the same trial only one of them succeeds and queues the retry.
"""

import os
import socket
import time
from dataclasses import dataclass

GRACE_S = 600.0  # 10 minutes without a heartbeat: a worker on another host is gone
EPOCH_GRACE_FACTOR = 3  # ... or 3 epochs, when its epochs are longer than that
HEARTBEAT_EVERY_S = 5.0  # a heartbeat costs one storage write; fast epochs skip some


def boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return None


def process_start(pid):
    """The start time of process `pid` (clock ticks since boot), or None when unknown."""
    try:
        with open(f"/proc/{int(pid)}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except (OSError, ValueError):
        return None
    try:  # the command name may hold spaces and parentheses: split after the last ')'
        return int(text.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


@dataclass(frozen=True)
class Identity:
    """The process running a trial."""

    host: str
    pid: int
    boot: str | None
    start: int | None

    @classmethod
    def current(cls):
        pid = os.getpid()
        return cls(socket.gethostname(), pid, boot_id(), process_start(pid))

    def attrs(self):
        return {"host": self.host, "pid": self.pid,
                "process": {"boot": self.boot, "start": self.start}}


def pid_alive(pid, start=None):
    """Whether process `pid` exists and, when its start time is known, is that process."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    except (OverflowError, ValueError, TypeError):
        return False
    if start is not None:
        now = process_start(pid)
        if now is not None and now != start:
            return False
    return True


def grace_period(longest_epoch_s):
    return max(GRACE_S, EPOCH_GRACE_FACTOR * float(longest_epoch_s or 0.0))


def why_gone(trial, me=None, now=None):
    """Why the worker of a RUNNING trial is gone (one line), or None when it may be alive."""
    me = me or Identity.current()
    now = time.time() if now is None else now
    attrs = trial.user_attrs
    host, pid = attrs.get("host"), attrs.get("pid")
    process = attrs.get("process") or {}
    if host == me.host and pid is not None:
        if process.get("boot") and me.boot and process["boot"] != me.boot:
            return f"its worker (pid {pid} on {host}) ran before {host} restarted"
        if not pid_alive(pid, process.get("start")):
            return f"its worker (pid {pid} on {host}) is gone"
        return None
    beat = attrs.get("heartbeat") or {}
    last = beat.get("at")
    if last is None:  # killed before it recorded anything: judge by the trial's start
        if trial.datetime_start is None:
            return None
        start = trial.datetime_start
        last = start.timestamp()  # naive datetimes are local time, as Optuna writes them
    grace = grace_period(beat.get("longest_epoch_s"))
    silent = now - float(last)
    if silent > grace:
        who = f"pid {pid} on {host}" if host else "an unrecorded worker"
        return (f"no heartbeat from its worker ({who}) for {silent / 60:.0f} min "
                f"(grace {grace / 60:.0f} min)")
    return None


@dataclass
class Reaped:
    number: int
    reason: str
    requeued: bool


def retry_params(trial):
    """The parameters to run a trial again with: its own, else those it was queued with."""
    return dict(trial.params or trial.system_attrs.get("fixed_params") or {})


def fail_and_requeue(study, trial, reason):
    """Mark a RUNNING `trial` failed with `reason`; returns whether this call closed it
    (False: its worker or another reaper finished it first). Writes through the study's
    storage, since the worker's `optuna.Trial` object lives in another process."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    try:
        study._storage.set_trial_user_attr(trial._trial_id, "nnx_state", "failed")
        study._storage.set_trial_user_attr(trial._trial_id, "error", reason)
        study.tell(trial.number, state=TrialState.FAIL)
    except (UpdateFinishedTrialError, ValueError, RuntimeError):
        return False  # finished meanwhile, by its worker or by another reaper
    return True


def requeue(study, trial, interrupted=False):
    """Queue a failed trial's parameters once more; returns whether it was queued.

    An interrupted trial (Ctrl-C) is queued every time: the user stopped it, not its
    parameters, and a grid point would otherwise never complete. A trial that crashed or
    whose worker was lost is queued only when it was not itself queued after a crash or a
    loss: its parameters may be what kills the worker (out of memory)."""
    params = retry_params(trial)
    if not params or (not interrupted and _retried_after_failure(trial)):
        return False
    study.enqueue_trial(params, user_attrs={"nnx_retry_of": trial.number,
                                            "nnx_retry_after": "interrupted" if interrupted
                                            else "failed"})
    return True


def _retried_after_failure(trial):
    """Whether `trial` is the one retry of a crashed or lost trial (a retry recorded without
    its cause predates interrupted ones being retried: it was one)."""
    attrs = trial.user_attrs
    return "nnx_retry_of" in attrs and attrs.get("nnx_retry_after", "failed") == "failed"


def reap(study, me=None):
    """Fail every RUNNING trial whose worker is gone and queue its parameters again;
    returns a list of Reaped (empty when every running trial has a live worker)."""
    from optuna.trial import TrialState

    me = me or Identity.current()
    now = time.time()
    reaped = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        reason = why_gone(trial, me, now)
        if reason is None or not fail_and_requeue(study, trial, f"worker lost: {reason}"):
            continue
        reaped.append(Reaped(trial.number, reason, requeue(study, trial)))
    return reaped

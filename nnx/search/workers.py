"""`nnx search --n-jobs K`: K worker processes on one study.

The parent has already planned the search (every check made, the experiment and its data
loaded once: each worker gets the checked plan), created (or resumed) the study — one
process creates it, so the schema and nnx's attributes are written once, and a grid's
points are queued once — and failed the trials of workers that are gone. It then starts K
workers (`--n-jobs`, at most one per core: `nnx.cores`) with multiprocessing's `spawn` (a
fresh interpreter: GNU OpenMP, numba's threading layer, is not fork-safe), each with
OMP/OpenBLAS/MKL/NUMBA thread counts of max(1, cores // K) in its environment before
anything is imported (`--threads T` or `train.threads: T` sets T instead), so that K
workers do not fight over the cores. Each worker runs `trial_loop` on its own connection to
the storage, with its own sampler seed (from its index, then from each trial's number), and:

- takes a trial from Optuna (queued ones first, retries before all, atomically), so no two
  workers run one trial, and a grid hands each point to one worker only;
- stops when the shared `--n-trials` count is used up (a Value shared by the workers), when
  `--max-trials` is met counting the trials running elsewhere (overshoot: at most K-1, when
  workers check at the same instant), at `--timeout`, when the parent asks (Ctrl-C) or is
  gone (a killed parent's workers finish their trial and stop);
- sends each finished trial to the parent through its own pipe (no shared queue: a killed
  worker cannot leave a lock held), which prints one line per trial.

When a worker dies (SIGKILL, out of memory), the parent says so and fails its running trial
and queues its parameters again at once (`liveness.reap`); the other workers go on and pick
it up. Ctrl-C on a terminal reaches every worker: each stops its trial after the current
batch, marks it failed and queues it again, and the search exits 130. A Ctrl-C
(SIGINT) to the parent alone stops the workers after their current trial; a second one
interrupts them, a third terminates them. SIGTERM to the parent (kill, a service manager)
is passed on to the workers at once, which then stop as after a Ctrl-C; the search exits 143.
"""

import os
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from nnx import stop_signals
from nnx.cores import available_cores, thread_count
from nnx.errors import NnxError
from nnx.search import liveness
from nnx.search.session import Tickets, open_search, stop_reason, trial_loop
from nnx.search.storage import quiet_optuna
from nnx.search.summary import SearchListener, Summary

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")
POLL_S = 1.0


def threads_per_worker(n_jobs, threads=None):
    """`--threads` or `train.threads` (at most the cores), else the cores this process may
    use shared out: K x threads <= cores."""
    return thread_count(threads)[0] if threads else max(1, available_cores() // n_jobs)


@contextmanager
def thread_environment(threads):
    """The thread variables set while a worker is spawned (it inherits the environment)."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: str(threads) for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass
class _Worker:
    index: int
    process: object
    receiver: object
    open: bool = True  # its pipe has not reached EOF
    done: bool = False  # it said how it ended
    joined: bool = False


def run_workers(session, listener, should_stop=None):
    """Start the workers of `session` and collect what they report; returns a Summary of
    their trials. When `should_stop()` gives a reason, the workers start no new trial."""
    import multiprocessing

    plan = session.plan
    reason = stop_reason(session, [], Tickets(plan.n_trials))
    if reason is not None:  # budget met or grid done: start no process at all
        return Summary([], reason)
    ctx = multiprocessing.get_context("spawn")
    threads = threads_per_worker(plan.n_jobs, plan.config["train"]["threads"])
    worker_plan = plan.for_worker(threads)
    shared, stop = ctx.Value("i", 0), ctx.Event()
    workers = []
    try:
        for index in range(plan.n_jobs):
            receiver, sender = ctx.Pipe(duplex=False)
            process = ctx.Process(target=worker_main, name=f"nnx-search-worker-{index}",
                                  args=(worker_plan, index, sender, shared, stop))
            with thread_environment(threads):
                process.start()
            sender.close()
            workers.append(_Worker(index, process, receiver))
    except KeyboardInterrupt:
        stop.set()
        return _collect(session, listener, workers, stop, should_stop, interrupts=1)
    listener.workers_started([w.process.pid for w in workers], threads)
    result = _collect(session, listener, workers, stop, should_stop)
    if not result.interrupted:  # one reason for the whole run, rather than one per worker
        result.stop_reason = stop_reason(session, [], Tickets(plan.n_trials, shared)) \
            or result.stop_reason
    return result


def _collect(session, listener, workers, stop, should_stop, interrupts=0):
    from multiprocessing.connection import wait

    outcomes, reasons, failures = [], [], []
    interrupted = interrupts > 0
    while not all(w.joined for w in workers):
        try:
            if should_stop is not None and should_stop() is not None:
                stop.set()
            waitables = [w.receiver for w in workers if w.open]
            waitables += [w.process.sentinel for w in workers if not w.joined]
            ready = set(wait(waitables, timeout=POLL_S))
            for worker in workers:
                if worker.open and worker.receiver in ready:
                    _receive(worker, listener, outcomes, reasons, failures)
            for worker in workers:
                if worker.joined or worker.open or worker.process.is_alive():
                    continue
                worker.process.join()
                worker.joined = True
                if not worker.done:
                    failure = (f"worker {worker.index} (pid {worker.process.pid}) "
                               f"{_exit_text(worker.process.exitcode)}")
                    failures.append(failure)
                    listener.note(failure)
                for reaped in liveness.reap(session.study):
                    listener.reaped(reaped)
        except KeyboardInterrupt:
            interrupted, interrupts = True, interrupts + 1
            stop.set()
            alive = [w.process for w in workers if w.process.is_alive()]
            terminated = stop_signals.last() == signal.SIGTERM
            if interrupts == 1:
                listener.note("SIGTERM: the workers stop their trials after the current batch"
                              if terminated else "interrupted: no new trial starts (Ctrl-C "
                              "again to stop the workers' trials at once)")
            for process in alive:
                if interrupts == 1 and terminated:
                    os.kill(process.pid, signal.SIGTERM)
                elif interrupts == 2:
                    os.kill(process.pid, signal.SIGINT)
                elif interrupts > 2:
                    process.terminate()
    reasons = list(dict.fromkeys(r for r in reasons if r))
    reason = "interrupted" if interrupted else "; ".join(reasons) or "the workers stopped"
    return Summary(outcomes, reason, interrupted or "interrupted" in reasons,
                   worker_failures=failures)


def _receive(worker, listener, outcomes, reasons, failures):
    try:
        kind, *payload = worker.receiver.recv()
    except (EOFError, OSError):
        worker.open = False
        worker.receiver.close()
        return
    if kind == "trial":
        outcome, best = payload
        outcomes.append(outcome)
        listener.trial_finished(outcome, best)
    elif kind == "reaped":
        listener.reaped(payload[0])
    elif kind == "note":
        listener.note(payload[0])
    elif kind == "done":
        worker.done = True
        reason, was_interrupted = payload
        reasons.append("interrupted" if was_interrupted else reason)
    elif kind == "error":
        worker.done = True
        failures.append(f"worker {worker.index}: {payload[0]}")
        listener.note(failures[-1])


def _exit_text(code):
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class _PipeListener(SearchListener):
    """A worker's listener: sends what happens to the parent (no live display)."""

    def __init__(self, sender):
        self.sender = sender

    def send(self, *message):
        try:
            self.sender.send(message)
        except (BrokenPipeError, EOFError, OSError):
            pass  # the parent is gone; the storage keeps the record anyway

    def trial_finished(self, outcome, best):
        self.send("trial", outcome, best)

    def reaped(self, reaped):
        self.send("reaped", reaped)

    def note(self, text):
        self.send("note", text)


def worker_main(plan, index, sender, shared, stop):
    """Worker `index`: open the study of `plan` (checked by the parent, so the data are not
    loaded once more per worker) and run trials until something stops it. Runs in a fresh
    interpreter whose thread variables the parent set before it started."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    listener = _PipeListener(sender)
    code = 0

    def should_stop():
        if stop.is_set():
            return "interrupted"
        if parent is not None and not parent.is_alive():
            return "the parent process is gone"
        return None

    with stop_signals.process_handled():
        try:
            quiet_optuna()
            session = open_search(plan, worker=index, on_repair=listener.journal_repaired)
            for reaped in session.info.reaped:
                listener.reaped(reaped)
            result = trial_loop(session, listener, Tickets(plan.n_trials, shared), should_stop)
            listener.send("done", result.stop_reason, result.interrupted)
        except KeyboardInterrupt:
            stop_signals.stopping()
            listener.send("done", "interrupted", True)
        except NnxError as err:
            listener.send("error", str(err))
            code = 2
        except Exception as err:  # noqa: BLE001 - reported to the parent as one line
            if os.environ.get("NNX_DEBUG"):
                import traceback

                traceback.print_exc()
            listener.send("error", f"internal error: {type(err).__name__}: {err}")
            code = 1
        finally:
            sender.close()
    if code:
        sys.exit(code)

"""Stop signals: Ctrl-C (SIGINT) and SIGTERM (kill, cron, systemd) end nnx cleanly.

One handler for both signals; what it does depends on where the program is:
- in a command or a search worker (`handled()`): it raises KeyboardInterrupt wherever the
  program is, as Python does for Ctrl-C (SIGTERM would otherwise end the process on the
  spot); the CLI then exits 128 + the signal's number, as a shell reports a process a
  signal ended: 130 for SIGINT, 143 for SIGTERM (`exit_code()`);
- in a run (`RunStop`): the first signal asks training to stop after the current batch;
  a further one stops at once, but only inside `interruptible()` (training, evaluation),
  where stopping loses nothing learnt. Anywhere else, above all while the model and the
  run record are written, it is only counted, so the record on disk is whole;
- in a `Deferred` block (steps that must not be cut in two: a search trial taken and
  marked as this process's, told failed and queued again): only counted, except inside
  its `interruptible()` part, where the first signal raises (and one that came earlier in
  the block raises on entry);
- once the command is stopping (`stopping()`) or over: only counted, so that a burst of
  signals cannot turn a decided exit into a traceback; and when the process ends
  (`process_handled()`), ignored, since the interpreter's shutdown restores the default
  action, which would end the process by the signal and hide its exit code.
Each signal is counted (`count()`): a search that got one while a trial's record was
written stops before its next trial.

The handler defers rather than blocking the signal (pthread_sigmask) because the kernel
hands a process's signal to any thread that does not block it — numba's and BLAS's
threads, started earlier, do not — and Python runs the handler in the main thread anyway.
Handlers can be set from the main thread only; elsewhere Python's defaults stay.
"""

import signal
import threading
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
USER_STOP_REASON = "interrupted by the user"

_received = []  # the stop signals of the current command, in order
_runs = []  # the RunStop of each run in progress, or Deferred block: innermost last
_state = {"commands": 0, "stopping": False}


def _handle(signum, frame):
    _received.append(signum)
    if _runs:
        if _runs[-1].decide(signum):
            raise KeyboardInterrupt
    elif not _state["stopping"]:
        raise KeyboardInterrupt


def _main_thread():
    return threading.current_thread() is threading.main_thread()


@contextmanager
def _handler_installed():
    """`_handle` for the stop signals while inside; signals ignored on entry (a background
    job of a shell ignores SIGINT) stay ignored."""
    if not _main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    for number, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(number, _handle)
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is None:  # set outside Python
                handler = signal.default_int_handler if number == signal.SIGINT else \
                    signal.SIG_DFL
            signal.signal(number, handler)


@contextmanager
def handled():
    """A command: a stop signal raises KeyboardInterrupt (see the module) until the command
    is `stopping()` or over; its signals are forgotten when the outermost one ends."""
    with _handler_installed():
        _state["commands"] += 1
        _state["stopping"] = False
        try:
            yield
        finally:
            _state["commands"] -= 1
            _state["stopping"] = True
            if not _state["commands"]:
                _received.clear()


def stopping():
    """The command is stopping (its exit code is decided): further signals are counted."""
    _state["stopping"] = True


@contextmanager
def process_handled():
    """A whole process (`nnx`, a search worker) as one command; the stop signals are
    ignored once it ends."""
    if _main_thread():
        for number in STOP_SIGNALS:
            if signal.getsignal(number) is not signal.SIG_IGN:
                signal.signal(number, _handle)  # what `handled()` restores when it ends
    try:
        with handled():
            yield
    finally:
        if _main_thread():
            for number in STOP_SIGNALS:
                signal.signal(number, signal.SIG_IGN)


def count():
    """How many stop signals the current command has had."""
    return len(_received)


def last():
    """The latest stop signal of the current command, or None."""
    return _received[-1] if _received else None


def exit_code():
    """128 + the first stop signal of the command; 130 for a KeyboardInterrupt without one
    (raised by code)."""
    return 128 + (_received[0] if _received else signal.SIGINT)


def reason(signum):
    """The run's `stop_reason` for a stop by `signum`."""
    if signum == signal.SIGINT:
        return USER_STOP_REASON
    return f"stopped by {signal.Signals(signum).name}"


class _Scope:
    """A stretch of the program that decides what a stop signal does while it is the
    innermost one installed (`decide(signum)`: True raises KeyboardInterrupt now)."""

    def __init__(self):
        self.signum = None  # the first stop signal inside it
        self.armed = False

    @contextmanager
    def installed(self):
        """This scope's handling of stop signals while inside."""
        with _handler_installed():
            _runs.append(self)
            try:
                yield self
            finally:
                _runs.remove(self)

    @contextmanager
    def interruptible(self):
        """A block that a signal may stop at once, as `decide` rules (a KeyboardInterrupt,
        once per block): the caller catches it, so it must wrap the block in a try."""
        self.armed = True
        try:
            yield
        finally:
            self.armed = False


class RunStop(_Scope):
    """A run's side of the stop signals: the first one is a request (`requested`; training
    checks it after each batch), a further one stops at once inside `interruptible()`, and
    is only counted elsewhere."""

    @property
    def requested(self):
        return self.signum is not None

    def decide(self, signum):
        """Whether the handler raises KeyboardInterrupt now: once per `interruptible()`
        block, for a signal after the first."""
        if self.signum is None:
            self.signum = signum
            return False
        raise_now, self.armed = self.armed, False
        return raise_now


class Deferred(_Scope):
    """A block whose steps a stop signal must not separate: inside it a signal is only
    counted, except inside `interruptible()`, where the first one raises KeyboardInterrupt
    (and one counted earlier in the block raises on entry). A run started inside decides
    for itself while it runs."""

    def decide(self, signum):
        if self.signum is None:
            self.signum = signum
        raise_now, self.armed = self.armed, False
        return raise_now

    @contextmanager
    def interruptible(self):
        if self.signum is not None:
            raise KeyboardInterrupt
        with super().interruptible():
            yield


def deferred():
    """`with deferred() as block:` a Deferred block (see there)."""
    return Deferred().installed()

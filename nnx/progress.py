"""Progress of a training run: a live rich display on a terminal, plain lines otherwise.

`run_experiment` calls a Reporter's hooks; the CLI picks the reporter: `RichReporter`
when the output is a terminal, `PlainReporter` (one timestamped line per epoch, for cron
and pipes) when it is not, and the silent base `Reporter` for `--quiet`.
"""

import sys
import time
from datetime import UTC, datetime

from nnx.errors import NnxError
from nnx.format import fmt_duration, fmt_logs, fmt_metric, fmt_param

VERBOSE = ("auto", 0, 1, 2)


class Reporter:
    """Silent reporter; the base of the others. `info` in `run_begin` holds run_id, name,
    dataset, task, epochs, steps (batches per epoch), n_train, n_val, n_test, params and
    folds (None, or K: the epochs then run once per fold, each after `fold_begin`)."""

    def run_begin(self, info):
        pass

    def fold_begin(self, fold, folds, n_train, n_val):
        pass

    def epoch_begin(self, epoch):
        pass

    def batch_end(self, batch, logs):
        pass

    def epoch_end(self, epoch, logs):
        pass

    def run_end(self, record):
        """Called once after training, also when it failed (`record` may then be None)."""


def fit_reporter(verbose, stream=None):
    """The reporter of `fit(verbose=...)`, as Keras spells it: 0 silent, 1 a live bar on a
    terminal (one line per epoch elsewhere, where a bar would be noise), 2 one line per
    epoch, "auto" 1 on a terminal and silent under a pipe or cron. None when silent."""
    if isinstance(verbose, bool) or verbose not in VERBOSE:
        raise NnxError(f"fit: verbose must be one of {', '.join(map(repr, VERBOSE))}, got "
                       f"{verbose!r}")
    stream = stream or sys.stdout
    terminal = getattr(stream, "isatty", lambda: False)()
    if verbose == "auto":
        verbose = 1 if terminal else 0
    if verbose == 0:
        return None
    if verbose == 1 and terminal:
        from rich.console import Console

        return RichReporter(Console(file=stream, highlight=False, soft_wrap=True))
    return PlainReporter(stream)


def describe_run(info):
    splits = " / ".join(f"{info[f'n_{s}']} {s}" for s in ("train", "val", "test")
                        if info.get(f"n_{s}"))
    folds = f" in each of {info['folds']} folds" if info.get("folds") else ""
    return (f"run {info['run_id']}: {info['dataset']} ({info['task']}), {splits}; "
            f"{info['params']:,} parameters; up to {info['epochs']} epochs of "
            f"{info['steps']} batches{folds}")


def describe_fold(fold, folds, n_train, n_val):
    return f"fold {fold + 1}/{folds}: {n_train} train / {n_val} val"


def describe_end(record):
    epochs = len(next(iter(record["history"].values()), []))
    text = (f"run {record['run_id']} {record['status']} after {epochs} epoch"
            f"{'s' if epochs != 1 else ''} in {fmt_duration(record['duration_s'])}")
    reason = record.get("error") or record.get("stop_reason")
    return f"{text}: {reason}" if reason else text


class PlainReporter(Reporter):
    """One UTC-timestamped line per epoch, flushed at once (for cron logs and pipes)."""

    def __init__(self, stream=None):
        self.stream = stream
        self.closed = False

    def _line(self, text):
        if self.closed:
            return
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            print(f"{stamp} {text}", file=self.stream or sys.stdout, flush=True)
        except BrokenPipeError:  # the reader left (`| head`): keep training, stop printing
            self.closed = True

    def run_begin(self, info):
        self.epochs, self.lr = info["epochs"], None
        if "run_id" in info:  # a run of nnx train; a plain fit has no header
            self._line(describe_run(info))

    def fold_begin(self, fold, folds, n_train, n_val):
        self._line(describe_fold(fold, folds, n_train, n_val))

    def epoch_begin(self, epoch):
        self.started = time.perf_counter()

    def epoch_end(self, epoch, logs):
        seconds = time.perf_counter() - self.started
        lr = logs.get("lr")
        lr_text = f"  lr {fmt_param(lr)}" if lr is not None and lr != self.lr and epoch else ""
        self.lr = lr
        self._line(f"epoch {epoch + 1}/{self.epochs}  {fmt_logs(logs)}{lr_text}  "
                   f"({fmt_duration(seconds)})")

    def run_end(self, record):
        if record is not None:
            self._line(describe_end(record))


class RichReporter(Reporter):
    """A live display: the epochs with their ETA, the batches of the current epoch with the
    running loss, and one printed line per finished epoch above them."""

    REFRESH_S = 0.1

    def __init__(self, console):
        self.console = console
        self.progress = None

    def run_begin(self, info):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.epochs, self.steps = info["epochs"], max(info["steps"], 1)
        if "run_id" in info:  # a run of nnx train; a plain fit has no header
            self.console.print(describe_run(info), highlight=False)
        self.progress = Progress(
            TextColumn("{task.description:>12}"), BarColumn(bar_width=30), MofNCompleteColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[logs]}"), console=self.console, transient=True)
        self.progress.start()
        self.epoch_task = self.progress.add_task("epochs", total=self.epochs, logs="")
        self.batch_task = self.progress.add_task("batches", total=self.steps, logs="")

    def fold_begin(self, fold, folds, n_train, n_val):
        self.progress.reset(self.epoch_task, total=self.epochs, logs="")
        self.progress.console.print(describe_fold(fold, folds, n_train, n_val), highlight=False)

    def epoch_begin(self, epoch):
        self.started = self.last_refresh = time.perf_counter()
        self.batches, self.loss_sum = 0, 0.0
        self.progress.reset(self.batch_task, total=self.steps,
                            description=f"epoch {epoch + 1}/{self.epochs}", logs="")

    def batch_end(self, batch, logs):
        self.batches += 1
        self.loss_sum += logs["loss"]
        now = time.perf_counter()
        if now - self.last_refresh >= self.REFRESH_S:
            self.last_refresh = now
            self.progress.update(self.batch_task, completed=self.batches,
                                 logs=f"loss {fmt_metric(self.loss_sum / self.batches)}")

    def epoch_end(self, epoch, logs):
        seconds = time.perf_counter() - self.started
        self.progress.update(self.batch_task, completed=self.steps)
        self.progress.update(self.epoch_task, advance=1, logs=fmt_logs(logs))
        self.progress.console.print(f"epoch {epoch + 1:>{len(str(self.epochs))}}/{self.epochs}"
                                    f"  {fmt_logs(logs)}  [dim]{fmt_duration(seconds)}[/dim]",
                                    highlight=False)

    def run_end(self, record):
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        if record is not None:
            from rich.markup import escape

            style = "green" if record["status"] == "completed" else "yellow"
            self.console.print(f"[{style}]{escape(describe_end(record))}[/{style}]",
                               highlight=False)

"""What `nnx search` shows: one line per finished trial and a summary at the end.

On a terminal the lines are coloured, a transient status line follows the running trial's
epochs, and the summary is a table. Without one (cron, pipes) every line is plain text with
a UTC timestamp and nothing is redrawn. Like `nnx.progress`, this is the CLI's display; the
search itself only calls the listener hooks. The table at the end is the report's
(`nnx.report.study.trials_table`), so a search and `nnx report STUDY` show its trials alike.
"""

import sys
from datetime import UTC, datetime

from nnx.format import fmt_duration, fmt_logs, fmt_metric, fmt_objective, fmt_param
from nnx.progress import Reporter
from nnx.report.formats import renderable
from nnx.report.pareto import front_data
from nnx.report.study import param_names, trials_table
from nnx.search.summary import SearchListener

STATE_STYLE = {"complete": "green", "pruned": "yellow", "diverged": "magenta", "failed": "red"}
TOP_ROWS = 10


def format_params(params):
    return "  ".join(f"{path}={fmt_param(v)}" for path, v in (params or {}).items())


def format_values(values):
    """'val_accuracy 0.9611  params 1,234': a trial's objective values."""
    return "  ".join(f"{name} {fmt_objective(name, v)}" for name, v in (values or {}).items())


def pick_label(best, document):
    """'best', or what picked the trial from a Pareto front: 'knee of the Pareto front (5
    trials)', 'best params on the Pareto front (5 trials)'."""
    pick = best.get("pick")
    if not pick:
        return "best"
    size = f"Pareto front ({len(document.get('pareto') or ())} trials)"
    return f"knee of the {size}" if pick == "knee" else f"best {pick} on the {size}"


def describe_budget(budget):
    parts = []
    if budget.n_trials is not None:
        parts.append(f"{budget.n_trials} trial{'s' if budget.n_trials != 1 else ''} this run")
    if budget.max_trials is not None:
        parts.append(f"until the study holds {budget.max_trials} finished trials")
    if budget.timeout is not None:
        parts.append(f"no new trial after {budget.timeout:g} s")
    return ", ".join(parts) or "no limit"


class SearchDisplay(SearchListener):
    """Lines for a terminal (rich) or for a log (plain, timestamped)."""

    def __init__(self, console, plain=None):
        self.console = console
        self.plain = not console.is_terminal if plain is None else plain
        self.info = None

    # -- output ---------------------------------------------------------------------
    def line(self, text, style=None):
        if self.plain:
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            print(f"{stamp} {text}", file=self.console.file or sys.stdout, flush=True)
            return
        from rich.markup import escape

        body = escape(text)
        self.console.print(f"[{style}]{body}[/{style}]" if style else body, highlight=False)

    # -- listener hooks ---------------------------------------------------------------
    def opened(self, info):
        self.info = info
        if info.grid_size is not None:
            self.line(f"grid: {info.grid_size} point{'s' if info.grid_size != 1 else ''}, "
                      f"{info.grid_left} not yet run")
        objective = ", ".join(f"{o['direction']} {o['metric']}" for o in info.objectives)
        if info.resumed:
            self.line(f"resuming study {info.study} ({info.storage}): {info.trials_before} "
                      f"trial{'s' if info.trials_before != 1 else ''} so far, "
                      f"{info.finished_before} finished; {info.method}, pruner {info.pruner}, "
                      f"{objective}")
        else:
            self.line(f"new study {info.study} ({info.storage}): {info.method} over "
                      f"{info.n_params} parameter{'s' if info.n_params != 1 else ''}, pruner "
                      f"{info.pruner}, {objective}")
        if info.warm_started:
            self.line(f"warm start: {info.warm_started} trials queued from an earlier study")
        for reaped in info.reaped:
            self.reaped(reaped)
        self.line(f"budget: {describe_budget(info.budget)}")

    def workers_started(self, pids, threads):
        self.line(f"{len(pids)} workers (pids {', '.join(map(str, pids))}), {threads} "
                  f"thread{'s' if threads != 1 else ''} each")

    def reaped(self, reaped):
        again = ("its parameters are queued again" if reaped.requeued
                 else "not queued again (a retry already, or no parameters yet)")
        self.line(f"trial {reaped.number:>3}  failed    worker lost: {reaped.reason}; {again}",
                  "red")

    def trial_reporter(self, number, params):
        if self.plain:
            return None
        return _TrialStatus(self.console, number)

    def trial_finished(self, outcome, best):
        metric = self.info.metric if self.info else "value"
        if best is not None and best.get("pick"):  # several objectives
            text = (f"trial {outcome.number:>3}  {outcome.state:<8}  "
                    f"{format_values(outcome.values) or '-'}  ({best['pick']}: trial "
                    f"{best['trial']})")
        else:
            text = (f"trial {outcome.number:>3}  {outcome.state:<8}  {metric} "
                    f"{fmt_metric(outcome.value)}")
        if best is not None and not best.get("pick"):
            text += f"  (best {fmt_metric(best['value'])}, trial {best['trial']})"
        text += f"  {fmt_duration(outcome.duration_s)}  {format_params(outcome.params)}"
        if outcome.state in ("diverged", "failed") and outcome.error:
            text += f"  [{outcome.error}]"
        self.line(text, STATE_STYLE.get(outcome.state))

    def note(self, text):
        self.line(text, "yellow")

    # -- the end ----------------------------------------------------------------------
    def summary(self, summary):
        """The stop reason, a table of the best trials, the best one and its command."""
        if summary.held_by is not None:
            self.line(f"another sweep holds {summary.lock_path} "
                      f"({summary.held_by.describe()}): nothing to do", "green")
            return
        document = summary.document
        if summary.nothing_to_do:
            self.line(f"nothing to do: {summary.stop_reason}; study {document['study']} "
                      f"unchanged", "green")
        elif summary.interrupted:
            self.line("interrupted: finished trials are kept; the interrupted trial will be "
                      "run again when the search resumes", "red")
        else:
            self.line(f"stopped: {summary.stop_reason}")
        counts = ", ".join(f"{n} {state}" for state, n in document["counts"].items() if n)
        if not self.plain and summary.outcomes:
            self.console.print(self._table(document))
        self.line(f"study {document['study']}: {counts or 'no trials'}; "
                  f"{summary.document_path}")
        best = summary.picked or document["best"]
        if best is None:
            self.line("no trial has completed yet")
        else:
            values = best.get("values") or {document["metric"]: best["value"]}
            self.line(f"{pick_label(best, document)}: trial {best['trial']}  "
                      f"{format_values(values)}  {format_params(best['params'])}", "bold green")
            if best["command"]:
                self.line(f"reproduce: {best['command']}")
        if summary.exported is not None:
            self.line(f"best experiment written to {summary.exported}")

    def _table(self, document):
        """The table `nnx report STUDY` shows: the top trials, or the Pareto front."""
        table = trials_table(document, front_data(document), param_names(document), TOP_ROWS)
        return renderable(table, self.console.width)


class _TrialStatus(Reporter):
    """A transient status line for the running trial (terminal only)."""

    def __init__(self, console, number):
        self.console, self.number = console, number
        self.status = None

    def run_begin(self, info):
        self.epochs, self.fold = info["epochs"], ""
        self.status = self.console.status(f"trial {self.number}: starting", spinner="dots")
        self.status.start()

    def fold_begin(self, fold, folds, n_train, n_val):
        self.fold = f"fold {fold + 1}/{folds} "

    def epoch_end(self, epoch, logs):
        if self.status is not None:
            shown = fmt_logs({k: v for k, v in logs.items() if k.startswith("val_")})
            self.status.update(f"trial {self.number}: {self.fold}epoch {epoch + 1}/"
                               f"{self.epochs}  {shown}")

    def run_end(self, record):
        if self.status is not None:
            self.status.stop()
            self.status = None

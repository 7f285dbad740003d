"""`nnx search` and `nnx studies`: hyper-parameter searches with Optuna, and their studies.

The method and pruner names in the help come from name tables that import no Optuna, so
that `nnx --help` stays fast.
"""

from pathlib import Path
from typing import Annotated

import typer

from nnx import stop_signals
from nnx.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    ExperimentArg,
    JsonOpt,
    ResultsDirOpt,
    SetOpt,
    StorageOpt,
    check_threads,
    console,
    error,
    exit_codes,
    print_json,
    threads_option,
    writable_results_dir,
)
from nnx.cli.usage import Command, Group
from nnx.config.search_names import METHODS, PRUNERS
from nnx.errors import NnxError
from nnx.search.summary import SearchListener


def search(
    experiment: ExperimentArg,
    method: Annotated[str | None, typer.Option(
        "--method", "-m", show_default=False,
        help=f"{' | '.join(METHODS.names())} (default: search.method of the file)")] = None,
    set_: SetOpt = None,
    n_trials: Annotated[int | None, typer.Option(
        "--n-trials", "-n", min=1, show_default=False,
        help="Trials this invocation runs (default: search.n_trials, when --max-trials is "
             "not given).")] = None,
    max_trials: Annotated[int | None, typer.Option(
        "--max-trials", min=1, show_default=False,
        help="Stop once the study holds this many finished trials (complete, pruned or "
             "diverged), over every run of it.")] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", min=0.001, metavar="SECONDS", show_default=False,
        help="Start no new trial after this many seconds (running trials finish).")] = None,
    storage: StorageOpt = None,
    study: Annotated[str | None, typer.Option(
        "--study", show_default=False,
        help="Study name (default: the experiment's name); the same name resumes it.")
    ] = None,
    pruner: Annotated[str | None, typer.Option(
        "--pruner", show_default=False,
        help=f"{' | '.join(PRUNERS.names())} (default: search.pruner, else median).")] = None,
    save_model: Annotated[str, typer.Option(
        "--save-model", help="Keep model files of the best trial, of all, or of none.")
    ] = "best",
    export_best: Annotated[Path | None, typer.Option(
        "--export-best", metavar="FILE.yaml", show_default=False,
        help="Write the best trial's experiment as a ready experiment file.")] = None,
    pick: Annotated[str | None, typer.Option(
        "--pick", metavar="knee|METRIC", show_default=False,
        help="Several objectives: the Pareto-front trial shown as best and exported: knee "
             "(default; nearest the best of every objective, each scaled over the front) or "
             "an objective (the front's best on it).")] = None,
    warm_start: Annotated[str | None, typer.Option(
        "--warm-start", metavar="STUDY", show_default=False,
        help="First queue the best trials of this earlier study.")] = None,
    results_dir: ResultsDirOpt = None,
    threads: threads_option(
        "Threads per trial for numba kernels and BLAS (default: train.threads of the file, "
        "else all cores, shared out among the --n-jobs workers).") = None,
    n_jobs: Annotated[int, typer.Option(
        "--n-jobs", "-j", show_default=False,
        help="Worker processes on this study, each with cores/K threads (default: 1; at "
             "most one per core).")
    ] = 1,
    exclusive: Annotated[bool, typer.Option(
        "--exclusive", help="For cron: if another sweep of this study runs on this host, "
                            "say so and exit 0 (lock: RESULTS_DIR/studies/STUDY.lock).")
    ] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No line per trial; only warnings and the summary.")] = False,
    json_: Annotated[bool, typer.Option(
        "--json", help="Print the summary as JSON to stdout (study, best trial, counts, this "
                       "run's trials) and nothing else there; trial lines go to stderr.")
    ] = False,
):
    """Search the experiment's `search.space` with Optuna; the same command resumes the study.

    One line per finished trial, then the best trial and the `nnx train` command that
    reproduces it; the study is kept in RESULTS_DIR/studies/STUDY.json. Several runs (other
    workers, cron, other machines with --storage postgresql://...) may work on one study at
    once. Exit 0 when done (also when the grid is exhausted, the budget already met or,
    with --exclusive, another sweep holds the study), 1 when every trial of this run failed,
    2 for bad input, 130 when interrupted (143: by SIGTERM).

    The file's `search.space` maps experiment paths (as --set writes them) to parameters:
    `train.optimizer.lr: {type: float, low: 1.0e-4, high: 0.1, log: true}`, `{type: int,
    low: 16, high: 256, step: 16}`, `{type: categorical, choices: [relu, tanh]}`; `when:
    {train.optimizer.type: sgd}` searches a parameter only under that condition, and
    `model.layers.0.repeat` searches a layer's count. `nnx schema search` lists every key.
    """
    with exit_codes():
        from nnx.cli.search_display import SearchDisplay
        from nnx.search.request import SearchRequest
        from nnx.search.run import run_search

        check_threads(threads)
        root = writable_results_dir(results_dir)
        display = SearchDisplay(console(stderr=json_))
        summary = run_search(SearchRequest(
            experiment=str(experiment), overrides=list(set_ or []), results_dir=root,
            method=method, n_trials=n_trials, max_trials=max_trials, timeout=timeout,
            storage=storage, study=study, pruner=pruner, save_model=save_model,
            export_best=None if export_best is None else str(export_best), pick=pick,
            warm_start=warm_start, threads=threads, n_jobs=n_jobs, exclusive=exclusive),
            _QuietDisplay(display) if quiet else display)
        if json_:
            print_json(summary_document(summary))
        else:
            display.summary(summary)
        code = stop_signals.exit_code() if summary.interrupted else (
            EXIT_FAILED if summary.all_failed else EXIT_OK)
        if code == EXIT_FAILED:
            last = (summary.outcomes[-1].error if summary.outcomes
                    else summary.worker_failures[-1])
            error(f"every trial of this run failed; last error: {last}")
    raise typer.Exit(code)


class _QuietDisplay(SearchListener):
    """`--quiet`: only the warnings of a search reach the display."""

    def __init__(self, display):
        self.display = display

    def note(self, text):
        self.display.note(text)


def summary_document(summary):
    """What `nnx search --json` prints: the study, its best trial (with several objectives:
    the one picked, and the Pareto front) and counts, and this run's trials, in the order
    they ended."""
    document = summary.document or {}
    return {
        "study": document.get("study"), "path": summary.document_path,
        "storage": document.get("storage"), "metric": document.get("metric"),
        "direction": document.get("direction"), "method": document.get("method"),
        "counts": document.get("counts"), "best": summary.picked or document.get("best"),
        **{key: document[key] for key in ("objectives", "pareto") if key in document},
        "stop_reason": summary.stop_reason, "interrupted": summary.interrupted,
        "held_by": None if summary.held_by is None else summary.held_by.describe(),
        "exported": summary.exported,
        "this_run_counts": {state: sum(o.state == state for o in summary.outcomes)
                            for state in dict.fromkeys(o.state for o in summary.outcomes)},
        "this_run": [{"number": o.number, "state": o.state, "value": o.value,
                      "values": o.values, "params": o.params, "epochs": o.epochs,
                      "duration_s": o.duration_s, "run_id": o.run_id, "error": o.error}
                     for o in summary.outcomes],
        "worker_failures": list(summary.worker_failures),
    }


studies_app = typer.Typer(cls=Group, help="List the search studies, or delete one.",
                          invoke_without_command=True, add_completion=False)


@studies_app.callback()
def studies(
    ctx: typer.Context,
    storage: StorageOpt = None,
    results_dir: ResultsDirOpt = None,
    json_: JsonOpt = False,
):
    """List the studies in the results folder (or in --storage): trials by state, best value.

    Also rewrites RESULTS_DIR/studies/STUDY.json from the storage, so that with a shared
    --storage postgresql://... this host's `nnx report` shows what every machine ran.
    """
    if ctx.invoked_subcommand is not None:
        return
    with exit_codes():
        from nnx.results import results_dir as resolve_results_dir
        from nnx.results.studies import study_status
        from nnx.search.storage import quiet_optuna
        from nnx.search.study_json import study_documents

        quiet_optuna()
        notes = console(stderr=True)
        documents, problems = study_documents(
            resolve_results_dir(results_dir), storage,
            on_repair=lambda torn: notes.print(torn.describe(), markup=False))
        for where, message in problems:
            error(f"{where}: {message}")
        for document in documents:
            if "damaged" in document:
                error(document["damaged"])
        rows = [{"study": d["study"], "status": study_status(d["counts"], "damaged" in d),
                 **{k: v for k, v in d.items() if k not in ("study", "trials")}}
                for d in documents]
        if json_:
            print_json(rows)
            return
        if not rows:
            console().print("no studies")
            return
        from nnx.report.tables import print_sections, studies_sections

        print_sections(studies_sections(rows))


@studies_app.command("delete", cls=Command)
def studies_delete(
    name: Annotated[str, typer.Argument(help="The study to delete.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")
                   ] = False,
    storage: StorageOpt = None,
    results_dir: ResultsDirOpt = None,
):
    """Delete a study (its storage entry and JSON); run records and models stay."""
    with exit_codes():
        from nnx.results import results_dir as resolve_results_dir
        from nnx.search.storage import delete_study, find_study

        root = resolve_results_dir(results_dir)
        find_study(name, root, storage, read=False)  # NnxError (exit 2) before asking
        if not yes:
            try:
                confirmed = typer.confirm(f"delete study {name!r}?", default=False)
            except typer.Abort:
                raise NnxError("no answer to the confirmation; pass --yes to delete without "
                               "asking") from None
            if not confirmed:
                console().print(f"study {name!r} kept")
                return
        removed = delete_study(name, root, storage)
        console().print(f"deleted study {name!r}"
                        + (f" ({', '.join(str(p) for p in removed)})" if removed else ""))

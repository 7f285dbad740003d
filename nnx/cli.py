"""The `nnx` command: a thin Typer app that parses, calls the library and sets exit codes.

Exit codes (design.md §4): 0 done, 1 the job ran and failed (diverged, crashed), 2 bad usage
or bad input (one red line on stderr, never a traceback), 130 interrupted.
Heavy imports (numba, rich's display parts, the experiment machinery) happen inside the
commands, so that `nnx --help` stays fast.
"""

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from nnx import __version__
from nnx.errors import NnxError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
STATUS_EXIT = {"completed": EXIT_OK, "pruned": EXIT_OK, "diverged": EXIT_FAILED,
               "failed": EXIT_FAILED, "interrupted": EXIT_INTERRUPTED}

app = typer.Typer(help="Neural-network experiments on the CPU: train, search, report.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

ExperimentArg = Annotated[Path, typer.Argument(
    help="Experiment file (YAML): name, data, model, train.", show_default=False)]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", "-s", metavar="PATH=VALUE", show_default=False,
    help="Override one field, the value read as YAML: --set train.epochs=5, "
         "--set model.layers.0.units=128. Repeatable.")]
ResultsDirOpt = Annotated[Path | None, typer.Option(
    "--results-dir", show_default=False,
    help="Folder of run records and models \\[default: $NNX_RESULTS_DIR, else ./results].")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON document to stdout instead "
                                                      "of tables (and nothing else there).")]
RunArg = Annotated[str, typer.Argument(
    help="A run id (or a unique prefix), a run record (.json) or a model file (.npz).",
    show_default=False)]


def _show_version(value: bool):
    if value:
        typer.echo(f"nnx {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
):
    """Neural-network experiments on the CPU: train, search, report."""


# -- output helpers ---------------------------------------------------------------------
def _console(stderr=False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _error(message):
    from rich.markup import escape

    _console(stderr=True).print(f"[bold red]error:[/bold red] {escape(message)}", soft_wrap=True)


@contextmanager
def _exit_codes():
    """NnxError -> one red line and exit 2; Ctrl-C -> exit 130; unexpected errors -> exit 1
    with one line (NNX_DEBUG=1 shows the traceback)."""
    try:
        yield
    except NnxError as err:
        _error(str(err))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        _error("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except OSError as err:
        _error(f"{err.filename + ': ' if err.filename else ''}{err.strerror or err}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except Exception as err:
        if os.environ.get("NNX_DEBUG"):
            raise
        _error(f"internal error: {type(err).__name__}: {err} (NNX_DEBUG=1 shows the traceback)")
        raise typer.Exit(EXIT_FAILED) from None


def _check_writable(folder):
    """Refuse a results folder nnx could not write into, before any training."""
    probe = Path(folder).absolute()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise NnxError(f"results folder {str(folder)!r} is not writable ({probe} is not a "
                       "writable folder)")


def _metrics_table(metrics, title=None):
    from rich.table import Table

    splits = [s for s in metrics if metrics[s]]
    names = list(dict.fromkeys(k for s in splits for k in metrics[s]))
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for split in splits:
        table.add_column(split, justify="right")
    for name in names:
        table.add_row(name, *[_number(metrics[s].get(name)) for s in splits])
    return table


def _number(value):
    return "-" if value is None else f"{value:.4f}" if abs(value) < 1e4 else f"{value:.4g}"


def _print_json(document):
    import json

    from nnx.results import to_json

    sys.stdout.write(json.dumps(to_json(document), indent=2) + "\n")
    sys.stdout.flush()


def _reporter(quiet, json_mode):
    """Live display on a terminal, plain lines otherwise; on stderr when stdout is for JSON."""
    from nnx.progress import PlainReporter, Reporter, RichReporter

    if quiet:
        return Reporter()
    stream = sys.stderr if json_mode else sys.stdout
    # The stream itself decides, not rich: FORCE_COLOR must not bring a live display to cron.
    if getattr(stream, "isatty", lambda: False)():
        return RichReporter(_console(stderr=json_mode))
    return PlainReporter(stream)


# -- commands ---------------------------------------------------------------------------
@app.command()
def train(
    experiment: ExperimentArg,
    set_: SetOpt = None,
    results_dir: ResultsDirOpt = None,
    threads: Annotated[int | None, typer.Option(
        "--threads", min=1, show_default=False,
        help="Threads for numba kernels and BLAS (recorded in the run) \\[default: all cores].")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    json_: JsonOpt = False,
    diagnostics: Annotated[str | None, typer.Option(
        "--diagnostics", show_default=False, metavar="off|basic|full",
        help="Training diagnostics recorded in the run JSON (dead units, gradient flow, "
             "overfitting) \\[default: the file's `diagnostics`, else basic].")] = None,
):
    """Train one experiment; write its run record (JSON) and model under the results folder.

    Exit 0 when completed, 1 when the run diverged or failed, 130 when interrupted (Ctrl-C
    stops after the current batch and keeps what was learnt), 2 for bad input.
    """
    with _exit_codes():
        from nnx.config import load_experiment
        from nnx.results import results_dir as resolve_results_dir

        overrides = [*(set_ or []), *([f"train.threads={threads}"] if threads else []),
                     *([f"diagnostics={diagnostics}"] if diagnostics is not None else [])]
        config = load_experiment(experiment, overrides)
        root = resolve_results_dir(results_dir)
        _check_writable(root)
        from nnx.experiment import run_experiment

        record = run_experiment(config, root, reporter=_reporter(quiet, json_),
                                source=str(experiment))
        record_path = Path(root) / "runs" / f"{record['run_id']}.json"
        if json_:
            _print_json(record)
        else:
            console = _console()
            if record["metrics"]:
                console.print(_metrics_table(record["metrics"], title=record["run_id"]))
            _print_flags(console, record["diagnostics"])
            console.print(f"run record: {record_path}")
            if record["model_path"]:
                console.print(f"model: {record['model_path']}")
        code = STATUS_EXIT.get(record["status"], EXIT_FAILED)
        if code == EXIT_FAILED:
            _error(f"run {record['status']}: {record['error']}")
        elif code == EXIT_INTERRUPTED:
            _error(f"interrupted; what was learnt is kept in {record_path}")
    raise typer.Exit(code)


def _print_flags(console, diagnostics):
    """The diagnostics flags of a run, one line each (nothing for a healthy run)."""
    from rich.markup import escape

    for flag in (diagnostics or {}).get("flags", []):
        where = f" in layer {flag['layer']}" if flag["layer"] else ""
        console.print(f"[yellow]warning: {flag['flag']}{where} at epoch {flag['epoch']}: "
                      f"{escape(flag['detail'])}[/yellow]", highlight=False)


@app.command()
def validate(
    experiment: ExperimentArg,
    set_: SetOpt = None,
    json_: JsonOpt = False,
):
    """Check an experiment without training: the fields, the data, the model's shapes.

    Prints the resolved settings and the model with its parameter counts; loads no kernels.
    """
    with _exit_codes():
        from nnx.config import load_experiment
        from nnx.experiment import prepare

        prepared = prepare(load_experiment(experiment, list(set_ or [])), source=str(experiment))
        config, data, model = prepared.config, prepared.data, prepared.model
        sizes = {s: 0 if getattr(data, f"x_{s}") is None else len(getattr(data, f"x_{s}"))
                 for s in ("train", "val", "test")}
        layers = [{"index": i, **row} for i, row in enumerate(model.summary_rows())]
        if json_:
            _print_json({"experiment": str(experiment), "valid": True, "config": config,
                         "data": {"name": data.name, "task": data.task,
                                  "input_shape": list(data.input_shape),
                                  "output_units": data.output_units, "samples": sizes},
                         "model": {"params": model.count_params(), "layers": layers}})
            return
        _print_validation(experiment, config, data, sizes, layers, model.count_params())


def _print_validation(experiment, config, data, sizes, layers, params):
    from rich.table import Table

    console = _console()
    train = config["train"]
    console.print(f"[green]{experiment} is valid[/green]: {config['name']}, seed {config['seed']}")
    classes = f", {data.n_classes} classes" if data.n_classes else ""
    console.print(f"data: {data.name} ({data.task}{classes}), input {tuple(data.input_shape)}, "
                  + " / ".join(f"{n} {s}" for s, n in sizes.items() if n))
    table = Table(title="model", title_justify="left")
    for column, justify in (("#", "right"), ("layer", "left"), ("type", "left"),
                            ("output shape", "left"), ("params", "right"), ("inputs", "left")):
        table.add_column(column, justify=justify)
    for layer in layers:
        table.add_row(str(layer["index"]), layer["name"], layer["type"],
                      str(tuple(layer["output_shape"])), f"{layer['params']:,}",
                      ", ".join(layer["inputs"]))
    table.add_row("", "total", "", "", f"{params:,}", "")
    console.print(table)
    optimizer = ", ".join(f"{k}={v}" for k, v in train["optimizer"].items()
                          if k != "type" and v is not None)
    console.print(f"train: {train['loss']['type']}, {train['optimizer']['type']}({optimizer}), "
                  f"batch {train['batch_size']}, up to {train['epochs']} epochs"
                  + (f", metrics {', '.join(train['metrics'])}" if train["metrics"] else ""))
    if train["early_stopping"]:
        stop = train["early_stopping"]
        console.print(f"early stopping: {stop['monitor']}, patience {stop['patience']}")
    if train["schedule"]:
        console.print(f"schedule: {train['schedule']}")
    if config["search"]:
        search = config["search"]
        console.print(f"search: {search['method']}, {search['n_trials']} trials, "
                      f"{search['metric']}, {len(search['space'])} parameters")


@app.command()
def evaluate(
    run: RunArg,
    data: Annotated[Path | None, typer.Option(
        "--data", show_default=False,
        help="Evaluate on all rows of this CSV (features and target columns, raw values) "
             "instead of a split of the run's data.")] = None,
    split: Annotated[str, typer.Option(
        "--split", help="Split of the run's data: train, val or test.")] = "test",
    results_dir: ResultsDirOpt = None,
    json_: JsonOpt = False,
):
    """Evaluate a trained model: by default on its run's test split, re-loaded from the
    run's config (same seed, same split)."""
    with _exit_codes():
        if split not in ("train", "val", "test"):
            raise NnxError(f"--split must be train, val or test, got {split!r}")
        from nnx.experiment import evaluate_saved, open_saved
        from nnx.results import results_dir as resolve_results_dir

        saved = open_saved(run, resolve_results_dir(results_dir))
        result = evaluate_saved(saved, split=split, data_file=data)
        run_id = saved.record["run_id"] if saved.record else None
        if json_:
            _print_json({"run_id": run_id, "model_path": saved.model_path, **result})
            return
        title = f"{run_id or saved.model_path}: {result['n']} samples"
        label = "data" if data is not None else split
        _console().print(_metrics_table({label: result["metrics"]}, title=title))


@app.command()
def predict(
    run: RunArg,
    input_csv: Annotated[Path, typer.Argument(
        metavar="INPUT.csv", show_default=False,
        help="Raw rows with the feature columns the model was trained on (extra columns "
             "are ignored).")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", show_default=False,
        help="Write the predictions here (CSV) instead of to stdout.")] = None,
    layer: Annotated[str | None, typer.Option(
        "--layer", show_default=False,
        help="Output this layer's (or graph node's) values instead of the predictions, e.g. "
             "an autoencoder's code; by name, index or INDEX.NAME.")] = None,
    results_dir: ResultsDirOpt = None,
):
    """Predict raw CSV rows: preprocessed as in training, decoded to labels or values."""
    import csv

    with _exit_codes():
        from nnx.experiment import open_saved, predict_saved
        from nnx.results import results_dir as resolve_results_dir

        saved = open_saved(run, resolve_results_dir(results_dir))
        columns, rows = predict_saved(saved, input_csv, layer=layer)
        if output is None:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(rows)
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(rows)
        _console(stderr=True).print(f"{len(rows)} predictions written to {output}")


@app.command()
def datasets(json_: JsonOpt = False):
    """List the built-in datasets (use one with `data: {dataset: NAME}`)."""
    with _exit_codes():
        from nnx.data import describe_datasets

        rows = describe_datasets()
        if json_:
            _print_json(rows)
            return
        from rich.table import Table

        table = Table()
        for column, justify in (("name", "left"), ("task", "left"), ("shape", "left"),
                                ("samples", "right"), ("description", "left")):
            table.add_column(column, justify=justify)
        for row in rows:
            table.add_row(row["name"], row["task"], str(tuple(row["shape"])),
                          f"{row['n_samples']:,}", row["description"])
        _console().print(table)


@app.command()
def warmup(
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, show_default=False,
        help="Processes that compile side by side \\[default: the cores].")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
):
    """Compile the float32 kernels now, once per installation, so that no run waits for numba.

    Runs tiny experiments over every layer, loss and optimizer; the compiled code goes to
    nnx's kernel cache, which every later `nnx` command and Python script loads from
    (NUMBA_CACHE_DIR, else the environment's var/cache/nnx, else ~/.cache/nnx). `make
    install` runs it. Older versions' cache folders there are removed.
    """
    with _exit_codes():
        from nnx.kernels.cache import cache_dir
        from nnx.warmup import curriculum, remove_stale_caches, warm_up

        console = _console()
        removed = remove_stale_caches()
        if not quiet:
            console.print(f"compiling nnx's float32 kernels into {cache_dir()}"
                          + (f" (removed {removed} stale cache folders)" if removed else ""),
                          highlight=False)
        with _step_progress(console, len(curriculum()), quiet) as on_done:
            seconds = warm_up(jobs or os.cpu_count() or 1, on_done)
        if not quiet:
            console.print(f"kernels compiled in {seconds:.0f} s; runs load them from the cache")


@contextmanager
def _step_progress(console, total, quiet):
    """A callback for each finished step: a progress bar on a terminal, else one line each."""
    if quiet:
        yield lambda description: None
    elif not console.is_terminal:
        done = []

        def line(description):
            done.append(description)
            console.print(f"  {len(done)}/{total} {description}", highlight=False)

        yield line
    else:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(TextColumn("warmup"), BarColumn(bar_width=30), MofNCompleteColumn(),
                      TimeElapsedColumn(), TextColumn("{task.description}"), console=console,
                      transient=True) as progress:
            task = progress.add_task("", total=total)
            yield lambda description: progress.update(task, advance=1, description=description)


# -- search (nnx.search) ----------------------------------------------------------------
from nnx.search.pruners import PRUNERS as _PRUNERS  # noqa: E402 - name tables only, no optuna
from nnx.search.samplers import METHODS as _METHODS  # noqa: E402

StorageOpt = Annotated[str | None, typer.Option(
    "--storage", metavar="URL", show_default=False,
    help="Database URL of the studies (postgresql://user@host/db, sqlite:///file.db) "
         "(default: one journal file per study under RESULTS_DIR/studies).")]


@app.command()
def search(
    experiment: ExperimentArg,
    method: Annotated[str | None, typer.Option(
        "--method", "-m", show_default=False,
        help=f"{' | '.join(_METHODS.names())} (default: search.method of the file)")] = None,
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
        help=f"{' | '.join(_PRUNERS.names())} (default: search.pruner, else median).")] = None,
    save_model: Annotated[str, typer.Option(
        "--save-model", help="Keep model files of the best trial, of all, or of none.")
    ] = "best",
    export_best: Annotated[Path | None, typer.Option(
        "--export-best", metavar="FILE.yaml", show_default=False,
        help="Write the best trial's experiment as a ready experiment file.")] = None,
    warm_start: Annotated[str | None, typer.Option(
        "--warm-start", metavar="STUDY", show_default=False,
        help="First queue the best trials of this earlier study.")] = None,
    results_dir: ResultsDirOpt = None,
    threads: Annotated[int | None, typer.Option(
        "--threads", min=1, show_default=False,
        help="Threads per trial for numba kernels and BLAS (default: all cores, shared out "
             "among the --n-jobs workers).")] = None,
    n_jobs: Annotated[int, typer.Option(
        "--n-jobs", "-j", show_default=False,
        help="Worker processes on this study, each with cores/K threads (default: 1).")
    ] = 1,
    exclusive: Annotated[bool, typer.Option(
        "--exclusive", help="For cron: if another sweep of this study runs on this host, "
                            "say so and exit 0 (lock: RESULTS_DIR/studies/STUDY.lock).")
    ] = False,
):
    """Search the experiment's `search.space` with Optuna; the same command resumes the study.

    One line per finished trial, then the best trial and the `nnx train` command that
    reproduces it; the study is kept in RESULTS_DIR/studies/STUDY.json. Several runs (other
    workers, cron, other machines with --storage postgresql://...) may work on one study at
    once. Exit 0 when done (also when the grid is exhausted, the budget already met or,
    with --exclusive, another sweep holds the study), 1 when every trial of this run failed,
    2 for bad input, 130 when interrupted.
    """
    with _exit_codes():
        from nnx.results import results_dir as resolve_results_dir
        from nnx.search.display import SearchDisplay
        from nnx.search.loop import SearchRequest, run_search

        root = resolve_results_dir(results_dir)
        _check_writable(root)
        display = SearchDisplay(_console())
        summary = run_search(SearchRequest(
            experiment=str(experiment), overrides=list(set_ or []), results_dir=root,
            method=method, n_trials=n_trials, max_trials=max_trials, timeout=timeout,
            storage=storage, study=study, pruner=pruner, save_model=save_model,
            export_best=None if export_best is None else str(export_best),
            warm_start=warm_start, threads=threads, n_jobs=n_jobs, exclusive=exclusive),
            display)
        display.summary(summary)
        code = EXIT_INTERRUPTED if summary.interrupted else (
            EXIT_FAILED if summary.all_failed else EXIT_OK)
        if code == EXIT_FAILED:
            last = (summary.outcomes[-1].error if summary.outcomes
                    else summary.worker_failures[-1])
            _error(f"every trial of this run failed; last error: {last}")
    raise typer.Exit(code)


studies_app = typer.Typer(help="List the search studies, or delete one.",
                          invoke_without_command=True, add_completion=False)
app.add_typer(studies_app, name="studies")


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
    with _exit_codes():
        from nnx.results import results_dir as resolve_results_dir
        from nnx.search.loop import quiet_optuna
        from nnx.search.study_json import study_documents

        quiet_optuna()
        documents, problems = study_documents(resolve_results_dir(results_dir), storage)
        for where, message in problems:
            _error(f"{where}: {message}")
        if json_:
            _print_json([{k: v for k, v in d.items() if k != "trials"} for d in documents])
            return
        _console().print(_studies_table(documents) if documents else "no studies")


def _studies_table(documents):
    from rich.table import Table

    table = Table()
    columns = ("study", "method", "metric", "trials", "complete", "pruned", "diverged",
               "failed", "best", "storage")
    for column in columns:
        table.add_column(column, justify="right" if column in columns[3:9] else "left")
    for doc in documents:
        counts, best = doc["counts"], doc["best"]
        table.add_row(doc["study"], str(doc["method"]), f"{doc['metric']} ({doc['direction']})",
                      str(len(doc["trials"])),
                      *[str(counts.get(s, 0)) for s in ("complete", "pruned", "diverged",
                                                        "failed")],
                      "-" if best is None else f"{_number(best['value'])} (#{best['trial']})",
                      doc["storage"])
    return table


@studies_app.command("delete")
def studies_delete(
    name: Annotated[str, typer.Argument(help="The study to delete.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")
                   ] = False,
    storage: StorageOpt = None,
    results_dir: ResultsDirOpt = None,
):
    """Delete a study (its storage entry and JSON); run records and models stay."""
    with _exit_codes():
        from nnx.results import results_dir as resolve_results_dir
        from nnx.search.storage import delete_study, find_study

        root = resolve_results_dir(results_dir)
        find_study(name, root, storage)  # NnxError (exit 2) before asking, when absent
        if not yes:
            try:
                confirmed = typer.confirm(f"delete study {name!r}?", default=False)
            except typer.Abort:
                raise NnxError("no answer to the confirmation; pass --yes to delete without "
                               "asking") from None
            if not confirmed:
                _console().print(f"study {name!r} kept")
                return
        removed = delete_study(name, root, storage)
        _console().print(f"deleted study {name!r}"
                         + (f" ({', '.join(str(p) for p in removed)})" if removed else ""))


# -- report (nnx.report) ----------------------------------------------------------------
@app.command()
def report(
    references: Annotated[list[str] | None, typer.Argument(
        metavar="RUN_OR_STUDY_OR_FILE", show_default=False,
        help="Show these in depth: a JSON file, a run id (or unique prefix), or a study "
             "name. Without any: the overview of every run and study.")] = None,
    compare: Annotated[bool, typer.Option(
        "--compare", help="Show the runs or studies side by side, differences highlighted.")
    ] = False,
    top: Annotated[int | None, typer.Option(
        "--top", min=1, show_default=False,
        help="Overview: the first K lines; study: the K best trials \\[default: 10].")] = None,
    sort: Annotated[str | None, typer.Option(
        "--sort", metavar="METRIC", show_default=False,
        help="Overview order: a metric (val_accuracy, test_loss, accuracy = training), best "
             "first, or date | name | duration | status \\[default: date, newest first].")
    ] = None,
    status: Annotated[list[str] | None, typer.Option(
        "--status", show_default=False,
        help="Overview: only this status (completed, failed, diverged, pruned, interrupted; "
             "studies: running, finished, empty, or holding trials of that state). "
             "Repeatable.")] = None,
    name: Annotated[str | None, typer.Option(
        "--name", show_default=False,
        help="Overview: names containing this text, or matching this glob (mnist-*).")
    ] = None,
    since: Annotated[str | None, typer.Option(
        "--since", show_default=False,
        help="Overview: only what ran since then: an age (90m, 12h, 3d, 2w) or a date.")
    ] = None,
    all_runs: Annotated[bool, typer.Option(
        "--all", help="Overview: list the runs of study trials too.")] = False,
    format_: Annotated[str, typer.Option(
        "--format", "-f", help="table | json | markdown | csv.")] = "table",
    plot: Annotated[Path | None, typer.Option(
        "--plot", metavar="DIR", show_default=False,
        help="Also write each chart as a PNG into DIR (needs matplotlib: "
             "pip install 'nnx\\[plot]').")] = None,
    results_dir: ResultsDirOpt = None,
):
    """Show runs and studies: the overview, one run or study in depth, or several compared.

    Damaged or foreign files are listed as skipped; the report goes on.
    """
    with _exit_codes():
        from nnx.report import ReportRequest
        from nnx.report import report as show_report

        show_report(ReportRequest(
            references=list(references or []), results_dir=results_dir, compare=compare,
            top=top, sort=sort, statuses=list(status or []), name=name, since=since,
            all_runs=all_runs, format=format_, plot=plot))


def main():
    app()


if __name__ == "__main__":
    main()

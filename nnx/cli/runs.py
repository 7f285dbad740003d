"""`nnx train`, `nnx validate`, `nnx evaluate` and `nnx predict`: one experiment, its run,
and the model the run saved."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnx import stop_signals
from nnx.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    STATUS_EXIT,
    ExperimentArg,
    JsonOpt,
    ResultsDirOpt,
    RunArg,
    SetOpt,
    check_threads,
    console,
    error,
    exit_codes,
    print_json,
    threads_option,
    threads_warning,
    warn,
    writable_results_dir,
)
from nnx.errors import NnxError, WriteError


def train(
    experiment: ExperimentArg,
    set_: SetOpt = None,
    results_dir: ResultsDirOpt = None,
    threads: threads_option(
        "Threads for numba kernels and BLAS (recorded in the run) \\[default: train.threads "
        "of the file, else all cores].") = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    json_: JsonOpt = False,
    diagnostics: Annotated[str | None, typer.Option(
        "--diagnostics", show_default=False, metavar="off|basic|full",
        help="Training diagnostics recorded in the run JSON (dead units, gradient flow, "
             "overfitting) \\[default: the file's `diagnostics`, else basic].")] = None,
):
    """Train one experiment; write its run record (JSON) and model under the results folder.

    Exit 0 when completed, 1 when the run diverged or failed, 130 when interrupted (Ctrl-C
    stops after the current batch and keeps what was learnt), 143 when stopped by SIGTERM
    (the same), 2 for bad input.
    """
    with exit_codes():
        from nnx.config import load_experiment

        check_threads(threads)
        overrides = [*(set_ or []), *([f"train.threads={threads}"] if threads else []),
                     *([f"diagnostics={diagnostics}"] if diagnostics is not None else [])]
        config = load_experiment(experiment, overrides)
        root = writable_results_dir(results_dir)
        warning = threads_warning(threads, config["train"]["threads"])
        if warning:
            warn(warning)
        from nnx.experiment import run_experiment

        record = run_experiment(config, root, reporter=_reporter(quiet, json_),
                                source=str(experiment))
        record_path = Path(root) / "runs" / f"{record['run_id']}.json"
        if json_:
            print_json(record)
        else:
            _print_run(record, record_path)
        code = STATUS_EXIT.get(record["status"], EXIT_FAILED)
        if code == EXIT_FAILED:
            error(f"run {record['status']}: {record['error']}")
        elif code == EXIT_INTERRUPTED:
            error(f"interrupted; what was learnt is kept in {record_path}")
            code = stop_signals.exit_code()
    raise typer.Exit(code)


def _reporter(quiet, json_mode):
    """Live display on a terminal, plain lines otherwise; on stderr when stdout is for JSON."""
    from nnx.progress import PlainReporter, Reporter, RichReporter

    if quiet:
        return Reporter()
    stream = sys.stderr if json_mode else sys.stdout
    # The stream itself decides, not rich: FORCE_COLOR must not bring a live display to cron.
    if getattr(stream, "isatty", lambda: False)():
        return RichReporter(console(stderr=json_mode))
    return PlainReporter(stream)


def _print_run(record, record_path):
    from nnx.report.run import cv_metrics_table
    from nnx.report.tables import flag_notes, print_sections

    out = console()
    sections = [cv_metrics_table(record, record["run_id"])] if record["metrics"] else []
    print_sections(sections + flag_notes(record["diagnostics"]), out)
    out.print(f"run record: {record_path}", markup=False)
    if record["model_path"]:
        out.print(f"model: {record['model_path']}", markup=False)


def validate(
    experiment: ExperimentArg,
    set_: SetOpt = None,
    json_: JsonOpt = False,
):
    """Check an experiment without training: the fields, the data, the model's shapes, and
    the search space as `nnx search` checks it.

    Prints the resolved settings and the model with its parameter counts; loads no kernels.
    """
    with exit_codes():
        from nnx.config import read_experiment
        from nnx.experiment import prepare

        raw, config = read_experiment(experiment, list(set_ or []))
        if config["search"]:  # its space as `nnx search` checks it
            from nnx.config.space_check import checked_space

            checked_space(raw, config["search"], config["search"]["method"], str(experiment))
        prepared = prepare(config, source=str(experiment))
        config, data, model = prepared.config, prepared.data, prepared.model
        sizes = {s: 0 if getattr(data, f"x_{s}") is None else len(getattr(data, f"x_{s}"))
                 for s in ("train", "val", "test")}
        layers = [{"index": i, **row} for i, row in enumerate(model.summary_rows())]
        if json_:
            print_json({"experiment": str(experiment), "valid": True, "config": config,
                        "data": {"name": data.name, "task": data.task,
                                 "input_shape": list(data.input_shape),
                                 "output_units": data.output_units, "samples": sizes},
                        "model": {"params": model.count_params(), "layers": layers}})
            return
        from nnx.report.tables import print_sections, validation_sections

        print_sections(validation_sections(experiment, config, data, sizes, layers,
                                                      model.count_params()))


def evaluate(
    run: RunArg,
    data: Annotated[Path | None, typer.Option(
        "--data", show_default=False,
        help="Evaluate on all rows of this table file (CSV or Parquet: features and target "
             "columns, raw values) instead of a split of the run's data.")] = None,
    split: Annotated[str, typer.Option(
        "--split", help="Split of the run's data: train, val or test.")] = "test",
    results_dir: ResultsDirOpt = None,
    json_: JsonOpt = False,
):
    """Evaluate a trained model: by default on its run's test split, re-loaded from the
    run's config (same seed, same split)."""
    with exit_codes():
        if split not in ("train", "val", "test"):
            raise NnxError(f"--split must be train, val or test, got {split!r}")
        from nnx.experiment import evaluate_saved, open_saved
        from nnx.results import results_dir as resolve_results_dir

        saved = open_saved(run, resolve_results_dir(results_dir))
        result = evaluate_saved(saved, split=split, data_file=data)
        run_id = saved.record["run_id"] if saved.record else None
        if json_:
            print_json({"run_id": run_id, "model_path": saved.model_path, **result})
            return
        from nnx.report.run import metrics_table
        from nnx.report.tables import print_sections

        title = f"{run_id or saved.model_path}: {result['n']} samples"
        label = "data" if data is not None else split
        print_sections([metrics_table({label: result["metrics"]}, title=title)])


def predict(
    run: RunArg,
    input_file: Annotated[Path, typer.Argument(
        metavar="INPUT", show_default=False,
        help="Raw rows (.csv, .csv.gz, .parquet or a folder of .parquet files) with the "
             "feature columns the model was trained on (extra columns are ignored).")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", show_default=False,
        help="Write the predictions here (CSV) instead of to stdout.")] = None,
    layer: Annotated[str | None, typer.Option(
        "--layer", show_default=False,
        help="Output this layer's (or graph node's) values instead of the predictions, e.g. "
             "an autoencoder's code; by name, index or INDEX.NAME.")] = None,
    results_dir: ResultsDirOpt = None,
):
    """Predict raw rows: preprocessed as in training, decoded to labels or values.

    The file is read and predicted a batch at a time, so it may be larger than memory; the
    output appears whole (a file renamed into place, or stdout at the end) or, on bad
    input, not at all.
    """
    import csv
    import shutil
    import tempfile

    with exit_codes():
        from nnx.atomic import replace_atomically
        from nnx.experiment import open_saved, predict_saved
        from nnx.results import results_dir as resolve_results_dir

        saved = open_saved(run, resolve_results_dir(results_dir))
        columns, batches = predict_saved(saved, input_file, layer=layer)
        count = 0

        def write(handle):
            nonlocal count
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for rows in batches:
                writer.writerows(rows)
                count += len(rows)

        if output is None:
            with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
                write(spool)
                spool.seek(0)
                shutil.copyfileobj(spool, sys.stdout)
            return
        if output.exists() and not output.is_file():  # a device or a pipe: written as it comes
            try:
                with open(output, "w", encoding="utf-8", newline="") as handle:
                    write(handle)
            except OSError as err:
                raise WriteError(output, err) from err
        else:
            replace_atomically(output, write)
        console(stderr=True).print(f"{count} predictions written to {output}")

"""`nnx report`: the overview of every run and study, one in depth, or several compared."""

from pathlib import Path
from typing import Annotated

import typer

from nnx.cli.common import ResultsDirOpt, exit_codes


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
             "studies: running, idle, finished, empty, damaged, or holding trials of that "
             "state). Repeatable.")] = None,
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
    html: Annotated[Path | None, typer.Option(
        "--html", metavar="DIR", show_default=False,
        help="Write the web report of every run and study into DIR instead: index.html, a "
             "page per run and study, interactive charts; no server or network needed "
             "(needs plotly: pip install 'nnx\\[web]').")] = None,
    results_dir: ResultsDirOpt = None,
):
    """Show runs and studies: the overview, one run or study in depth, or several compared.

    Damaged or foreign files are listed as skipped; the report goes on.
    """
    with exit_codes():
        from nnx.report import ReportRequest
        from nnx.report import report as show_report

        show_report(ReportRequest(
            references=list(references or []), results_dir=results_dir, compare=compare,
            top=top, sort=sort, statuses=list(status or []), name=name, since=since,
            all_runs=all_runs, format=format_, plot=plot, html=html))

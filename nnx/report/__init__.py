"""`nnx report`: runs and studies from the results folder, in the terminal.

Modules: `index` (reading the results folder, resolving an argument), `overview` (every
run and study), `run` and `study` (one in depth), `compare` (side by side), `importance`
(PED-ANOVA from a study document), `charts` (terminal charts), `view` (what a view is
made of), `formats` (table | json | markdown | csv), `plot` (PNGs through matplotlib),
`web` (the static web report, `--html DIR`, through plotly).

The report reads JSON only: the overview imports neither numba, optuna nor scikit-learn
(a study view imports optuna for the importance).
"""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nnx.errors import NnxError

__all__ = ["ReportRequest", "build_views", "report", "report_console"]


@dataclass
class ReportRequest:
    references: list = field(default_factory=list)  # run ids, study names, JSON files
    results_dir: Path | None = None
    compare: bool = False
    top: int | None = None
    sort: str | None = None
    statuses: list = field(default_factory=list)
    name: str | None = None
    since: str | None = None
    all_runs: bool = False
    format: str = "table"
    plot: Path | None = None
    html: Path | None = None  # write the web report into this folder instead


def build_views(request):
    """The views a request asks for (a list of nnx.report.view.View)."""
    from nnx.report.formats import check_format
    from nnx.report.index import load_results
    from nnx.report.overview import Filters, overview_view
    from nnx.report.values import parse_since
    from nnx.results import results_dir

    check_format(request.format)
    root = results_dir(request.results_dir)
    overview_only = [flag for flag, given in (
        ("--status", request.statuses), ("--name", request.name), ("--since", request.since),
        ("--sort", request.sort), ("--all", request.all_runs)) if given]
    if not request.references:
        if request.compare:
            raise NnxError("--compare needs the runs or studies to compare: "
                           "nnx report --compare A B ...")
        filters = Filters(tuple(request.statuses), request.name,
                          parse_since(request.since) if request.since else None,
                          request.sort, request.top, request.all_runs)
        return [overview_view(load_results(root), filters)]
    if overview_only:
        raise NnxError(f"{', '.join(overview_only)} filter the overview; give "
                       f"{'it' if len(overview_only) == 1 else 'them'} without RUN/STUDY "
                       "arguments")
    from nnx.report.index import resolve

    items = [resolve(reference, root) for reference in request.references]
    if request.compare:
        from nnx.report.compare import compare_view

        mixed = len({i.kind for i in items}) > 1
        return [compare_view(items, load_results(root) if mixed else None)]
    views = []
    for item in items:
        if item.kind == "run":
            from nnx.report.run import run_view

            views.append(run_view(item.document, item.path))
        else:
            from nnx.report.study import study_view

            views.append(study_view(item.document, item.path, top=request.top))
    return views


def report_console(stderr=False):
    """The console of `nnx report`: colour only on a terminal (or when forced through
    FORCE_COLOR); off a terminal 120 columns unless $COLUMNS says otherwise."""
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, emoji=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(stderr=stderr, highlight=False, emoji=False, width=120)
    return console


def report(request, console=None, stdout=None):
    """Build the views and write them in the requested format; returns the views.
    `console` receives the table format (and messages), `stdout` the other formats."""
    from nnx.report import formats

    console = console or report_console()
    if request.html is not None:
        write_html(request, console)
        return []
    views = build_views(request)
    stdout = stdout or sys.stdout
    if request.format == "table":
        formats.print_views(views, console)
    elif request.format == "markdown":
        stdout.write(formats.markdown(views))
    elif request.format == "json":
        stdout.write(formats.to_json_text(views))
    else:
        stdout.write(formats.csv_text(views))
        _warn_skipped(views)
    if request.plot is not None:
        from nnx.report.plot import write_plots

        paths = write_plots(views, request.plot)
        note = report_console(stderr=True) if request.format != "table" else console
        note.print(f"{len(paths)} chart{'s' * (len(paths) != 1)} written to {request.plot}")
    return views


def write_html(request, console):
    """`--html DIR`: the web report of the whole results folder, one line said about it."""
    from nnx.report.web import write_site
    from nnx.results import results_dir

    given = [flag for flag, value in (
        ("RUN/STUDY arguments", request.references), ("--compare", request.compare),
        ("--top", request.top), ("--sort", request.sort), ("--status", request.statuses),
        ("--name", request.name), ("--since", request.since), ("--all", request.all_runs),
        ("--format", request.format != "table"), ("--plot", request.plot)) if value]
    if given:
        raise NnxError(f"--html writes every run and study of the results folder (its pages "
                       f"sort and filter them); it takes no {', '.join(given)}")
    site = write_site(results_dir(request.results_dir), request.html)
    for path, reason in site.skipped:
        sys.stderr.write(f"skipped {path}: {reason}\n")
    runs = sum(p.startswith("runs/") for p in site.pages)
    studies = sum(p.startswith("studies/") for p in site.pages)
    console.print(f"web report of {runs} run{'s' * (runs != 1)} and {studies} "
                  f"stud{'ies' if studies != 1 else 'y'} in {request.html}: open {site.index}",
                  markup=False, soft_wrap=True)


def _warn_skipped(views):
    skipped = [row for v in views if v.kind == "overview" for row in v.data["skipped"]]
    for row in skipped:
        sys.stderr.write(f"skipped {row['path']}: {row['reason']}\n")

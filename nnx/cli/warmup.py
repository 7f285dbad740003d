"""`nnx warmup`: compile the float32 kernels once per installation."""

import os
from contextlib import contextmanager
from typing import Annotated

import typer

from nnx.cli.common import console, exit_codes


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
    with exit_codes():
        from nnx.kernels.cache import cache_dir
        from nnx.warmup import curriculum, remove_stale_caches, warm_up

        out = console()
        removed = remove_stale_caches()
        if not quiet:
            out.print(f"compiling nnx's float32 kernels into {cache_dir()}"
                      + (f" (removed {removed} stale cache folders)" if removed else ""),
                      highlight=False)
        with _step_progress(out, len(curriculum()), quiet) as on_done:
            seconds = warm_up(jobs or os.cpu_count() or 1, on_done)
        if not quiet:
            out.print(f"kernels compiled in {seconds:.0f} s; runs load them from the cache")


@contextmanager
def _step_progress(out, total, quiet):
    """A callback for each finished step: a progress bar on a terminal, else one line each."""
    if quiet:
        yield lambda description: None
    elif not out.is_terminal:
        done = []

        def line(description):
            done.append(description)
            out.print(f"  {len(done)}/{total} {description}", highlight=False)

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
                      TimeElapsedColumn(), TextColumn("{task.description}"), console=out,
                      transient=True) as progress:
            task = progress.add_task("", total=total)
            yield lambda description: progress.update(task, advance=1, description=description)

"""What every command shares: its options, how an outcome becomes an exit code, and the
console, error-line and file-system helpers around them.

Exit codes: 0 done, 1 the job ran and failed (diverged, crashed, a result could not be
written), 2 bad usage or bad input (one red line on stderr, never a traceback), 130
interrupted by Ctrl-C, 143 stopped by SIGTERM, 141 stdout closed by its reader.
"""

import errno
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from nnx import stop_signals
from nnx.cores import thread_count
from nnx.errors import NnxError, WriteError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `cat` cut off by `head`
# Errors of the machine, not of the input, wherever they come from (a journal append too).
MACHINE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG)
STATUS_EXIT = {"completed": EXIT_OK, "pruned": EXIT_OK, "diverged": EXIT_FAILED,
               "failed": EXIT_FAILED, "interrupted": EXIT_INTERRUPTED}


# -- options ----------------------------------------------------------------------------
def threads_option(help_text):
    """`--threads` of `nnx train` and `nnx search`: far above the cores it is refused under
    its own name (`check_threads`), as `train.threads` is by the config."""
    return Annotated[int | None, typer.Option("--threads", min=1, show_default=False,
                                              help=help_text)]


def check_threads(threads):
    if threads is not None:
        thread_count(threads)


def threads_warning(threads, configured):
    """The warning for `--threads` (else `train.threads`: `configured`) above the cores,
    or None."""
    if configured is None:
        return None
    return thread_count(configured, "--threads" if threads else "train.threads")[1]


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
StorageOpt = Annotated[str | None, typer.Option(
    "--storage", metavar="URL", show_default=False,
    help="Database URL of the studies (postgresql://user@host/db, sqlite:///file.db) "
         "(default: one journal file per study under RESULTS_DIR/studies).")]


# -- output -----------------------------------------------------------------------------
def console(stderr=False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def error(message):
    from rich.markup import escape

    console(stderr=True).print(f"[bold red]error:[/bold red] {escape(message)}", soft_wrap=True)


def warn(message):
    from rich.markup import escape

    console(stderr=True).print(f"[yellow]{escape(message)}[/yellow]", soft_wrap=True)


def print_json(document):
    import json

    from nnx.results import to_json

    sys.stdout.write(json.dumps(to_json(document), indent=2) + "\n")
    sys.stdout.flush()


# -- exit codes -------------------------------------------------------------------------
@contextmanager
def exit_codes():
    """NnxError -> one red line and exit 2; a result that cannot be written (full disk,
    read-only folder) -> one line and exit 1; Ctrl-C or SIGTERM -> exit 130 or 143
    (`nnx.stop_signals`); stdout closed by its reader -> exit 141 quietly; unexpected
    errors -> exit 1 with one line (NNX_DEBUG=1 shows the traceback)."""
    with stop_signals.handled():
        try:
            yield
            sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        except NnxError as err:
            error(str(err))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except KeyboardInterrupt:
            stop_signals.stopping()
            error("interrupted")
            raise typer.Exit(stop_signals.exit_code()) from None
        except BrokenPipeError:
            _silence_output()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except SystemExit as exit_:
            if isinstance(exit_.__context__, BrokenPipeError):  # rich's answer to a closed pipe
                _silence_output()
                raise typer.Exit(EXIT_BROKEN_PIPE) from None
            raise
        except OSError as err:
            if isinstance(err, WriteError):
                error(str(err))
                raise typer.Exit(EXIT_FAILED) from None
            error(f"{err.filename + ': ' if err.filename else ''}{err.strerror or err}")
            raise typer.Exit(EXIT_FAILED if err.errno in MACHINE_ERRNOS else EXIT_BAD_INPUT) \
                from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as err:
            if os.environ.get("NNX_DEBUG"):
                raise
            error(f"internal error: {type(err).__name__}: {err} (NNX_DEBUG=1 shows the "
                  "traceback)")
            raise typer.Exit(EXIT_FAILED) from None


def _silence_output():
    """The reader of stdout is gone (`| head`): what is still buffered, and any warning
    about it at exit, goes to /dev/null instead of becoming a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                os.dup2(devnull, stream.fileno())
            except (AttributeError, OSError, ValueError):
                pass  # not a real file (captured output)
    finally:
        os.close(devnull)


# -- the results folder -----------------------------------------------------------------
def writable_results_dir(results_dir):
    """The results folder (`--results-dir`, else $NNX_RESULTS_DIR, else ./results), checked
    writable before any training, with the leftovers of killed writes removed."""
    from nnx.results import results_dir as resolve_results_dir

    root = resolve_results_dir(results_dir)
    _check_writable(root)
    _remove_leftovers(root)
    return root


def _check_writable(folder):
    """Refuse a results folder nnx could not write into: a path that cannot be a folder is
    bad input (exit 2), a read-only or unwritable folder a failure of the machine (exit 1)."""
    probe = Path(folder).absolute()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise NnxError(f"results folder {str(folder)!r} is not writable ({probe} is not a "
                       "folder)")
    if not os.access(probe, os.W_OK | os.X_OK):
        read_only = os.statvfs(probe).f_flag & os.ST_RDONLY
        code = errno.EROFS if read_only else errno.EACCES
        raise WriteError(folder, OSError(code, os.strerror(code)))


def _remove_leftovers(root):
    """Leftovers of killed writes go (`nnx.leftovers`), said in one line on stderr."""
    from nnx.leftovers import LEFTOVER_AGE_S, remove_leftovers

    removed = remove_leftovers(root)
    if removed:
        console(stderr=True).print(
            f"removed {len(removed)} leftover{'s' * (len(removed) != 1)} of interrupted writes "
            f"(untouched for {LEFTOVER_AGE_S // 60} minutes): "
            + ", ".join(str(p) for p in removed), highlight=False, markup=False)

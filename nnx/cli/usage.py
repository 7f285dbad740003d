"""How the command line itself reads: Typer's command classes with one-line usage errors
and boolean options shown as the flags they are.

A usage error (a missing argument, an unknown option, a bad option value) is bad input
like any other: one `error:` line on stderr naming the command and the closest option,
exit code 2, instead of Click's usage line and boxed panel. An unknown option that names
an experiment field (`--epochs`) points to `--set train.epochs=VALUE`.
"""

import sys

import typer
from typer.core import TyperCommand, TyperGroup

from nnx.cli.common import error
from nnx.errors import closest


class _FlagsShownAsFlags:
    """Typer's rich help prints a `<bool>` placeholder after a flag, which reads as if it
    took a value (`--json true`); an empty metavar leaves the flag alone on its line."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class Command(_FlagsShownAsFlags, TyperCommand):
    """Every `nnx` command."""


class Group(_FlagsShownAsFlags, TyperGroup):
    """`nnx` and `nnx studies`; the root one turns usage errors into one line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.Abort:
            error("aborted")
            sys.exit(1)
        except typer.TyperException as err:  # Click's usage errors (and its other errors)
            # Typer's own handler skips this one the same way: the help is already shown.
            if type(err).__name__ != "NoArgsIsHelpError":
                error(usage_message(err))
            sys.exit(err.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


def usage_message(err):
    """The one line for Click's exception `err`: the command, the problem, the closest
    option or field."""
    ctx = getattr(err, "ctx", None)
    command = ctx.command_path if ctx is not None else "nnx"
    option = getattr(err, "option_name", None)
    if option is not None and type(err).__name__ == "NoSuchOption":
        return f"{command}: no such option {option}" + _option_hint(option, ctx)
    param = getattr(err, "param", None)
    if param is None:
        message = err.format_message().rstrip(".")
        return f"{command}: {message[:1].lower()}{message[1:]}"
    if param.param_type_name == "argument":
        name = param.metavar or param.name.upper()
    else:
        name = " / ".join(param.opts)
    if type(err).__name__ == "MissingParameter":
        return f"{command}: missing {param.param_type_name} {name}; see {command} --help"
    return f"{command}: {name}: {err.message[:1].lower()}{err.message[1:].rstrip('.')}"


def _option_hint(option, ctx):
    """` (did you mean --json?)`, ` (an experiment field: --set train.epochs=VALUE)`, or ''
    (a one-letter option is too short to guess from)."""
    if not option.startswith("--") or ctx is None:
        return ""
    known = [name for param in ctx.command.get_params(ctx)
             for name in param.opts + param.secondary_opts if name.startswith("--")]
    hint = closest(option, known)
    if hint is not None:
        return f" (did you mean {hint}?)"
    if "--set" in known:
        from nnx.config.reference import field_named

        field = field_named(option[2:].replace("-", "_"))
        if field is not None:
            return f" (an experiment field: --set {field}=VALUE)"
    return ""

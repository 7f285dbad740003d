"""Usage errors of the command line itself (a missing argument, an unknown option, a bad
option value): one `error:` line naming the closest option, exit code 2, as for every
other bad input; and boolean options shown and read as flags."""

import pytest
import typer

from nnx.cli import app

CASES = {
    "unknown option, an experiment field": (
        lambda ws: ["train", ws.experiment(), "--epochs", "3"],
        ["no such option --epochs", "--set train.epochs="]),
    "unknown option, a typo": (lambda ws: ["train", ws.experiment(), "--jsn"],
                               ["--jsn", "did you mean --json?"]),
    "unknown option of search": (lambda ws: ["search", ws.experiment(), "--n-trail", "3"],
                                 ["--n-trail", "did you mean --n-trials?"]),
    "unknown short option": (lambda ws: ["train", ws.experiment(), "-x"], ["-x"]),
    "missing argument": (lambda ws: ["train"], ["nnx train", "missing argument", "EXPERIMENT"]),
    "missing argument of a subcommand": (lambda ws: ["studies", "delete"],
                                         ["nnx studies delete", "missing argument", "NAME"]),
    "option without its value": (lambda ws: ["search", ws.experiment(), "--method"],
                                 ["--method", "requires an argument"]),
    "not an integer": (lambda ws: ["search", ws.experiment(), "--n-trials", "many"],
                       ["--n-trials / -n", "valid integer"]),
    "out of range": (lambda ws: ["report", "--top", "0"], ["--top", "greater than or equal to 1"]),
    "a value given to a flag": (lambda ws: ["train", ws.experiment(), "--json", "true"],
                                ["unexpected extra argument", "true"]),
    "unknown command": (lambda ws: ["trian"], ["trian", "'train'"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_usage_error_is_one_line_and_exit_2(ws, case):
    make_args, words = CASES[case]
    result = ws.nnx(*make_args(ws), results=False)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith("error: "), message
    for word in words:
        assert word in message, message
    assert "╭" not in message and "Usage:" not in message
    assert result.stdout == ""
    assert not ws.results.exists()


def test_a_real_process_prints_the_same_line(ws):
    process = ws.process("train", ws.experiment(), "--epochs", "3")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert out == ""
    assert err.strip().splitlines() == [
        "error: nnx train: no such option --epochs (an experiment field: "
        "--set train.epochs=VALUE)"]


def test_no_arguments_still_shows_the_help(ws):
    result = ws.nnx(results=False)
    assert "Usage: nnx" in result.output and "error:" not in result.output


def _commands(command, path=("nnx",)):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_boolean_option_is_a_flag_without_a_placeholder(ws):
    root = typer.main.get_command(app)
    seen = 0
    for path, command in _commands(root):
        result = ws.nnx(*path[1:], "--help", results=False)
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.output, (path, result.output)
        for param in command.params:
            if param.param_type_name == "option" and param.type_descriptor.annotation is bool:
                assert param.is_flag, (path, param.name)
                seen += 1
    assert seen >= 8  # --json, --quiet, --exclusive, --compare, --all, --yes, --version ...

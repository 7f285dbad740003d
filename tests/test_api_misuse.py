"""Misusing the Python API never crashes the interpreter: every case of
tests/api_misuse_cases.py (a reused optimizer, replaced parameters, shared layers, direct
layer calls, odd inputs) ends in an NnxError that names the problem or in the same answer as
correct use. Each case runs in its own forked child (tests/forked_runner.py), so that a
crash shows as the signal that killed it."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from api_misuse_cases import CASES

TESTS = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(TESTS, "forked_runner.py")


def run_cases(module, extra_path=None):
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra_path, env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, RUNNER, module], cwd=TESTS, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def outcomes():
    return run_cases("api_misuse_cases")


def test_there_are_enough_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", list(CASES))
def test_misuse_ends_in_an_error_or_the_right_answer(outcomes, case):
    result = outcomes[case]
    assert result["returncode"] >= 0, (f"{case} crashed the interpreter (signal "
                                       f"{-result['returncode']})")
    assert result["returncode"] == 0, result["output"]


def test_the_runner_reports_a_crash_as_its_signal(tmp_path):
    (tmp_path / "crashing_cases.py").write_text(textwrap.dedent("""
        import ctypes

        def warm_up():
            pass

        def fine():
            pass

        def fails():
            raise ValueError("wrong")

        def crashes():
            ctypes.string_at(0)

        CASES = {"fine": fine, "fails": fails, "crashes": crashes}
    """))
    results = run_cases("crashing_cases", extra_path=str(tmp_path))
    assert results["fine"] == {"returncode": 0, "output": ""}
    assert results["fails"]["returncode"] == 1 and "ValueError: wrong" in results["fails"]["output"]
    assert results["crashes"]["returncode"] == -11  # SIGSEGV

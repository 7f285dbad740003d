"""nnx as a new user gets it: a wheel built from the repository, installed with its web
extra into a clean virtual environment, used from a folder outside the clone: a starter
experiment, a training run, a search and the web report, each exiting 0.

Slow (a fresh environment and a cold numba cache: a few minutes): `make test-wheel`, which
CI runs after `make test`.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STEP_TIMEOUT_S = 900


def run(command, cwd, env):
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=STEP_TIMEOUT_S)
    assert done.returncode == 0, (f"{' '.join(map(str, command))} exited "
                                  f"{done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@pytest.mark.slow
def test_from_a_wheel_to_a_web_report(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "NNX_RESULTS_DIR", "NUMBA_CACHE_DIR")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist",
         REPO], tmp_path, env)
    (wheel,) = (tmp_path / "dist").glob("nnx-*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], tmp_path, env)
    run([venv / "bin" / "pip", "install", "-q", f"nnx[web] @ {wheel.as_uri()}"], tmp_path, env)
    work = tmp_path / "work"  # outside the clone: only the installed nnx can be imported
    work.mkdir()
    where = run([venv / "bin" / "python", "-c", "import nnx; print(nnx.__file__)"], work, env)
    assert Path(where.strip()).is_relative_to(venv), where
    nnx = venv / "bin" / "nnx"
    run([nnx, "init", "--dataset", "digits", "-o", "d.yaml"], work, env)
    run([nnx, "train", "d.yaml"], work, env)
    run([nnx, "search", "d.yaml", "--n-trials", "5"], work, env)
    said = run([nnx, "report", "--html", "site/"], work, env)
    assert "open site/index.html" in said
    pages = sorted(p.relative_to(work / "site").parts[0] for p in (work / "site").rglob("*.html"))
    assert pages.count("index.html") == 1 and pages.count("studies") == 1
    assert pages.count("runs") == 6  # the training run and the five trials
    assert {p.name for p in (work / "site" / "assets").iterdir()} == {
        "plotly.min.js", "nnx.css", "nnx.js"}

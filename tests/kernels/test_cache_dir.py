"""The kernel cache: NUMBA_CACHE_DIR wins; else the environment's folder, else the user's;
one folder per version and kernel sources; the same folder from any working directory."""

import os
import subprocess
import sys

import pytest

from nnx.kernels import cache


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user"))
    return tmp_path


def test_numba_cache_dir_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.cache_dir() == str(tmp_path / "mine")
    assert cache.stale_folders() == []


def test_the_environment_folder_then_the_users(no_env, monkeypatch):
    stamp = cache.sources_stamp()
    assert cache.cache_dir() == str(no_env / "env" / "var" / "cache" / "nnx" / stamp)
    env_root = str(no_env / "env" / "var" / "cache" / "nnx")
    monkeypatch.setattr(cache, "_writable", lambda folder: str(folder) != env_root)
    assert cache.cache_dir() == str(no_env / "user" / "nnx" / stamp)  # read-only install


def test_a_changed_kernel_source_gets_a_new_folder(no_env, monkeypatch):
    kernels = no_env / "kernels"
    kernels.mkdir()
    (kernels / "a.py").write_text("X = 1\n")
    monkeypatch.setattr(cache, "KERNELS", kernels)
    before = cache.sources_stamp()
    assert before == cache.sources_stamp()
    (kernels / "a.py").write_text("X = 2\n")
    assert cache.sources_stamp() != before
    old = cache.cache_root() / before
    old.mkdir(parents=True)
    (cache.cache_root() / cache.sources_stamp()).mkdir()
    assert cache.stale_folders() == [str(old)]


def test_every_working_directory_shares_one_cache(tmp_path):
    """Kernels compile into the same folder whichever folder nnx is started from."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    script = "import numba; from nnx.kernels import jit; print(numba.config.CACHE_DIR)"
    folders = set()
    for cwd in (tmp_path, tmp_path.parent):
        done = subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env, check=True,
                              capture_output=True, text=True)
        folders.add(done.stdout.strip())
    (folder,) = folders
    assert folder.endswith(cache.sources_stamp()) and os.path.isabs(folder)

"""Fixtures of the search tests (helpers in search_helpers.py, importable from the tests)."""

import os
import uuid

import pytest
from search_helpers import Workspace


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path)


@pytest.fixture
def postgres_url():
    """The PostgreSQL server of the distributed-search tests (`make test` and `.ci/run`
    start one and export NNX_TEST_POSTGRES_URL). Missing: these tests fail under CI (where
    the server is part of the job) and are skipped elsewhere, saying why."""
    url = os.environ.get("NNX_TEST_POSTGRES_URL")
    if not url:
        message = ("NNX_TEST_POSTGRES_URL is not set: start a server with `bash .ci/postgres.sh` "
                   "(or run `make test`, which does)")
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {message}")
        pytest.skip(message)
    return url


@pytest.fixture
def pg_study(postgres_url):
    """A study name of its own on the PostgreSQL server; every study with its prefix is
    deleted afterwards."""
    import optuna

    prefix = f"nnx-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    from nnx.search.storage import open_url

    storage = open_url(postgres_url).optuna
    for name in optuna.get_all_study_names(storage=storage):
        if name.startswith(prefix):
            optuna.delete_study(study_name=name, storage=storage)

"""Fixtures of the search tests (helpers in search_helpers.py, importable from the tests)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from search_helpers import Workspace  # noqa: E402


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path)

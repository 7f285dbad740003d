"""Shared test setup: `tests/` on sys.path so every test file can `from gradcheck import ...`."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

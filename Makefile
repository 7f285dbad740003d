# Every target installs what it needs into .venv first; a fresh clone needs only `make run` / `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
WARM   := $(VENV)/.warmed-up
TORCH  := torch==2.13.0
# Compiled kernels live in .venv/var/cache/nnx (nnx/kernels/cache.py), whichever folder nnx
# is started from; `nnx warmup` fills it at install and again after a kernel source changes.

.PHONY: install run test test-slow test-wheel crosscheck bench sweep lint clean docs

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,dev,postgres,plot,web]"
	touch $(STAMP)

$(WARM): $(STAMP) $(wildcard nnx/kernels/*.py)
	$(VENV)/bin/nnx warmup
	touch $(WARM)

install: $(STAMP) $(WARM)

run: install
	$(VENV)/bin/nnx train experiments/digits_mlp.yaml

# The distributed-search tests need PostgreSQL: .ci/postgres.sh starts a local server (and
# installs Debian's package when missing) unless NNX_TEST_POSTGRES_URL is already set. The
# web report's browser test needs Chromium: .ci/chromium.sh installs Debian's when missing.
test: install
	$(VENV)/bin/lint-imports --no-cache
	@bash .ci/chromium.sh || echo "chromium could not be installed (needs root and apt): the browser test skips" >&2
	@url="$${NNX_TEST_POSTGRES_URL:-$$(bash .ci/postgres.sh 2>/dev/null || true)}"; \
	NNX_TEST_POSTGRES_URL="$$url" $(PY) -m pytest -q

test-slow: install
	$(PY) -m pytest -q -m slow

# nnx as a user gets it: a wheel of this repository in a clean virtual environment, then
# init -> train -> search -> report --html from a folder outside the clone (CI runs it).
test-wheel: install
	$(PY) -m pytest -q -m slow tests/test_wheel.py

# Regenerates the PyTorch golden fixtures under tests/golden/ (committed; CI has no torch).
crosscheck: install
	$(PY) -m pip install -q $(TORCH)
	@set -e; for script in tests/golden/generate_*.py; do echo "$$script"; $(PY) $$script; done
	$(PY) -m pytest -q tests -k golden

bench: install
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m benchmarks.run
	$(PY) -m benchmarks.data_load --json benchmarks/data_load.json

# Regenerates docs/report.md: a tiny train + search into a temp folder, each `nnx report` view.
docs: install
	$(PY) docs/make_report_docs.py

# A small sweep as cron would run it (experiments/crontab.example): resumes the study, and
# exits 0 at once when the budget is met or another sweep of it is running.
SWEEP_TRIALS ?= 12
SWEEP_JOBS   ?= 2
sweep: install
	$(VENV)/bin/nnx search experiments/digits_mlp.yaml --exclusive --max-trials $(SWEEP_TRIALS) --n-jobs $(SWEEP_JOBS)

lint: $(STAMP)
	$(VENV)/bin/ruff check nnx tests benchmarks
	$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache

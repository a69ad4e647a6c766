# Two commands for a new user: `make demo` and `make test`. Every install step happens here.
PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV := .venv
RUN := $(UV) run --frozen --no-sync

.PHONY: install demo test lint typecheck unit

install: ## uv (bootstrapped through pip) and the locked dev environment
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv>=0.5"
	@$(UV) sync --frozen --quiet

demo: install ## the emulator plus every example DAG under `airflow dags test`
	@$(RUN) python scripts/demo.py

lint: install
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .

typecheck: install
	@$(RUN) mypy

unit: install
	@$(RUN) pytest -q -p no:cacheprovider

test: lint typecheck unit ## every check CI runs

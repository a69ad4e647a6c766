# Two commands for a new user: `make demo` and `make test`. Every install step happens here.
PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen --no-sync
AIRFLOW2_VENV := .venv-airflow2
AIRFLOW2_PYTHON := $(AIRFLOW2_VENV)/bin/python
PYTEST_FLAGS := -q -p no:cacheprovider -ra
# Install with compiled bytecode, as pip and Airflow's images do: where PYTHONDONTWRITEBYTECODE is set (this
# machine, many CI runners), every Airflow process would otherwise compile its imports from source (~2.5 s).
export UV_COMPILE_BYTECODE := 1

.PHONY: install install-airflow2 install-browser install-deployment demo test lint typecheck test-airflow3 \
	test-airflow2 test-browser test-packaging test-matrix test-deployment airflow docs docs-serve

install: ## uv (bootstrapped through pip) and the locked dev environment (Airflow 3)
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv>=0.5"
	@$(UV) sync --frozen --quiet
	@$(RUN) python -m compileall -q airflow_provider_pinterest_audiences  # the editable package too

install-airflow2: install ## a second environment pinned to Airflow 2.11
	@$(UV) venv --quiet --allow-existing --python 3.11 $(AIRFLOW2_VENV)
	@$(UV) pip sync --quiet --python $(AIRFLOW2_PYTHON) constraints/airflow-2.11.txt
	@$(UV) pip install --quiet --python $(AIRFLOW2_PYTHON) --no-deps -e .

install-deployment: ## Debian's PostgreSQL and Redis for the deployment test (only when missing)
	@bash scripts/install_deployment_services.sh

install-browser: ## Debian's Chromium for the browser tests (never a browser download)
	@bash scripts/install_browser.sh

demo: install ## the emulator plus every example DAG under `airflow dags test`
	@$(RUN) python scripts/demo.py

airflow: install ## a local Airflow UI with the example DAGs and the emulator, until Ctrl-C (PORT=8080)
	@$(RUN) python -m scripts.local_airflow --port $(or $(PORT),8080)

# The docs site (mkdocs.yml, docs/): built offline, any warning (a broken link or reference) fails it.
docs: install ## build the docs site into .artifacts/site
	@NO_MKDOCS_2_WARNING=1 $(RUN) mkdocs build --strict

docs-serve: install ## serve the docs site at http://127.0.0.1:8000, rebuilt on every change (PORT=8000)
	@NO_MKDOCS_2_WARNING=1 $(RUN) mkdocs serve --strict --dev-addr 127.0.0.1:$(or $(PORT),8000)

lint: install
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .

typecheck: install
	@$(RUN) mypy

test-airflow3: install
	@$(RUN) pytest $(PYTEST_FLAGS) -m "not browser and not packaging and not matrix and not deployment"

test-airflow2: install-airflow2
	@$(AIRFLOW2_PYTHON) -m pytest $(PYTEST_FLAGS) -m "not browser and not airflow3_only and not packaging and not matrix and not deployment"

# The built sdist and wheel: twine, contents (package, py.typed, emulator, no tests), metadata, changelog.
test-packaging: install
	@$(RUN) pytest $(PYTEST_FLAGS) -m packaging tests/matrix

# The wheel installed into a fresh venv per Airflow x Python cell (constraints/matrix-*.txt), two cells at
# a time: what it adds to an environment that has Airflow, then the unit, contract and in-cell tests.
# One cell alone: make test-matrix CELL=3.0-py3.10
test-matrix: install
	@$(RUN) pytest $(PYTEST_FLAGS) -m matrix tests/matrix $(if $(CELL),-k $(CELL))

# PostgreSQL + Redis + CeleryExecutor (two workers), scheduler, DAG processor, triggerer, API server,
# all from a fresh venv holding the built wheel; started and stopped by the test.
test-deployment: install install-deployment
	@$(RUN) pytest $(PYTEST_FLAGS) -m deployment tests/deployment

test-browser: install install-browser
	@$(RUN) pytest $(PYTEST_FLAGS) -m browser tests/browser

test: lint typecheck docs test-airflow3 test-airflow2 test-browser test-packaging test-matrix test-deployment ## every check CI runs

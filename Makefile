# Greenhood — two commands on a fresh machine: `make run` and `make test`.
# Needs only Python >= 3.11 and make: uv (pinned) is installed into .tools/,
# the project and its locked dependencies into .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Byte-compile at install: every start (and each test subprocess) then skips compiling
# the dependencies (aiogram alone is hundreds of modules), even under PYTHONDONTWRITEBYTECODE.
export UV_COMPILE_BYTECODE := 1

.PHONY: install run console demo test test-postgres test-services lint format bench clean

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Greenhood needs Python >= 3.11; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced

## Run the bot: the terminal chat without BOT_TOKEN, long polling with it.
## The database is migrated, and filled with demo data when it is new.
run: install
	$(BIN)/greenhood run

console: install
	$(BIN)/greenhood console

demo: install
	$(BIN)/greenhood demo

## Lint, type-check and run the whole test suite (PostgreSQL/Redis tests skip,
## with their reason, unless GREENHOOD_TEST_POSTGRES_URL / _REDIS_URL are set).
test: lint
	$(BIN)/python -m pytest -q

## The whole suite again on PostgreSQL + Redis (GREENHOOD_TEST_POSTGRES_URL and
## GREENHOOD_TEST_REDIS_URL must point at servers; every test gets its own database).
test-postgres: install
	GREENHOOD_TEST_BACKEND=postgres $(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m benchmarks all

clean:
	rm -rf $(TOOLS) $(VENV) .pytest_cache .mypy_cache .ruff_cache console-files

# reelvault: `make run` serves the embedded default with a demo account; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export LITESTAR_APP := reelvault.app:create_app
# uv works on this Makefile's .venv, made from $(PYTHON); it never downloads a Python of its own.
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test lint format migrate demo bench lock clean

# uv itself, at the version pinned (with hashes) in deploy/uv-requirements.txt.
$(UV): deploy/uv-requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r deploy/uv-requirements.txt
	touch $(UV)

# Exactly the development set of uv.lock (runtime + test + bench, reelvault editable): uv sync
# also removes what the lock does not name (pip and uv stay). A pyproject.toml edited without
# `make lock` stops here, never resolves afresh.
$(STAMP): pyproject.toml uv.lock Makefile $(UV)
	@$(UV) lock --check --quiet || { echo "uv.lock does not match pyproject.toml: run 'make lock' and commit uv.lock" >&2; exit 1; }
	$(UV) sync --locked --quiet --extra test --extra bench
	touch $(STAMP)

# After editing the dependencies in pyproject.toml: re-resolve what changed, keep the other pins.
# (Everything to its newest allowed version: $(UV) lock --upgrade)
lock: $(UV)
	$(UV) lock

run: $(STAMP)
	$(BIN)/litestar database upgrade --no-prompt
	$(BIN)/reelvault demo
	@echo "reelvault is starting on http://$(HOST):$(PORT)  (API contract: http://$(HOST):$(PORT)/schema)"
	@# A demo worker beside the app makes every requested generation (REELVAULT_DEMO_WORKER=off: none); Ctrl-C stops both.
	$(BIN)/python -m reelvault.worker.beside --url http://$(HOST):$(PORT) -- \
		$(BIN)/python -m reelvault.server --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check src tests bench migrations deploy
	$(BIN)/ruff format --check src tests bench migrations deploy
	$(BIN)/pytest

migrate: $(STAMP)
	$(BIN)/litestar database upgrade --no-prompt

demo: $(STAMP)
	$(BIN)/reelvault demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench migrations deploy

format: $(STAMP)
	$(BIN)/ruff format src tests bench migrations deploy
	$(BIN)/ruff check --fix src tests bench migrations deploy

bench: $(STAMP)
	$(BIN)/python bench/listing.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

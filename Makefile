# reelvault: `make run` serves the embedded default with a demo account; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export LITESTAR_APP := reelvault.app:create_app

.PHONY: run test lint format migrate demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/litestar database upgrade --no-prompt
	$(BIN)/reelvault demo
	@echo "reelvault is starting on http://$(HOST):$(PORT)  (API contract: http://$(HOST):$(PORT)/schema)"
	$(BIN)/litestar run --host $(HOST) --port $(PORT)

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

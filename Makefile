# Two entry points, each creating its own virtual environment on first use:
#   make demo   validate and build data/, load every config back, print a summary
#   make test   run the test suite
#   make lint   ruff check, ruff format --check and mypy (the quality gate CI runs)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
OUT := out
# The demo and tests never need the network beyond the package registry.
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: demo test lint bench clean

$(BIN)/chat-dataset-baseline: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $@

demo: $(BIN)/chat-dataset-baseline
	$(BIN)/chat-dataset-baseline validate data
	$(BIN)/chat-dataset-baseline build --source data --out $(OUT)/chat-dataset-baseline --quiet
	HF_DATASETS_DISABLE_PROGRESS_BARS=1 $(BIN)/chat-dataset-baseline inspect $(OUT)/chat-dataset-baseline --cache-dir $(OUT)/cache

test: $(BIN)/chat-dataset-baseline
	$(BIN)/python -m pytest

lint: $(BIN)/chat-dataset-baseline
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(BIN)/chat-dataset-baseline
	$(BIN)/python bench/build_load.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache

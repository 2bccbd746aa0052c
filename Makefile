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
	@echo "Creating $(VENV)/ and installing the package with its dependencies (first run only, 1-2 minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[test,lint]'
	touch $@

demo: $(BIN)/chat-dataset-baseline
	$(BIN)/chat-dataset-baseline validate data
	$(BIN)/chat-dataset-baseline build --source data --out $(OUT)/chat-dataset-baseline --quiet
	HF_DATASETS_DISABLE_PROGRESS_BARS=1 $(BIN)/chat-dataset-baseline inspect $(OUT)/chat-dataset-baseline --cache-dir $(OUT)/cache
	@echo
	@echo "Next, from this folder, in this shell or a new one:"
	@echo "  . $(VENV)/bin/activate                      # puts chat-dataset-baseline on PATH"
	@echo "  chat-dataset-baseline validate data --format json"
	@echo "  chat-dataset-baseline export --format messages $(OUT)/jsonl --release $(OUT)/chat-dataset-baseline"
	@echo "  chat-dataset-baseline --help"
	@echo "  make test"
	@echo "README.md (\"After the two commands\") says how to install into your own environment."

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

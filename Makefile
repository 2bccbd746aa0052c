# Two entry points, each creating its own virtual environment on first use:
#   make demo   validate and build data/, load every config back, print a summary and the release's statistics
#   make test   run the test suite
#   make lint   ruff check, ruff format --check and mypy (the quality gate CI runs)
#   make test-compat   the builder, view and export tests on the oldest stack setup.cfg accepts
#               (datasets 4.0.0, what LLaMA-Factory 0.9.5 pins, and the huggingface_hub lower bound)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
OUT := out
# The demo and tests never need the network beyond the package registry.
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1

COMPAT_VENV := .venv-ds4
COMPAT_PINS := datasets==4.0.0 huggingface_hub==0.34.0
COMPAT_TESTS := tests/test_builder.py tests/test_views.py tests/test_export.py tests/test_mixing.py tests/test_resume.py

.PHONY: demo test test-compat lint bench clean

$(BIN)/chat-dataset-baseline: setup.cfg pyproject.toml
	@echo "Creating $(VENV)/ and installing the package with its dependencies (first run only, 1-2 minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[test,lint,trl,fast]'
	touch $@

demo: $(BIN)/chat-dataset-baseline
	$(BIN)/chat-dataset-baseline validate data
	$(BIN)/chat-dataset-baseline build --source data --out $(OUT)/chat-dataset-baseline --quiet
	HF_DATASETS_DISABLE_PROGRESS_BARS=1 $(BIN)/chat-dataset-baseline inspect $(OUT)/chat-dataset-baseline --cache-dir $(OUT)/cache
	$(BIN)/chat-dataset-baseline stats $(OUT)/chat-dataset-baseline
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

$(COMPAT_VENV)/.installed: setup.cfg pyproject.toml Makefile
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COMPAT_VENV)/bin/python -m pip install --quiet $(COMPAT_PINS) -e '.[test]'
	touch $@

test-compat: $(COMPAT_VENV)/.installed
	$(COMPAT_VENV)/bin/python -c 'import datasets, huggingface_hub; print("datasets", datasets.__version__, "huggingface_hub", huggingface_hub.__version__)'
	$(COMPAT_VENV)/bin/python -m pytest -q $(COMPAT_TESTS)

lint: $(BIN)/chat-dataset-baseline
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(BIN)/chat-dataset-baseline
	$(BIN)/python bench/build_load.py

clean:
	rm -rf $(VENV) $(COMPAT_VENV) $(OUT) .pytest_cache

"""The validate path imports neither ``datasets`` nor pandas (1.5 s a run), and what it uses
instead of the builder (``corpus_shape``) is exactly what the builder defines."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_validate_cli import FILES

import chat_dataset_baseline as builder
from chatcorpus.validation import corpus_shape
from chatcorpus.validation.record_schema import SHARED_FUNCTIONS, corpus_shape_text, record_schema

_HEAVY = ("datasets", "pandas", "chat_dataset_baseline", "huggingface_hub", "jsonschema")
_RUN = f"""
import json, sys
from chatcorpus.cli import main
code = main(sys.argv[1:])
loaded = {{name.split(".")[0] for name in sys.modules}}
print(json.dumps({{"code": code, "heavy": sorted(loaded & set({_HEAVY!r}))}}))
"""


def _run(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture
def faulty_source(tmp_path: Path) -> Path:
    """The golden-file contribution (syntax, schema, lint and duplicate faults) plus a clean config."""
    for relative, text in FILES.items():
        path = tmp_path / "contrib" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    clean = [{"instruction": f"为什么天空是蓝色的？第{n}问", "output": f"因为散射。第{n}答"} for n in range(3)]
    (tmp_path / "contrib" / "chatglm-issues").mkdir()
    (tmp_path / "contrib" / "chatglm-issues" / "天空.json").write_text(json.dumps(clean, ensure_ascii=False))
    return tmp_path / "contrib"


@pytest.mark.parametrize("fmt", ["text", "github", "json"])
def test_a_validate_run_with_faults_never_imports_datasets_or_pandas(faulty_source: Path, fmt: str) -> None:
    result = _run("validate", str(faulty_source), "--format", fmt)
    assert result == {"code": 1, "heavy": []}


def test_listing_rules_imports_neither() -> None:
    assert _run("validate", "--list-rules")["heavy"] == []


def test_corpus_shape_is_what_the_builder_defines() -> None:
    assert tuple(builder.CONFIGS) == corpus_shape.CONFIG_NAMES
    assert {name: spec.language for name, spec in builder.CONFIGS.items()} == corpus_shape.CONFIG_LANGUAGES
    assert {name: spec.category for name, spec in builder.CONFIGS.items()} == corpus_shape.CONFIG_CATEGORIES
    assert corpus_shape.IDENTITY_CONFIG == builder.IDENTITY_CONFIG
    assert tuple(builder.TEXT_COLUMNS) == corpus_shape.TEXT_COLUMNS
    assert corpus_shape.PLACEHOLDER_PATTERN == builder.PLACEHOLDER_PATTERN
    assert corpus_shape.RELEASE_VERSION == builder.RELEASE_VERSION
    assert corpus_shape.DEFAULT_REPO_ID == builder.DEFAULT_REPO_ID
    assert record_schema() == corpus_shape.RECORD_SCHEMA


def test_the_validate_path_reads_release_json_with_the_builders_own_code() -> None:
    for name in SHARED_FUNCTIONS:
        assert inspect.getsource(getattr(corpus_shape, name)) == inspect.getsource(getattr(builder, name))
    assert corpus_shape.MAX_RELEASE_JSON_DEPTH == builder.MAX_RELEASE_JSON_DEPTH


def test_the_generator_writes_the_committed_values() -> None:
    generated: dict = {}
    exec(corpus_shape_text(), generated)
    committed = {name: getattr(corpus_shape, name) for name in generated if name.isupper()}
    assert committed == {name: value for name, value in generated.items() if name.isupper()}

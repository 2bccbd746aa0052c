"""The translation link is part of the shared schema: every config has it, and the schema's fingerprint moved with it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import pyarrow as pa
import pytest

from chat_dataset_baseline import (
    ARROW_SCHEMA,
    CONFIGS,
    FEATURES,
    TRANSLATION_KINDS,
    VIEW_FEATURES,
    VIEWS,
    ChatDatasetBaseline,
    ManifestError,
    schema_fingerprint,
)
from chatcorpus.validation.record_schema import record_schema

LINK_COLUMNS = ("translation_of", "translation_kind")


def test_every_config_and_every_view_carries_the_link_columns() -> None:
    for column in LINK_COLUMNS:
        assert FEATURES[column] == datasets.Value("string")
        for view in VIEWS:
            assert column in VIEW_FEATURES[view]
    assert TRANSLATION_KINDS == ("translated", "untranslated")


def test_contributors_never_write_the_link() -> None:
    properties = record_schema()["properties"]
    assert not set(LINK_COLUMNS) & set(properties)


@pytest.mark.parametrize("config", [c for c in CONFIGS if c != "alpaca-zh"])
def test_rows_outside_alpaca_zh_have_an_empty_link(demo_release: Path, cache_dir: str, config: str) -> None:
    ds = datasets.load_dataset(str(demo_release), config, split="train", cache_dir=cache_dir)
    assert ds.num_rows > 0
    assert set(ds["translation_of"]) == {""} and set(ds["translation_kind"]) == {""}


def test_the_fingerprint_of_the_schema_before_the_link_differs() -> None:
    before = pa.schema([field for field in ARROW_SCHEMA if field.name not in LINK_COLUMNS])
    assert schema_fingerprint(before) != schema_fingerprint()


def test_the_builder_refuses_a_release_of_the_schema_before_the_link(
    demo_release: Path, tmp_path: Path, cache_dir: str
) -> None:
    old = tmp_path / "old-release"
    shutil.copytree(demo_release, old)
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    manifest["schema_fingerprint"] = schema_fingerprint(
        pa.schema([field for field in ARROW_SCHEMA if field.name not in LINK_COLUMNS])
    )
    (old / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    builder = ChatDatasetBaseline(config_name="alpaca-en", data_source=str(old), cache_dir=cache_dir)
    with pytest.raises(ManifestError, match="another schema"):
        builder.download_and_prepare()

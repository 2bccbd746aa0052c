"""The translation link is part of the shared schema: every config has it, and the schema's fingerprint moved with it."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from chat_dataset_baseline import (
    CONFIGS,
    FEATURES,
    TRANSLATION_KINDS,
    VIEW_FEATURES,
    VIEWS,
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


# What the schema before the link (1.x) looks like to this builder, verify, build --base and
# validate --against: tests/test_previous_release.py, on a 1.x release generated from a build.

"""FEATURES is the one schema: shards, card and JSON Schema are generated from it and agree."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCard

from chat_dataset_baseline import ARROW_SCHEMA, FEATURES, schema_fingerprint
from chatcorpus.release.manifest import Manifest, manifest_schema_text
from chatcorpus.validation.record_schema import DERIVED_COLUMNS, record_schema, record_schema_text

REPO = Path(__file__).resolve().parent.parent


def test_every_shard_has_exactly_the_features_arrow_schema(demo_release: Path) -> None:
    manifest = Manifest.read(demo_release)
    for path in (shard["path"] for config in manifest.configs.values() for shard in config["shards"]):
        schema = pq.read_schema(demo_release / path)
        assert schema.remove_metadata().equals(ARROW_SCHEMA), path


def test_the_card_dataset_info_features_equal_features(demo_release: Path) -> None:
    card = DatasetCard.load(demo_release / "README.md")
    # the features per config as load_dataset reads them from the card
    features = {name: info.features for name, info in DatasetInfosDict.from_dataset_card_data(card.data).items()}
    assert set(features) == set(Manifest.read(demo_release).configs)
    assert all(f == FEATURES for f in features.values())


def test_the_manifest_names_the_schema_it_was_built_with(demo_release: Path) -> None:
    assert Manifest.read(demo_release).schema_fingerprint == schema_fingerprint()


def test_the_record_schema_lists_the_contributed_columns_of_features() -> None:
    contributed = [name for name in FEATURES if name not in DERIVED_COLUMNS]
    assert list(record_schema()["properties"]) == contributed
    assert record_schema()["additionalProperties"] is False


def test_the_committed_schemas_are_the_generated_ones(demo_release: Path) -> None:
    """schema/*.json in the repo and in a release are exactly what the code generates."""
    assert (REPO / "schema" / "record.schema.json").read_text(encoding="utf-8") == record_schema_text()
    assert (REPO / "schema" / "manifest.schema.json").read_text(encoding="utf-8") == manifest_schema_text()
    assert (demo_release / "schema" / "record.schema.json").read_text(encoding="utf-8") == record_schema_text()
    json.loads(manifest_schema_text())

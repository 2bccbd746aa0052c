"""Render the release's README.md: the dataset card, with the YAML that makes it loadable.

The YAML header is written with the ecosystem's own serialisers (``DatasetCardData``,
``MetadataConfigs``, ``DatasetInfosDict``), the same code ``push_to_hub`` uses, so the
Hub and ``load_dataset`` read it exactly as they read their own.
"""

from __future__ import annotations

from importlib import resources
from string import Template
from typing import Any

import datasets
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from chat_dataset_baseline import CONFIGS, DEFAULT_CONFIG, DEFAULT_REPO_ID, FEATURES, SPLIT
from chatcorpus.release.manifest import Manifest, format_change_counts

TEMPLATE = "dataset_card.md"


def card_data(manifest: Manifest, arrow_bytes: dict[str, int]) -> DatasetCardData:
    """YAML metadata: one ``configs:`` entry per config with its shards in row order, and their features."""
    data = DatasetCardData(
        license="cc-by-nc-4.0",
        language=["zh", "en"],
        task_categories=["text-generation"],
        pretty_name="chat-dataset-baseline",
        tags=["instruction-tuning", "alpaca", "chinese"],
    )
    configs: dict[str, dict[str, Any]] = {
        name: {"data_files": [{"split": SPLIT, "path": [shard["path"] for shard in entry["shards"]]}]}
        for name, entry in manifest.configs.items()
    }
    if DEFAULT_CONFIG in configs:
        configs[DEFAULT_CONFIG]["default"] = True
    MetadataConfigs(configs).to_dataset_card_data(data)
    infos = {
        name: datasets.DatasetInfo(
            features=FEATURES,
            splits=datasets.SplitDict({SPLIT: datasets.SplitInfo(SPLIT, arrow_bytes.get(name, 0), entry["rows"])}),
            download_size=sum(shard["bytes"] for shard in entry["shards"]),
            dataset_size=arrow_bytes.get(name, 0),
        )
        for name, entry in manifest.configs.items()
    }
    DatasetInfosDict(infos).to_dataset_card_data(data)
    return data


def render_card(
    manifest: Manifest, arrow_bytes: dict[str, int], repo_id: str = DEFAULT_REPO_ID, translation_coverage: str = ""
) -> DatasetCard:
    """The card; ``translation_coverage`` is the Markdown coverage table of alpaca-zh (``chatcorpus.alignment``)."""
    template = Template(resources.files("chatcorpus.release.templates").joinpath(TEMPLATE).read_text(encoding="utf-8"))
    body = template.substitute(
        version=manifest.version,
        parent_note=f", built on v{manifest.parent}" if manifest.parent else "",
        configs_table=_configs_table(manifest),
        repo_id=repo_id,
        changelog=_changelog(manifest),
        translation_coverage=translation_coverage or "This release has no alpaca-zh and alpaca-en to align.",
    )
    return DatasetCard(f"---\n{card_data(manifest, arrow_bytes).to_yaml()}\n---\n\n{body}")


def _configs_table(manifest: Manifest) -> str:
    return "\n".join(
        f"| `{name}` | {entry['rows']:,} | {len(entry['shards'])} | {CONFIGS[name].description} |"
        for name, entry in manifest.configs.items()
    )


def _changelog(manifest: Manifest) -> str:
    if manifest.parent is None:
        return "First release."
    lines = []
    for name, change in manifest.changelog.items():
        lines.append(f"- `{name}`: {format_change_counts(change)}")
    return "\n".join(lines) or "No changes to the data."

"""Render the release's README.md: the dataset card, with the YAML that makes it loadable.

The YAML header is written with the ecosystem's own serialisers (``DatasetCardData``,
``MetadataConfigs``, ``DatasetInfosDict``), the same code ``push_to_hub`` uses, so the
Hub and ``load_dataset`` read it exactly as they read their own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

import datasets
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from chat_dataset_baseline import CONFIGS, DEFAULT_CONFIG, DEFAULT_REPO_ID, FEATURES, SCHEMA_CHANGES, SPLIT
from chatcorpus.release.croissant import CITATION_BIBTEX
from chatcorpus.release.manifest import Manifest, format_change_counts

TEMPLATE = "dataset_card.md"


#: How the card names the repo its examples load (``load_dataset("X"``, ``data_source="X"``).
_NAMED_REPO = re.compile(r'(?:load_dataset\(|data_source=)"([^"]+)"')


def repos_named(card_text: str) -> set[str]:
    """The repo ids the card's examples tell readers to load."""
    return set(_NAMED_REPO.findall(card_text))


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


@dataclass(frozen=True)
class Rejections:
    """One config's rejected records and the errors that rejected them, counted by rule id."""

    records: int
    errors_by_rule: Counter[str]


def render_card(
    manifest: Manifest,
    arrow_bytes: dict[str, int],
    repo_id: str = DEFAULT_REPO_ID,
    translation_coverage: str = "",
    rejections: dict[str, Rejections] | None = None,
    statistics: str = "",
) -> DatasetCard:
    """The card; ``translation_coverage`` is the Markdown coverage table of alpaca-zh (``chatcorpus.alignment``),
    ``rejections`` per config say how many records the build rejected and why, ``statistics`` is the
    Markdown of ``chatcorpus.release.card_statistics``. The datasheet's rule counts are the manifest's."""
    template = Template(resources.files("chatcorpus.release.templates").joinpath(TEMPLATE).read_text(encoding="utf-8"))
    body = template.substitute(
        version=manifest.version,
        parent_note=f", built on v{manifest.parent}" if manifest.parent else "",
        configs_table=_configs_table(manifest),
        repo_id=repo_id,
        changelog=_changelog(manifest),
        rejected=_rejected_section(rejections or {}),
        translation_coverage=translation_coverage or "This release has no alpaca-zh and alpaca-en to align.",
        rule_counts=_rule_counts_table(_release_rule_counts(manifest)),
        citation=CITATION_BIBTEX,
        statistics=statistics or "No statistics were computed for this release.",
        schema_history=schema_history(),
    )
    return DatasetCard(f"---\n{card_data(manifest, arrow_bytes).to_yaml()}\n---\n\n{body}")


def schema_history() -> str:
    """What each major release added to the schema (``SCHEMA_CHANGES``), so that the card says
    which columns a reader of an older release does not have, and why the builder refuses one."""
    return " ".join(
        f"The columns {', '.join(f'`{column}`' for column in columns)} are new in {major}.0.0: a release "
        f"before it lacks them, and the `chat-dataset-baseline` builder of {major}.x refuses one (load it "
        f"with plain `load_dataset`, or republish it with `build --base ... --version {major}.0.0`)."
        for major, columns in sorted(SCHEMA_CHANGES.items())
    )


def _rejected_section(rejections: dict[str, Rejections]) -> str:
    """Rows read = rows published + rows rejected: the card says how many were left out and why."""
    if not any(r.records or r.errors_by_rule for r in rejections.values()):
        return "No record was rejected: every record read is in this release."
    lines = [
        "Records with an error were left out of this release (`chat-dataset-baseline validate` on the sources lists "
        "each, with file, line and column).",
        "",
        "| config | rejected records | errors by rule |",
        "|---|---:|---|",
    ]
    for config, rejected in rejections.items():
        why = ", ".join(f"`{rule}` {count:,}" for rule, count in sorted(rejected.errors_by_rule.items()))
        lines.append(f"| `{config}` | {rejected.records:,} | {why or 'none'} |")
    return "\n".join(lines)


def _release_rule_counts(manifest: Manifest) -> Counter[tuple[str, str]]:
    """The manifest's faults summed over configs: what the build found, by (rule id, severity)."""
    counts: Counter[tuple[str, str]] = Counter()
    for entry in manifest.faults:
        counts[(entry["rule"], entry["severity"])] += entry["count"]
    return counts


def _rule_counts_table(counts: Mapping[tuple[str, str], int]) -> str:
    if not counts:
        return "No rule found anything."
    rows = [f"| `{rule}` | {severity} | {count:,} |" for (rule, severity), count in sorted(counts.items())]
    return "\n".join(["| rule | severity | faults |", "|---|---|---:|", *rows])


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

"""Load a built release back, every config, both ways, and say what came out.

This is the end of the demo and a smoke test for a release before it is pushed: each
config is loaded with plain ``datasets.load_dataset`` (what the Hub serves) and with the
verifying builder, streaming and not, and the four must agree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
from datasets.exceptions import DatasetGenerationError

from chat_dataset_baseline import (
    CARD_FILENAME,
    FEATURES,
    MANIFEST_FILENAME,
    SPLIT,
    ChatDatasetBaseline,
    ChatDatasetError,
)
from chatcorpus.release.manifest import Manifest
from chatcorpus.release.verify import FolderFiles, card_problems, shard_problems
from chatcorpus.validation import inert


@dataclass
class ConfigSummary:
    config: str
    shards: int
    expected_rows: int  # what the manifest promises
    rows: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    categories: int = 0
    features_match: bool = False
    streaming_match: bool = False
    builder_match: bool = False
    error: str | None = None  # why the config could not be loaded at all

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.rows == self.expected_rows
            and self.features_match
            and self.streaming_match
            and self.builder_match
        )


# what a broken release raises while loading: a shard that fails verification, or that
# Arrow or datasets cannot read
_LOAD_ERRORS = (ChatDatasetError, DatasetGenerationError, pa.ArrowException, OSError, ValueError)


def summarize_config(release: Path, config: str, entry: dict[str, Any], cache_dir: str | None = None) -> ConfigSummary:
    summary = ConfigSummary(config, shards=len(entry["shards"]), expected_rows=entry["rows"])
    try:
        plain = datasets.load_dataset(str(release), config, split=SPLIT, cache_dir=cache_dir)
        streamed_ids = [row["id"] for row in datasets.load_dataset(str(release), config, split=SPLIT, streaming=True)]
        builder = ChatDatasetBaseline(config_name=config, data_source=str(release), cache_dir=cache_dir)
        builder.download_and_prepare()
        verified = builder.as_dataset(split=SPLIT)
    except _LOAD_ERRORS as err:
        summary.error = f"{type(err).__name__}: {err}"
        return summary
    ids = plain["id"]
    summary.rows = plain.num_rows
    summary.languages = dict(sorted(Counter(plain["language"]).items()))
    summary.categories = len(set(plain["category"]))
    summary.features_match = plain.features == FEATURES and verified.features == FEATURES
    summary.streaming_match = streamed_ids == ids
    summary.builder_match = verified["id"] == ids
    return summary


def summarize_release(release: Path, cache_dir: str | None = None) -> list[ConfigSummary]:
    """Every config loaded back, unless the card disagrees with the manifest.

    Plain ``load_dataset`` reads the files the card's YAML names, so a card that points a
    config at another config's files (or at files outside the release) is never loaded;
    nor is a config whose shards fail verification (plain loading checks nothing, and
    parses what a crafted shard's metadata holds).
    """
    manifest = Manifest.read(release)
    files = FolderFiles(release)
    disagreements = card_problems(files, manifest)
    summaries = []
    for config, entry in manifest.configs.items():
        damaged = [f"{shard['path']}: {p}" for shard in entry["shards"] for p in shard_problems(files, shard)]
        if disagreements or damaged:
            summary = ConfigSummary(config, shards=len(entry["shards"]), expected_rows=entry["rows"])
            if disagreements:
                summary.error = f"{CARD_FILENAME} disagrees with {MANIFEST_FILENAME}: " + "; ".join(disagreements)
            else:
                summary.error = "shards failed verification: " + "; ".join(damaged)
        else:
            summary = summarize_config(release, config, entry, cache_dir)
        summaries.append(summary)
    return summaries


def format_summary(summaries: list[ConfigSummary]) -> str:
    header = f"{'config':<16}{'rows':>8}{'shards':>8}  {'languages':<28}{'categories':>11}  check"
    lines = [header, "-" * len(header)]
    for s in summaries:
        languages = " ".join(f"{k}={v}" for k, v in s.languages.items())
        # the error quotes the release (its card, its paths): made inert, like every report of input
        verdict = "ok" if s.ok else f"FAILED: {inert.escape(s.error)}" if s.error else "MISMATCH"
        lines.append(
            f"{inert.escape(s.config):<16}{s.rows:>8,}{s.shards:>8}  {languages:<28}{s.categories:>11}  {verdict}"
        )
    lines.append("")
    lines.append(
        "schema (every config): " + ", ".join(f"{name}: {_type_name(feature)}" for name, feature in FEATURES.items())
    )
    return "\n".join(lines)


def _type_name(feature: object) -> str:
    if isinstance(feature, datasets.Value):
        return feature.dtype
    if isinstance(feature, datasets.List) and isinstance(feature.feature, dict):
        return "list<{" + ", ".join(feature.feature) + "}>"
    return type(feature).__name__

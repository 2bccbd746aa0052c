"""Load a built release back, every config, both ways, and say what came out.

This is the end of the demo and a smoke test for a release before it is pushed: each
config is loaded with plain ``datasets.load_dataset`` (what the Hub serves) and with the
verifying builder, streaming and not, and the four must agree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import datasets

from chat_dataset_baseline import FEATURES, SPLIT, ChatDatasetBaseline
from chatcorpus.manifest import Manifest


@dataclass
class ConfigSummary:
    config: str
    rows: int
    shards: int
    languages: dict[str, int]
    categories: int
    features_match: bool
    streaming_match: bool
    builder_match: bool

    @property
    def ok(self) -> bool:
        return self.features_match and self.streaming_match and self.builder_match


def summarize_config(release: Path, config: str, shards: int, cache_dir: Optional[str] = None) -> ConfigSummary:
    plain = datasets.load_dataset(str(release), config, split=SPLIT, cache_dir=cache_dir)
    streamed_ids = [row["id"] for row in datasets.load_dataset(str(release), config, split=SPLIT, streaming=True)]
    builder = ChatDatasetBaseline(config_name=config, data_source=str(release), cache_dir=cache_dir)
    builder.download_and_prepare()
    verified = builder.as_dataset(split=SPLIT)
    ids = plain["id"]
    return ConfigSummary(
        config=config,
        rows=plain.num_rows,
        shards=shards,
        languages=dict(sorted(Counter(plain["language"]).items())),
        categories=len(set(plain["category"])),
        features_match=plain.features == FEATURES and verified.features == FEATURES,
        streaming_match=streamed_ids == ids,
        builder_match=verified["id"] == ids,
    )


def summarize_release(release: Path, cache_dir: Optional[str] = None) -> list[ConfigSummary]:
    manifest = Manifest.read(release)
    return [
        summarize_config(release, config, len(entry["shards"]), cache_dir)
        for config, entry in manifest.configs.items()
    ]


def format_summary(summaries: list[ConfigSummary]) -> str:
    header = f"{'config':<16}{'rows':>8}{'shards':>8}  {'languages':<28}{'categories':>11}  check"
    lines = [header, "-" * len(header)]
    for s in summaries:
        languages = " ".join(f"{k}={v}" for k, v in s.languages.items())
        verdict = "ok" if s.ok else "MISMATCH"
        lines.append(f"{s.config:<16}{s.rows:>8,}{s.shards:>8}  {languages:<28}{s.categories:>11}  {verdict}")
    lines.append("")
    lines.append("schema (every config): " + ", ".join(f"{name}: {_type_name(feature)}" for name, feature in FEATURES.items()))
    return "\n".join(lines)


def _type_name(feature: object) -> str:
    if isinstance(feature, datasets.Value):
        return feature.dtype
    if isinstance(feature, datasets.List) and isinstance(feature.feature, dict):
        return "list<{" + ", ".join(feature.feature) + "}>"
    return type(feature).__name__

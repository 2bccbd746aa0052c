"""What is inside a release, counted from its shards: rows, languages, categories, lengths, rule counts.

One computation serves ``chat-dataset-baseline stats RELEASE`` and the card's
"Statistics" section (and its charts), so the card says what the command says. Every
shard is verified against the manifest before it is counted, and counted a column at a
time with pyarrow compute and numpy: the cost is linear in the rows, with no Python per
row (a tokenizer's batch call is the one exception, and only when one is asked for).

The rule counts are the build's (the manifest's ``faults``): a release's shards hold the
records that passed, not the faults that were found in the sources.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chat_dataset_baseline import ARROW_SCHEMA, ShardVerificationError, check_shard_values, verify_shard
from chatcorpus.release.manifest import Manifest
from chatcorpus.release.measures import CHARACTERS, Measure
from chatcorpus.release.verify import ReleaseLocation, open_release, read_manifest
from chatcorpus.validation import inert

#: The lengths measured per row. ``total`` is every text a trainer sees: the system prompt,
#: the earlier turns, the instruction, the input and the output.
LENGTH_FIELDS = ("instruction", "input", "output", "total")
_TEXT_COLUMNS = ("instruction", "input", "output", "system")
_COLUMNS = (*_TEXT_COLUMNS, "history", "language", "category")
QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


@dataclass(frozen=True)
class LengthSummary:
    """A length distribution in a few numbers; quantiles are lengths some row really has (``lower``)."""

    min: int
    p50: int
    p90: int
    p99: int
    max: int
    mean: float

    @classmethod
    def of(cls, lengths: np.ndarray) -> LengthSummary:
        if not len(lengths):
            return cls(0, 0, 0, 0, 0, 0.0)
        quantiles = np.quantile(lengths, list(QUANTILES.values()), method="lower")
        p50, p90, p99 = (int(q) for q in quantiles)
        return cls(int(lengths.min()), p50, p90, p99, int(lengths.max()), round(float(lengths.mean()), 1))

    def to_json(self) -> dict[str, Any]:
        return {"min": self.min, "p50": self.p50, "p90": self.p90, "p99": self.p99, "max": self.max, "mean": self.mean}


@dataclass
class ConfigStats:
    """One config's counts; ``lengths`` holds every row's length per ``LENGTH_FIELDS`` (for charts)."""

    rows: int = 0
    rejected: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    lengths: dict[str, np.ndarray] = field(default_factory=dict)

    def summaries(self) -> dict[str, LengthSummary]:
        return {name: LengthSummary.of(self.lengths.get(name, np.zeros(0, np.int64))) for name in LENGTH_FIELDS}

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "rejected": self.rejected,
            "languages": dict(_by_count(self.languages)),
            "categories": dict(_by_count(self.categories)),
            "lengths": {name: summary.to_json() for name, summary in self.summaries().items()},
        }


@dataclass
class ReleaseStats:
    version: str
    unit: str  # what the lengths count: "characters", or "tokens (NAME)"
    configs: dict[str, ConfigStats]
    #: the manifest's ``faults``: per config (None: the source root), rule and severity
    faults: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "length_unit": self.unit,
            "configs": {name: config.to_json() for name, config in self.configs.items()},
            "faults": self.faults,
        }

    def format_json(self) -> str:
        """The JSON document; release-derived names keep their value, with no raw control character."""
        return inert.json_bytes_safe(json.dumps(self.to_json(), ensure_ascii=False, indent=2))


@dataclass(frozen=True)
class ShardCounts:
    """What one shard adds to its config's statistics; computed from its Arrow table."""

    rows: int
    languages: Counter[str]
    categories: Counter[str]
    lengths: dict[str, np.ndarray]

    @classmethod
    def of(cls, table: pa.Table, measure: Measure = CHARACTERS) -> ShardCounts:
        return cls(
            table.num_rows,
            _value_counts(table["language"]),
            _value_counts(table["category"]),
            _row_lengths(table, measure),
        )


def release_stats(manifest: Manifest, read: Callable[[str], bytes], measure: Measure = CHARACTERS) -> ReleaseStats:
    """Count every config of the release ``manifest`` describes; ``read`` gives a release file's bytes.

    Raises:
        ShardVerificationError: a shard is not the one the manifest lists, or lacks a column of the schema.
    """
    configs = {name: config_stats(entry, read, measure) for name, entry in manifest.configs.items()}
    return ReleaseStats(manifest.version, measure.unit, configs, list(manifest.faults))


def config_stats(
    entry: dict[str, Any],
    read: Callable[[str], bytes],
    measure: Measure = CHARACTERS,
    counted: Mapping[str, ShardCounts] | None = None,
) -> ConfigStats:
    """Count one config from its manifest entry (its ``rejected`` count and its ``shards``).

    ``counted`` (by shard path) are shards already counted from the tables they were written
    from: a build counts its shards as it writes them, so it neither reads them back nor
    hashes them again; every other shard is read with ``read``, verified and counted here.
    """
    counted = counted or {}
    stats = ConfigStats(rejected=entry["rejected"])
    parts: dict[str, list[np.ndarray]] = {field: [] for field in LENGTH_FIELDS}
    for shard in entry["shards"]:
        counts = counted.get(shard["path"])
        if counts is None:
            counts = ShardCounts.of(_shard_table(read(shard["path"]), shard), measure)
        stats.rows += counts.rows
        stats.languages.update(counts.languages)
        stats.categories.update(counts.categories)
        for field_name, lengths in counts.lengths.items():
            parts[field_name].append(lengths)
    stats.lengths = {
        field_name: np.concatenate(arrays) if arrays else np.zeros(0, np.int64) for field_name, arrays in parts.items()
    }
    return stats


def open_release_stats(spec: str, measure: Measure = CHARACTERS, cache_dir: str | None = None) -> ReleaseStats:
    """The statistics of a release folder or ``ORG/NAME@REVISION``, opened the way ``verify`` opens it.

    Without ``cache_dir`` a Hub release is downloaded into a fresh temporary folder, so what
    is counted is what the Hub serves now.
    """
    with tempfile.TemporaryDirectory(prefix="chat-dataset-baseline-stats-") as fresh:
        location = ReleaseLocation.parse(spec, default_revision="main")
        files = open_release(location, cache_dir=cache_dir or fresh)
        manifest = read_manifest(files, str(location))
        return release_stats(manifest, files.read, measure)


def _shard_table(data: bytes, shard: dict[str, Any]) -> pa.Table:
    """The counted columns of a shard that is the manifest's, each of the schema's type."""
    verify_shard(data, shard)
    try:
        table = pq.read_table(pa.BufferReader(data), columns=list(_COLUMNS))
    except (pa.ArrowInvalid, KeyError) as err:
        raise ShardVerificationError(shard["path"], f"cannot read its columns: {err}") from err
    for name in _COLUMNS:
        found, expected = table.schema.field(name).type, ARROW_SCHEMA.field(name).type
        if found != expected:
            raise ShardVerificationError(shard["path"], f"column {name} is {found}, the schema says {expected}")
    check_shard_values(table, shard["path"])
    return table


def _value_counts(column: pa.ChunkedArray) -> Counter[str]:
    counts = pc.value_counts(column)
    return Counter(dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)))


def _row_lengths(table: pa.Table, measure: Measure) -> dict[str, np.ndarray]:
    """Per row: the length of each text column, and of all its text (``total``)."""
    lengths = {name: measure.lengths(table[name]) for name in _TEXT_COLUMNS}
    history = table["history"].combine_chunks()
    turns = pc.list_flatten(history)
    turn_lengths = measure.lengths(turns.field("user")) + measure.lengths(turns.field("assistant"))
    # each turn's length added to its row's: one vectorized pass, rows without history get 0
    history_lengths = np.bincount(
        pc.list_parent_indices(history).to_numpy(zero_copy_only=False), weights=turn_lengths, minlength=len(history)
    ).astype(np.int64)
    lengths["total"] = sum((lengths[name] for name in _TEXT_COLUMNS), history_lengths)
    return {name: lengths[name] for name in LENGTH_FIELDS}


def _by_count(counts: Counter[str]) -> list[tuple[str, int]]:
    """Most frequent first; ties in code point order, so output never depends on shard order."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


# --- text ---------------------------------------------------------------------------------


def format_text(stats: ReleaseStats) -> str:
    """The statistics as a person reads them in a terminal: one table per kind of fact."""
    lines = [f"release v{stats.version}", ""]
    lines.append(f"{'config':<16}{'rows':>9}{'rejected':>10}  languages")
    for name, config in stats.configs.items():
        languages = " ".join(f"{inert.escape(k)}={v:,}" for k, v in _by_count(config.languages))
        lines.append(f"{name:<16}{config.rows:>9,}{config.rejected:>10,}  {languages}")
    lines += [
        "",
        f"lengths in {stats.unit}",
        f"{'config':<16}{'field':<13}" + "".join(f"{k:>9}" for k in _SUMMARY_KEYS),
    ]
    for name, config in stats.configs.items():
        for field_name, summary in config.summaries().items():
            values = summary.to_json()
            lines.append(f"{name:<16}{field_name:<13}" + "".join(f"{_number(values[k]):>9}" for k in _SUMMARY_KEYS))
    lines += ["", f"{'config':<16}{'rows':>9}  category"]
    for name, config in stats.configs.items():
        lines.extend(
            f"{name:<16}{count:>9,}  {inert.escape(category)}" for category, count in _by_count(config.categories)
        )
    lines += ["", "faults the build's rules found"]
    if not stats.faults:
        lines.append("none recorded (every rule passed, or the release was built before its manifest kept them)")
    else:
        lines.append(f"{'config':<16}{'severity':<9}{'count':>8}  rule")
        for entry in stats.faults:
            where = entry["config"] or "(root)"
            lines.append(
                f"{inert.escape(where):<16}{entry['severity']:<9}{entry['count']:>8,}  {inert.escape(entry['rule'])}"
            )
    return "\n".join(inert.line_start(line) for line in lines)  # no line may start a workflow command


_SUMMARY_KEYS = ("min", "p50", "p90", "p99", "max", "mean")


def _number(value: float) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def category_rows(stats: ReleaseStats) -> Iterable[tuple[str, int, str, int]]:
    """(config, rank, category, rows) for every category, most frequent first within its config:
    the rank is how the category chart labels a bar whose name its font cannot draw."""
    for name, config in stats.configs.items():
        for rank, (category, count) in enumerate(_by_count(config.categories), start=1):
            yield name, rank, category, count

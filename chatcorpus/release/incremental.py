"""Build a release on a published one, keeping every unchanged shard as it is.

Shards are immutable and named by content, so a shard whose rows all survive unchanged
can stay in the new release with the same path and bytes, and a push then uploads only
what is new. The rule, per config:

* a base shard is **kept** when every one of its rows is in the new build unchanged
  (same id, same value in every column, ``source`` included);
* every other row of the new build, new or from a base shard that was not kept, goes
  into new shards numbered after the base's highest shard number, so a new shard never
  reuses the path of an old one.

An append-only release therefore keeps every base shard and adds shards for the new
rows. The manifest's ``changelog`` per config says what changed against the base, by id
(ids are hashes of content, so editing a record changes its id):

* ``added``: ids not in the base, except those of changed records;
* ``removed``: ids of the base not in the new release, except those of changed records;
* ``changed``: the new ids of records whose source location (file and record index) held
  another id in the base: the same record, edited.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from chat_dataset_baseline import ShardVerificationError, check_shard_values, verify_shard
from chatcorpus.errors import BaseReleaseError, ManifestError, UsageError
from chatcorpus.release.manifest import Manifest, version_key
from chatcorpus.release.shards import ShardInfo
from chatcorpus.release.verify import HUB_ERRORS, ReleaseFiles, ReleaseLocation, open_release, read_manifest

_SHARD_NUMBER = re.compile(r"-(\d+)-[0-9a-f]+\.parquet$")
#: (id, source) of every row of a config: what a changelog is computed from.
Ledger = list[tuple[str, str]]


@dataclass
class BaseRelease:
    """A published release opened for building on: its manifest and verified local shard files."""

    location: ReleaseLocation
    manifest: Manifest
    files: ReleaseFiles

    @property
    def version(self) -> str:
        return self.manifest.version

    def shard_table(self, shard: dict[str, Any]) -> tuple[Path, pa.Table]:
        """The shard's local file and its rows, after checking they are exactly what the base manifest lists.

        The file is read once: the bytes that are hashed are the bytes whose values are
        checked and whose rows the build compares (reading the file again would trust a
        file that may have changed since it was checked).
        """
        try:
            path = self.files.fetch(shard["path"])
            data = path.read_bytes()
            verify_shard(data, shard)
            table = pq.read_table(pa.BufferReader(data))
            check_shard_values(table, shard["path"])  # rows are read back as Python values
        except ShardVerificationError as err:
            raise BaseReleaseError(f"the base release {self.location} is damaged: {err}") from err
        except HUB_ERRORS as err:
            raise BaseReleaseError(f"cannot read {shard['path']} of the base release {self.location}: {err}") from err
        return path, table


def open_base(spec: str, cache_dir: str | None = None) -> BaseRelease:
    """``FOLDER`` or ``ORG/NAME@vX.Y.Z``: the release a build is made on top of."""
    location = ReleaseLocation.parse(spec)
    try:
        files = open_release(location, cache_dir=cache_dir)
        manifest = read_manifest(files, str(location))
    except (ManifestError, *HUB_ERRORS) as err:  # type: ignore[misc]  # a starred tuple of exception types
        raise BaseReleaseError(f"cannot read the base release {location}: {err}") from err
    if location.is_tag and location.revision != f"v{manifest.version}":
        raise BaseReleaseError(f"the base {location} holds a manifest of version {manifest.version}")
    return BaseRelease(location, manifest, files)


def check_newer(version: str, base: BaseRelease) -> None:
    if version_key(version) <= version_key(base.version):
        raise UsageError(f"version {version} must be newer than the base release's {base.version}")


def row_digest(row: dict[str, Any]) -> bytes:
    """What 'unchanged' means for a row: every column equal, whatever their order."""
    return hashlib.sha256(orjson.dumps(row, option=orjson.OPT_SORT_KEYS)).digest()


@dataclass
class _BaseShard:
    entry: dict[str, Any]
    file: Path
    number: int
    arrow_bytes: int
    rows: int
    claimed: set[int] = field(default_factory=set)

    @property
    def kept(self) -> bool:
        return len(self.claimed) == self.rows


class ShardReuse:
    """One config's base shards, matched against the rows of the new build as they stream by.

    Only ids and row digests of the base are held in memory; rows of a shard that is not
    kept are read back from its file at the end.
    """

    def __init__(self, base: BaseRelease, config: str, on_table: Callable[[str, pa.Table], None] | None = None) -> None:
        """``on_table`` is called with each base shard's path and its rows, as checked: a
        build counts the statistics of the shards it may keep there, instead of reading them again."""
        self.shards: list[_BaseShard] = []
        self.ledger: Ledger = []
        self._index: dict[str, list[tuple[int, int, bytes]]] = {}
        for position, entry in enumerate(base.manifest.configs.get(config, {}).get("shards", [])):
            file, table = base.shard_table(entry)
            if on_table is not None:
                on_table(entry["path"], table)
            self._add_shard(file, table, entry, position)

    def _add_shard(self, file: Path, table: pa.Table, entry: dict[str, Any], position: int) -> None:
        number = _SHARD_NUMBER.search(entry["path"])
        shard_index = len(self.shards)
        self.shards.append(
            _BaseShard(entry, file, int(number[1]) if number else position, table.nbytes, table.num_rows)
        )
        for row_index, row in enumerate(table.to_pylist()):
            self._index.setdefault(row["id"], []).append((shard_index, row_index, row_digest(row)))
            self.ledger.append((row["id"], row["source"]))

    @property
    def next_number(self) -> int:
        """New shards are numbered after every base shard, kept or not."""
        return max((shard.number for shard in self.shards), default=-1) + 1

    def claim(self, row: dict[str, Any]) -> bool:
        """True if an unchanged copy of ``row`` sits in a base shard (which may then be kept)."""
        digest = row_digest(row)
        for shard_index, row_index, base_digest in self._index.get(row["id"], ()):
            claimed = self.shards[shard_index].claimed
            if base_digest == digest and row_index not in claimed:
                claimed.add(row_index)
                return True
        return False

    def rescued_rows(self) -> Iterator[dict[str, Any]]:
        """Rows claimed from base shards that are not kept: they go into new shards."""
        for shard in self.shards:
            if shard.kept or not shard.claimed:
                continue
            rows = pq.read_table(shard.file).to_pylist()
            yield from (rows[i] for i in sorted(shard.claimed))

    def copy_kept(self, root: Path) -> list[ShardInfo]:
        """Copy every kept shard into the release being built, same path, same bytes."""
        kept = []
        for shard in self.shards:
            if not shard.kept:
                continue
            target = root.joinpath(*shard.entry["path"].split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shard.file, target)
            e = shard.entry
            kept.append(ShardInfo(e["path"], e["rows"], e["bytes"], e["sha256"], shard.arrow_bytes))
        return kept


def changelog(base: Ledger, new: Ledger) -> dict[str, list[str]]:
    """Ids added, removed and changed (edited in place) from ``base`` to ``new``; see the module doc."""
    base_ids = {row_id for row_id, _ in base}
    new_ids = {row_id for row_id, _ in new}
    base_at = {source: row_id for row_id, source in base}
    edits = [
        (row_id, base_at[source])
        for row_id, source in new
        if source in base_at and base_at[source] != row_id and row_id not in base_ids
    ]
    changed = {new_id for new_id, _ in edits}
    edited_away = {old_id for _, old_id in edits}
    return {
        "added": sorted(new_ids - base_ids - changed),
        "removed": sorted(base_ids - new_ids - edited_away),
        "changed": sorted(changed),
    }

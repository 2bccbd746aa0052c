"""Write rows of one config into deterministic Parquet shards.

Same rows in, same bytes out: the Arrow schema is explicit (``FEATURES``), the writer
options are fixed and nothing time- or machine-dependent is written, so rebuilding a
release reproduces every shard and a repeated push uploads nothing. Shard names carry
their sequence number (row order) and a prefix of their sha256 (immutability).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chat_dataset_baseline import FEATURES, SPLIT
from chatcorpus.release import DEFAULT_SHARD_ROWS
from chatcorpus.validation.records import ROW_FIELDS, RowValues

#: Rows per shard: small enough that a config has several shards to spread over
#: data-parallel ranks and streaming workers, big enough to compress well.
#: Rows per row group: the unit a streaming load reads and yields at a time.
ROW_GROUP_ROWS = 1000
_SCHEMA = FEATURES.arrow_schema  # with the ``huggingface`` metadata, so plain Parquet loads get FEATURES back
assert tuple(_SCHEMA.names) == ROW_FIELDS, "records.ROW_FIELDS must list FEATURES' columns in order"
_WRITE_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "row_group_size": ROW_GROUP_ROWS,
    "use_dictionary": ["language", "category"],
    "write_statistics": False,  # per-page min/max of long texts cost bytes and are never used
    "store_schema": True,
    # the offset index: readers (the dataset viewer, DuckDB, pyarrow) seek to a page without scanning
    "write_page_index": True,
}


def _content_defined_chunking() -> dict[str, Any]:
    """Page boundaries chosen by content (pyarrow >= 21, as ``datasets`` writes since 4.x),
    so an edited shard shares its unchanged pages byte for byte with the previous version
    and the Hub's Xet storage uploads only the changed ones. Probed, not assumed: on an
    older pyarrow the shards are written as before, still deterministic."""
    try:
        parameters = inspect.signature(pq.ParquetWriter.__init__).parameters
    except (TypeError, ValueError):  # a compiled signature that cannot be read: do not guess
        return {}
    return {"use_content_defined_chunking": True} if "use_content_defined_chunking" in parameters else {}


_WRITE_OPTIONS.update(_content_defined_chunking())


@dataclass(frozen=True)
class ShardInfo:
    """A written shard, as the manifest records it."""

    path: str  # relative to the release root, with "/" separators
    rows: int
    bytes: int
    sha256: str
    arrow_bytes: int  # in-memory size, what the card's dataset_info calls num_bytes

    def manifest_entry(self) -> dict[str, Any]:
        return {"path": self.path, "rows": self.rows, "bytes": self.bytes, "sha256": self.sha256}


def shard_folder(config: str) -> str:
    return f"data/{config}"


def table_from_rows(rows: list[dict[str, Any]]) -> pa.Table:
    return table_from_values([tuple(row[name] for name in ROW_FIELDS) for row in rows])


def table_from_values(rows: list[RowValues] | list[tuple[Any, ...]]) -> pa.Table:
    """A shard's table from its rows' values (``ROW_FIELDS`` order): one ``zip`` turns the
    rows into columns, and each column is converted to Arrow once."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(ROW_FIELDS)
    return pa.Table.from_arrays(
        [pa.array(column, type=field.type) for column, field in zip(columns, _SCHEMA, strict=True)], schema=_SCHEMA
    )


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **_WRITE_OPTIONS)
    return sink.getvalue().to_pybytes()


class ShardWriter:
    """Collects one config's rows and writes a shard every ``shard_rows`` rows.

    Only one shard's rows are held at a time, so memory follows the shard size, not
    the size of the corpus.
    """

    def __init__(
        self,
        root: Path,
        config: str,
        shard_rows: int = DEFAULT_SHARD_ROWS,
        first_number: int = 0,
        on_shard: Callable[[ShardInfo, pa.Table], None] | None = None,
    ) -> None:
        self.root = root
        self.config = config
        self.shard_rows = shard_rows
        self.first_number = first_number  # after the base release's shards, in an incremental build
        #: called with each shard written and the table it was written from (a build counts its
        #: statistics there, instead of reading the shard back)
        self.on_shard = on_shard
        self.shards: list[ShardInfo] = []
        self._rows: list[RowValues] = []

    def add(self, row: dict[str, Any]) -> None:
        """A row as a dict by column name (an incremental build compares rows as dicts)."""
        self.add_values(tuple(row[name] for name in ROW_FIELDS))

    def add_values(self, values: RowValues) -> None:
        """A row as its values in ``ROW_FIELDS`` order (``records.row_values``)."""
        self._rows.append(values)
        if len(self._rows) >= self.shard_rows:
            self._flush()

    def close(self) -> list[ShardInfo]:
        if self._rows:
            self._flush()
        return self.shards

    def _flush(self) -> None:
        table = table_from_values(self._rows)
        self._rows = []
        self.shards.append(self.write_table(table))

    def write_table(self, table: pa.Table) -> ShardInfo:
        """Write ``table`` as the next shard (its name: sequence number and sha256 prefix)."""
        data = parquet_bytes(table)
        digest = hashlib.sha256(data).hexdigest()
        relative = (
            f"{shard_folder(self.config)}/{SPLIT}-{self.first_number + len(self.shards):05d}-{digest[:8]}.parquet"
        )
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        info = ShardInfo(relative, table.num_rows, len(data), digest, table.nbytes)
        if self.on_shard is not None:
            self.on_shard(info, table)
        return info


#: The columns a ``DeferredShardWriter`` fills in last: alpaca-zh's link to its original.
LINK_FIELDS = ("translation_of", "translation_kind")
#: (``translation_of``, ``translation_kind``) by a row's ``source``
Translations = Mapping[str, tuple[str, str]]


class DeferredShardWriter:
    """A ``ShardWriter`` for rows whose translation link is not known yet.

    ``build --jobs`` aligns alpaca-zh with alpaca-en in a second process while this one
    validates the configs, and alpaca-zh is validated first (duplicates are decided in
    config order). Its rows wait here, a shard's worth at a time in an uncompressed Arrow
    IPC file under ``spill`` (not in memory: memory follows the shard size), until
    ``close`` fills in the links and writes the shards, byte for byte the shards the
    ``ShardWriter`` writes when the links are known up front.
    """

    def __init__(self, writer: ShardWriter, spill: Path) -> None:
        self._writer = writer
        self._path = spill / f"{writer.config}.arrow"
        self._sink: pa.ipc.RecordBatchFileWriter | None = None
        self._rows: list[RowValues] = []

    def add_values(self, values: RowValues) -> None:
        """A row as ``records.row_values`` gives it, with the link left empty."""
        self._rows.append(values)
        if len(self._rows) >= self._writer.shard_rows:
            self._spill()

    def _spill(self) -> None:
        if self._sink is None:
            self._sink = pa.ipc.new_file(str(self._path), _SCHEMA)
        self._sink.write_batch(table_from_values(self._rows).combine_chunks().to_batches()[0])
        self._rows = []

    def close(self, translations: Translations) -> list[ShardInfo]:
        """Write the shards, each row linked as ``translations`` says (unlinked when absent)."""
        if self._rows:
            self._spill()
        if self._sink is None:
            return self._writer.close()
        self._sink.close()
        with pa.memory_map(str(self._path)) as source:
            reader = pa.ipc.open_file(source)
            for number in range(reader.num_record_batches):
                table = pa.Table.from_batches([reader.get_batch(number)], _SCHEMA)
                self._writer.shards.append(self._writer.write_table(_linked(table, translations)))
        self._path.unlink()
        return self._writer.shards


def _linked(table: pa.Table, translations: Translations) -> pa.Table:
    links = [translations.get(source, ("", "")) for source in table.column("source").to_pylist()]
    for position, name in enumerate(LINK_FIELDS):
        index = _SCHEMA.get_field_index(name)
        table = table.set_column(index, _SCHEMA.field(index), pa.array([link[position] for link in links], pa.string()))
    return table

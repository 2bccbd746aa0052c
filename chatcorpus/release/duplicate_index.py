"""The duplicate index every release ships: per config, each row's id and near-duplicate key.

``validate --against`` checks a pull request's files for duplicates of a published
release without downloading or reading its shards: ``index/<config>.parquet`` holds,
per row, the record id (the exact-duplicate key), a 64-bit hash of the near-duplicate key
the validator compares (``validate.near_duplicate_key``), and the row's source file and
record index (so a changed file can replace its earlier version, and a fault can name the
record it repeats). About 20 bytes a row; listed and verified in the manifest like a shard.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from chatcorpus.validation.textstats import string_array
from chatcorpus.validation.validate import AcceptedRecord

INDEX_KIND = "index"
INDEX_SCHEMA = pa.schema(
    [
        pa.field("id", pa.uint64(), nullable=False),
        pa.field("near", pa.uint64(), nullable=False),
        pa.field("file", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("record", pa.int32(), nullable=False),
    ]
)
#: Deterministic bytes (same rows, same file) and small: ids are random, so zstd gains
#: little on them, but the file names compress to their dictionary.
_WRITE_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 3, "write_statistics": False}


def index_path(config: str) -> str:
    return f"index/{config}.parquet"


def near_hash(key: str) -> int:
    """A stable 64-bit hash of a near-duplicate key (Python's own ``hash`` changes every run).

    xxh3: a well-kept, fast non-cryptographic hash; a collision only ever produces a
    duplicate warning, never a rejection.
    """
    return xxhash.xxh3_64_intdigest(key.encode("utf-8", "surrogatepass"))


class IndexWriter:
    """Collects one config's accepted records in the order a build writes them.

    In typed arrays (8 bytes an id, not a Python int of 36 and a list slot of 8), so the
    index of a large corpus held until the end of its build costs ~24 bytes a row.
    """

    def __init__(self) -> None:
        self._ids = array("Q")
        self._near = array("Q")
        self._file_numbers = array("i")
        self._files: dict[str, int] = {}  # file -> number, in order of first appearance
        self._records = array("i")

    def add(self, file: str, accepted: AcceptedRecord) -> None:
        self.add_file(file, [accepted])

    def add_file(self, file: str, accepted: list[AcceptedRecord]) -> None:
        """A file's accepted records, in the order they are written."""
        self._ids.extend([int(record.id, 16) for record in accepted])
        self._near.extend([near_hash(record.near_key) for record in accepted])
        if accepted:
            self._file_numbers.extend([self._files.setdefault(file, len(self._files))] * len(accepted))
        self._records.extend([record.index for record in accepted])

    def __len__(self) -> int:
        return len(self._ids)

    def to_parquet(self) -> bytes:
        files = pa.DictionaryArray.from_arrays(
            _from_buffer(pa.int32(), self._file_numbers), pa.array(list(self._files), pa.string())
        )
        table = pa.table(
            [
                _from_buffer(pa.uint64(), self._ids),
                _from_buffer(pa.uint64(), self._near),
                files,
                _from_buffer(pa.int32(), self._records),
            ],
            schema=INDEX_SCHEMA,
        )
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, **_WRITE_OPTIONS)
        return sink.getvalue().to_pybytes()


@dataclass(frozen=True)
class ConfigIndex:
    """One config's index, read back: Arrow arrays, looked up in bulk (hash tables built in C++)."""

    config: str
    ids: pa.Array
    near: pa.Array
    files: pa.DictionaryArray
    records: pa.Array

    def __len__(self) -> int:
        return len(self.ids)

    def without_files(self, files: set[str]) -> ConfigIndex:
        """The index without the rows of ``files``: those files are being replaced."""
        if not files or not len(self):
            return self
        names = [name for name in sorted(files) if _encodes(name)]  # an index holds UTF-8 names only
        dropped = pc.is_in(self.files.dictionary, value_set=string_array(names))
        keep = pc.invert(pc.take(dropped, self.files.indices))
        return ConfigIndex(
            self.config,
            self.ids.filter(keep),
            self.near.filter(keep),
            self.files.filter(keep),
            self.records.filter(keep),
        )

    def find(self, column: str, keys: list[int]) -> list[int | None]:
        """For each key, the position of a row holding it in ``column`` (``id`` or ``near``), or None."""
        if not keys or not len(self):
            return [None] * len(keys)
        value_set = self.ids if column == "id" else self.near
        return pc.index_in(_uint64_array(keys), value_set=value_set).to_pylist()

    def place(self, position: int) -> tuple[str, int]:
        """The source file and record index of a row."""
        file = self.files.dictionary[self.files.indices[position].as_py()].as_py()
        return file, self.records[position].as_py()


def _from_buffer(kind: pa.DataType, values: array[int]) -> pa.Array:
    """An Arrow array over a typed array's bytes (its item size is checked, not assumed)."""
    assert values.itemsize * 8 == kind.bit_width, (values.typecode, kind)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def _uint64_array(values: list[int]) -> pa.Array:
    """Built from a buffer: ``pa.array`` on a list first asks pandas (importing it) whether it is a pandas object."""
    return pa.Array.from_buffers(pa.uint64(), len(values), [None, pa.py_buffer(np.array(values, dtype=np.uint64))])


def _encodes(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_index(data: bytes, config: str, where: str) -> ConfigIndex:
    """Read an index file of a release (already checked against the manifest's sha256).

    A release is input like any other: an index with another schema is refused with a
    located error, not read into wrong places.
    """
    from chatcorpus.release.against import refuse

    try:
        # ParquetFile, not read_table: the latter goes through pyarrow.dataset, which imports pandas
        names = pq.ParquetFile(pa.BufferReader(data)).schema_arrow.names
        if sorted(names) != sorted(INDEX_SCHEMA.names):
            refuse(f"{where}: not a duplicate index (columns {', '.join(names)})")
        table = pq.ParquetFile(pa.BufferReader(data), read_dictionary=["file"]).read()
    except (pa.ArrowException, OSError) as err:
        refuse(f"{where}: not a readable Parquet file: {err}")
    if not table.schema.equals(INDEX_SCHEMA, check_metadata=False):
        refuse(f"{where}: not a duplicate index (schema {table.schema.to_string()!r})")
    ids, near, files, records = (table.column(name).combine_chunks() for name in INDEX_SCHEMA.names)
    try:
        files.validate(full=True)  # indices inside the dictionary
    except pa.ArrowInvalid as err:
        refuse(f"{where}: {err}")
    return ConfigIndex(config, ids, near, files, records)

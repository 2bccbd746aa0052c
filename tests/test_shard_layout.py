"""Shards carry the Parquet page index and content-defined page boundaries where pyarrow has them."""

from __future__ import annotations

import io
import random

import pyarrow.parquet as pq
import pytest
from conftest import good_record

from chatcorpus.release import shards
from chatcorpus.validation.records import to_row


def _table(edited: int | None = None):  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    rows = []
    for n in range(3000):
        record = good_record(n)
        record["output"] = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "风", "雨"]) for _ in range(60))
        if n == edited:
            record["output"] += " an edit"
        rows.append(to_row(record, f"{n:016x}", "en", "alpaca", f"a.json:{n}"))
    return shards.table_from_rows(rows)


def test_shards_have_an_offset_index_for_every_column() -> None:
    metadata = pq.ParquetFile(io.BytesIO(shards.parquet_bytes(_table()))).metadata
    for group in range(metadata.num_row_groups):
        for column in range(metadata.num_columns):
            assert metadata.row_group(group).column(column).has_offset_index


def test_content_defined_chunking_is_used_exactly_when_pyarrow_offers_it(monkeypatch: pytest.MonkeyPatch) -> None:
    offered = "use_content_defined_chunking" in (pq.ParquetWriter.__doc__ or "")
    assert ("use_content_defined_chunking" in shards._WRITE_OPTIONS) == offered
    assert shards._content_defined_chunking() == ({"use_content_defined_chunking": True} if offered else {})

    class OldWriter:  # what pyarrow < 21 looks like to the probe
        def __init__(self, where: str, schema: object, compression: str = "snappy") -> None: ...

    monkeypatch.setattr(shards.pq, "ParquetWriter", OldWriter)
    assert shards._content_defined_chunking() == {}


def test_an_edited_shard_is_still_deterministic_and_differs_only_where_edited() -> None:
    assert shards.parquet_bytes(_table(1500)) == shards.parquet_bytes(_table(1500))
    assert shards.parquet_bytes(_table(1500)) != shards.parquet_bytes(_table())

"""The build's fast paths give what the plain paths give: rows as tuples, shards from
them, the duplicate index a file at a time, and the errors-only validator that picks the
alignment's originals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import good_record

from chat_dataset_baseline import FEATURES
from chatcorpus.release import shards
from chatcorpus.release.duplicate_index import IndexWriter
from chatcorpus.validation.faults import Severity
from chatcorpus.validation.records import ROW_FIELDS, row_values, to_row
from chatcorpus.validation.sources import scan_config
from chatcorpus.validation.validate import AcceptedRecord, Validator


def _hostile_records() -> list[dict[str, Any]]:
    """Texts a row must carry unchanged: empty, huge, astral, NUL-free control-looking, long history."""
    return [
        good_record(0),
        {"instruction": "", "input": "", "output": ""},
        {"instruction": "x" * 200_000, "output": "😀\u200b\ufeff" * 1000, "system": "be brief"},
        {"instruction": "q", "output": "a", "history": [["u1", "a1"], ["", ""], ["用户" * 50, "助手"]]},
        {"instruction": "q", "output": "a", "history": []},
        {"instruction": "\\u0000 is text here", "output": "\r\n\t", "input": "🀄" * 3},
    ]


def test_row_fields_are_the_features_in_order() -> None:
    assert tuple(FEATURES) == ROW_FIELDS


def test_to_row_is_row_values_by_name() -> None:
    for n, record in enumerate(_hostile_records()):
        values = row_values(record, f"{n:016x}", "en", "alpaca", f"a.json#{n}", ("ffff", "translated"))
        row = to_row(record, f"{n:016x}", "en", "alpaca", f"a.json#{n}")
        assert dict(zip(ROW_FIELDS, values, strict=True)) == {
            **row,
            "translation_of": "ffff",
            "translation_kind": "translated",
        }
        assert row["translation_of"] == row["translation_kind"] == ""


def _rows() -> list[dict[str, Any]]:
    records = _hostile_records() * 700  # several row groups
    return [to_row(r, f"{n:016x}", "en" if n % 3 else "zh", "alpaca", f"d/a.json#{n}") for n, r in enumerate(records)]


def test_a_shard_from_row_values_is_byte_identical_to_one_from_row_dicts() -> None:
    rows = _rows()
    by_name = pa.Table.from_pydict({name: [row[name] for row in rows] for name in ROW_FIELDS}, FEATURES.arrow_schema)
    values = shards.table_from_values([tuple(row[name] for name in ROW_FIELDS) for row in rows])
    assert values.equals(by_name) and values.schema.equals(by_name.schema, check_metadata=True)
    assert shards.parquet_bytes(values) == shards.parquet_bytes(by_name)
    assert shards.table_from_rows(rows).equals(by_name)


def test_an_empty_table_has_the_schema() -> None:
    assert shards.table_from_values([]).schema.equals(FEATURES.arrow_schema, check_metadata=True)


def test_shard_writer_takes_dicts_and_values_alike(tmp_path: Path) -> None:
    rows = _rows()
    one, two = (
        shards.ShardWriter(tmp_path / "1", "alpaca-en", 1000),
        shards.ShardWriter(tmp_path / "2", "alpaca-en", 1000),
    )
    for row in rows:
        one.add(row)
        two.add_values(tuple(row[name] for name in ROW_FIELDS))  # type: ignore[arg-type]
    first, second = one.close(), two.close()
    assert first == second and len(first) == 5
    for info in first:
        assert (tmp_path / "1" / info.path).read_bytes() == (tmp_path / "2" / info.path).read_bytes()


def test_index_add_file_equals_adding_one_record_at_a_time() -> None:
    accepted = [AcceptedRecord(i * 3, {}, f"{(i * 7919) % 2**64:016x}", "en", f"key {i} é") for i in range(50)]
    one, batch = IndexWriter(), IndexWriter()
    for record in accepted:
        one.add("alpaca-en/a b.json", record)
    batch.add_file("alpaca-en/a b.json", accepted[:20])
    batch.add_file("alpaca-en/a b.json", [])
    batch.add_file("alpaca-en/a b.json", accepted[20:])
    assert one.to_parquet() == batch.to_parquet() and len(batch) == 50


@pytest.fixture
def faulty_english(write_source: Callable[..., Path]) -> Path:
    """Errors (empty text, control characters, a schema fault, exact duplicates across files)
    and warnings only (near duplicates, leftover markers) mixed in two files."""
    a = [
        good_record(1),
        {"instruction": "  ", "output": "x"},
        {"instruction": "bell\x07", "output": "x"},
        {"instruction": "q", "output": 3},
        good_record(1),  # exact duplicate: an error
        {"instruction": "Question 1: WHY is the sky blue?", "output": "Answer 1: air scatters blue light more."},
        {"instruction": "<noinput>", "output": "fine"},
    ]
    b = [
        good_record(1),
        good_record(2),
        {"instruction": "question 2: why is the sky blue", "output": "Answer 2: air scatters blue light more"},
    ]
    return write_source({"alpaca-en/a.json": a, "alpaca-en/b.json": b})


def test_errors_only_accepts_exactly_what_every_rule_accepts(faulty_english: Path) -> None:
    refs = scan_config(faulty_english, "alpaca-en").refs
    full, errors_only = Validator(thorough=True), Validator(errors_only=True)
    saw_warning = False
    for ref in refs:
        everything, errors = full.check(ref), errors_only.check(ref)
        assert [r.index for r in errors.accepted] == [r.index for r in everything.accepted]
        assert [r.id for r in errors.accepted] == [r.id for r in everything.accepted]
        assert errors.rejected == everything.rejected
        assert [f for f in everything.faults if f.is_error] == errors.faults
        saw_warning |= any(f.severity is Severity.WARNING for f in everything.faults)
    assert saw_warning  # the fixture holds warnings the errors-only validator leaves out

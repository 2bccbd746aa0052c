"""The build's fast paths give what the plain paths give: rows as tuples, shards from
them, the duplicate index a file at a time, and the errors-only validator that picks the
alignment's originals."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from alignment_fixtures import generate
from conftest import good_record

from chat_dataset_baseline import FEATURES
from chatcorpus.release import build, duplicate_index, shards
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.duplicate_index import INDEX_SCHEMA, IndexWriter, near_hash, read_index
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
    """4,200 rows, five row groups (and five 1,000-row shards), each group holding every hostile record.

    The 200 kB record comes once per row group, not in every seventh row: 700 copies made each
    of the four tables a test holds 140 MB, and the suite peaked over 1 GB here.
    """
    hostile = _hostile_records()
    huge = max(range(len(hostile)), key=lambda k: len(str(hostile[k])))
    records = []
    for n in range(700 * len(hostile)):
        k = n % len(hostile)
        if k == huge and n % shards.ROW_GROUP_ROWS >= len(hostile):
            k = 0  # the first whole cycle of each row group keeps the huge record
        records.append(hostile[k])
    return [to_row(r, f"{n:016x}", "en" if n % 3 else "zh", "alpaca", f"d/a.json#{n}") for n, r in enumerate(records)]


def test_the_rows_cover_several_row_groups_each_with_the_huge_record() -> None:
    rows = _rows()
    huge = [n for n, row in enumerate(rows) if len(row["instruction"]) >= 200_000]
    assert len(rows) == 700 * len(_hostile_records()) and [n // shards.ROW_GROUP_ROWS for n in huge] == [0, 1, 2, 3, 4]


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


def test_index_add_file_equals_adding_one_record_at_a_time_and_a_table_of_lists() -> None:
    files = ["alpaca-en/b b.json", "alpaca-en/a.json", "alpaca-en/b b.json", "alpaca-en/中文.json"]  # b comes back
    accepted = [
        [AcceptedRecord(i * 3, {"instruction": f"q {i} é{f}", "output": "a"}, "en", f"key {i} é{f}") for i in range(n)]
        for f, n in enumerate((20, 0, 13, 2**10))
    ]
    one, batch = IndexWriter(), IndexWriter()
    for file, records in zip(files, accepted, strict=True):
        batch.add_file(file, records)
        for record in records:
            one.add(file, record)
    rows = [(file, record) for file, records in zip(files, accepted, strict=True) for record in records]
    lists = pa.table(
        [
            pa.array([int(r.id, 16) for _, r in rows], pa.uint64()),
            pa.array([near_hash(r.near_key) for _, r in rows], pa.uint64()),
            pa.array([file for file, _ in rows], pa.string()).dictionary_encode(),
            pa.array([r.index for _, r in rows], pa.int32()),
        ],
        schema=INDEX_SCHEMA,
    )
    sink = pa.BufferOutputStream()
    pq.write_table(lists, sink, **duplicate_index._WRITE_OPTIONS)
    assert one.to_parquet() == batch.to_parquet() == sink.getvalue().to_pybytes()
    assert len(batch) == len(rows) and any(int(r.id, 16) >= 2**63 for _, r in rows)  # ids use all 64 bits
    back = read_index(batch.to_parquet(), "alpaca-en", "index/alpaca-en.parquet")
    assert back.place(20) == ("alpaca-en/b b.json", 0) and back.place(len(rows) - 1) == ("alpaca-en/中文.json", 3069)


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


def _release_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture
def aligned_source(write_source: Callable[..., Path]) -> Path:
    """Two aligned file pairs (links to find), a zh file with no range, an English file
    with a rejected record, duplicates across the two configs, and the other configs."""
    first, second = generate(31, n=90, untranslated=0.2), generate(32, n=40)
    english = [dict(r) for r in second.english]
    english[3]["output"] = ""  # rejected: never an original
    return write_source(
        {
            "alpaca-zh/alpaca_data-0-90-中文-已完成.json": first.chinese,
            "alpaca-en/alpaca_data-0-90-英文.json": first.english,
            "alpaca-zh/alpaca_data-90-130-中文.json": second.chinese + [first.english[0]],
            "alpaca-en/alpaca_data-90-130-英文.json": english,
            "alpaca-zh/no-range.json": [good_record(n, "zh") for n in range(7)],
            "chatglm-issues/代码问题.json": [good_record(n, "zh") for n in range(3, 9)],
            "prompts/identity.json": [{"instruction": "你是谁", "output": "我是NAME，由AUTHOR开发"}],
        }
    )


_ALIGN = build._translation_links


def _recording_pid(source: Path, disabled: tuple[str, ...]) -> Any:
    """The build's alignment, noting the process it ran in (module level: it is sent to the worker)."""
    Path(os.environ["ALIGNED_PID_FILE"]).write_text(str(os.getpid()))
    return _ALIGN(source, disabled)


@pytest.mark.parametrize("shard_rows", [7, 10_000])
def test_aligning_in_a_second_process_builds_the_same_release(
    aligned_source: Path, tmp_path: Path, shard_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    aligned_in: list[int] = []
    monkeypatch.setenv("ALIGNED_PID_FILE", str(tmp_path / "aligned-pid"))
    monkeypatch.setattr(build, "_translation_links", _recording_pid)
    releases = {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}" / "release"
        result = build_release(
            aligned_source,
            out,
            options=BuildOptions(progress=False, skip_invalid=True, shard_rows=shard_rows, jobs=jobs),
        )
        assert result.published
        releases[jobs] = (_release_bytes(out), [f.to_json() for f in result.faults], result.counts)
        aligned_in.append(int((tmp_path / "aligned-pid").read_text()))
    assert aligned_in[0] == os.getpid() != aligned_in[1]  # --jobs 2 aligned in a second process
    assert releases[1] == releases[2]
    files, faults, counts = releases[2]
    zh_shards = [name for name in files if name.startswith("data/alpaca-zh/")]
    assert len(zh_shards) == -(-counts["alpaca-zh"].written // shard_rows)
    assert not any(name.endswith(".arrow") for name in files)  # the spill stays out of the release
    linked = pq.read_table(pa.BufferReader(files[zh_shards[0]])).column("translation_of").to_pylist()
    assert any(linked)  # there were links to wait for
    assert any(f["rule"].startswith("align.") for f in faults)  # and the aligner's warnings were kept


def test_a_deferred_writer_writes_the_shards_a_writer_with_the_links_writes(tmp_path: Path) -> None:
    rows = [dict(row, language="zh") for row in _rows()]
    translations = {row["source"]: (f"{n:016x}", "translated") for n, row in enumerate(rows) if n % 3 == 0}
    direct = shards.ShardWriter(tmp_path / "direct", "alpaca-zh", 500)
    (tmp_path / "spill").mkdir()
    later = shards.DeferredShardWriter(shards.ShardWriter(tmp_path / "later", "alpaca-zh", 500), tmp_path / "spill")
    for row in rows:
        link = translations.get(row["source"], ("", ""))
        direct.add_values(tuple({**row, "translation_of": link[0], "translation_kind": link[1]}[n] for n in ROW_FIELDS))  # type: ignore[arg-type]
        later.add_values(tuple(row[n] for n in ROW_FIELDS))  # type: ignore[arg-type]
    written, deferred = direct.close(), later.close(translations)
    assert written == deferred and len(written) == -(-len(rows) // 500)
    for info in written:
        assert (tmp_path / "direct" / info.path).read_bytes() == (tmp_path / "later" / info.path).read_bytes()
    assert not list((tmp_path / "spill").iterdir())


def test_a_deferred_writer_with_no_rows_writes_no_shard(tmp_path: Path) -> None:
    later = shards.DeferredShardWriter(shards.ShardWriter(tmp_path, "alpaca-zh", 10), tmp_path)
    assert later.close({"x#0": ("a", "translated")}) == []
    assert not list(tmp_path.iterdir())

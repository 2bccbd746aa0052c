"""What a re-sealed release may hold that no build writes, and names that are markup to a reader.

The manifest's sha256 proves a shard is the one its publisher listed, not that ``build``
wrote it: a shard re-written with nulls or with strings that are not UTF-8, and then listed
with its true bytes, must be refused by every reader (``verify``, ``stats``, ``inspect``,
``build --base``, the verifying builder streaming or not) with a located error, never a
TypeError or UnicodeDecodeError. A card's YAML may share nodes (aliases) so that walking
it as a tree costs 10**n; a category (a file name) may be matplotlib mathtext.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import NEXT_VERSION
from hostile_release import (
    HOSTILE_TEXT,
    copy_release,
    first_shard,
    read_manifest,
    rewrite_shard,
    unsafe_output_lines,
    write_manifest,
)

from chat_dataset_baseline import ChatDatasetBaseline, ChatDatasetError, nesting_exceeds
from chatcorpus.cli import EXIT_OK, main
from chatcorpus.release.build import BuildOptions, build_release

CONFIG = "alpaca-zh"


def _broken_values(table: pa.Table, column: str, how: str) -> pa.Table:
    """``table`` with ``column`` made to hold what no build writes: nulls, or bytes that are not UTF-8."""
    index = table.schema.get_field_index(column)
    field = table.schema.field(index)
    if how == "null":
        values = pa.array([None if row % 2 else "x" for row in range(table.num_rows)], field.type)
    elif how == "not-utf8":
        values = pa.array([b"\xff\xfe not text"] * table.num_rows, pa.binary()).view(pa.string())
    elif how == "binary":  # Arrow checks UTF-8 only in string columns
        values = pa.array([b"\xff\xfe not text"] * table.num_rows, pa.binary())
    elif how == "list-view":  # a list type whose nulls the list walk would not see
        turns = pa.array([[{"user": None, "assistant": "a"}]] * table.num_rows, field.type)
        values = pa.ListViewArray.from_arrays(turns.offsets[:-1], pc.list_value_length(turns), turns.values)
    else:  # a null nested in the history's turns
        values = pa.array([[{"user": None, "assistant": "a"}]] * table.num_rows, field.type)
    return table.set_column(index, pa.field(column, values.type), values)


def _shard_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


BROKEN = [
    ("language", "null"),
    ("category", "null"),
    ("instruction", "not-utf8"),
    ("history", "turn-null"),
    ("system", "binary"),
    ("history", "list-view"),
]


@pytest.fixture(params=BROKEN, ids=[f"{column}-{how}" for column, how in BROKEN])
def resealed(request: pytest.FixtureRequest, demo_release: Path, tmp_path: Path) -> tuple[Path, str]:
    release = copy_release(demo_release, tmp_path / "release")
    column, how = request.param
    table = pq.read_table(release / first_shard(release, CONFIG)["path"])
    return release, rewrite_shard(release, CONFIG, _shard_bytes(_broken_values(table, column, how)))


@pytest.mark.parametrize("command", ["verify", "stats", "inspect"])
def test_commands_refuse_values_no_build_writes_naming_the_shard(
    resealed: tuple[Path, str], command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    release, shard_path = resealed
    assert main([command, str(release)]) != EXIT_OK
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert shard_path in out
    assert "holds nulls" in out or "Invalid UTF8" in out or "the schema says" in out
    assert "Traceback" not in out


def test_build_on_such_a_base_is_refused_as_a_damaged_base(
    resealed: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release, shard_path = resealed
    source = Path(__file__).resolve().parent.parent / "data"
    code = main(
        [
            "build",
            "--source",
            str(source),
            "--base",
            str(release),
            "--out",
            str(tmp_path / "next"),
            "--version",
            NEXT_VERSION,
        ]
    )
    err = capsys.readouterr().err
    assert code != EXIT_OK
    assert "is damaged" in err and shard_path in err


@pytest.mark.parametrize("streaming", [False, True], ids=["prepared", "streaming"])
def test_the_verifying_builder_refuses_them_with_a_chat_dataset_error(
    resealed: tuple[Path, str], streaming: bool, tmp_path: Path
) -> None:
    release, shard_path = resealed
    builder = ChatDatasetBaseline(config_name=CONFIG, data_source=str(release), cache_dir=str(tmp_path / "cache"))
    with pytest.raises(ChatDatasetError, match=shard_path):
        if streaming:
            list(builder.as_streaming_dataset(split="train"))
        else:
            builder.download_and_prepare()


# --- YAML that shares nodes -----------------------------------------------------------------


def _alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines)


def test_nesting_is_measured_once_per_shared_node() -> None:
    value = yaml.safe_load(_alias_bomb(12))  # 10**12 nodes as a tree, 12 lists as parsed
    assert not nesting_exceeds(value, 13) and nesting_exceeds(value, 12)  # the top mapping is a level too
    cycle: list[object] = []
    cycle.append(cycle)
    assert nesting_exceeds(cycle, 1_000)


def test_verify_reads_a_card_of_aliases_in_time_linear_in_its_text(
    demo_release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    card = release / "README.md"
    text = card.read_text(encoding="utf-8")
    card.write_text("---\n" + _alias_bomb(14) + "\n" + text[len("---\n") :], encoding="utf-8")
    main(["verify", str(release)])  # walked as a tree, its 10**14 nodes would take days: this returns at once
    assert "Traceback" not in capsys.readouterr().out


# --- names that are markup ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["$\\foo$", "$x^{" * 40 + "}" * 40 + "$", "$x$"])
def test_a_category_that_is_mathtext_is_drawn_as_text(name: str, write_source, tmp_path: Path) -> None:
    record = {"instruction": "What is two plus three, please?", "input": "", "output": "Two plus three is five."}
    source = write_source({f"chatglm-issues/{name}.json": [record]})
    result = build_release(source, tmp_path / "out", options=BuildOptions(progress=False))
    assert result.published


@pytest.mark.parametrize(("label", "text"), HOSTILE_TEXT, ids=[label for label, _ in HOSTILE_TEXT])
def test_stats_prints_a_hostile_language_inert(
    label: str, text: str, demo_release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    table = pq.read_table(release / first_shard(release, CONFIG)["path"])
    index = table.schema.get_field_index("language")
    table = table.set_column(index, table.schema.field(index), pa.array([text] * table.num_rows, pa.string()))
    rewrite_shard(release, CONFIG, _shard_bytes(table))
    main(["stats", str(release)])
    assert unsafe_output_lines(capsys.readouterr().out) == []


@pytest.mark.parametrize("field", ["config", "rule"])
def test_a_manifest_fault_entry_names_a_config_and_a_rule_id_or_is_refused(
    field: str, demo_release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    manifest = read_manifest(release)
    entry = {"config": CONFIG, "rule": "json.syntax", "severity": "error", "count": 1}
    entry[field] = "x\n::error title=pwn::injected"
    manifest["faults"] = [entry]
    write_manifest(release, manifest)
    assert main(["stats", str(release)]) != EXIT_OK
    assert "not a valid release manifest" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["5", "null", "true", "2001-12-14", "[1, 2]"])
def test_a_card_naming_configs_with_other_yaml_types_is_a_problem_not_a_crash(
    value: str, demo_release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    card = release / "README.md"
    body = card.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    in_path = value == "[1, 2]"
    name, path = (CONFIG, value) if in_path else (value, "x")
    header = f"configs: [{{config_name: {name}, data_files: [{{split: train, path: {path}}}]}}]"
    card.write_text(f"---\n{header}\n---\n{body}", encoding="utf-8")
    for command in ("verify", "inspect"):
        assert main([command, str(release)]) != EXIT_OK
        out = capsys.readouterr().out
        assert "is not a string" in out and "Traceback" not in out

"""build: deterministic shards, located faults, nothing silently dropped or half-published."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DATA, good_record

from chatcorpus.cli import main
from chatcorpus.errors import UsageError
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.manifest import Manifest

QUIET = BuildOptions(progress=False)


def _digests(release: Path) -> dict[str, str]:
    return {
        p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(release.rglob("*"))
        if p.is_file()
    }


def test_the_same_input_gives_byte_identical_releases(tmp_path: Path) -> None:
    first = build_release(DATA, tmp_path / "a" / "chat-dataset-baseline", options=QUIET)
    second = build_release(DATA, tmp_path / "b" / "chat-dataset-baseline", options=QUIET)
    assert first.published and second.published
    assert _digests(first.out) == _digests(second.out)
    assert any(path.endswith(".parquet") for path in _digests(first.out))


def test_a_build_in_another_process_with_another_hash_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    here = build_release(DATA, tmp_path / "a" / "chat-dataset-baseline", options=QUIET)
    there = tmp_path / "b" / "chat-dataset-baseline"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    command = [sys.executable, "-m", "chatcorpus.cli", "build", "--source", str(DATA), "--out", str(there), "--quiet"]
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    assert _digests(here.out) == _digests(there)


def test_shards_are_split_by_rows_in_source_order(tmp_path: Path, write_source: Callable[..., Path]) -> None:
    src = write_source({"alpaca-en/a.json": [good_record(n) for n in range(7)]})
    result = build_release(src, tmp_path / "out", options=BuildOptions(progress=False, shard_rows=3))
    shards = result.manifest.configs["alpaca-en"]["shards"]
    assert [s["rows"] for s in shards] == [3, 3, 1]
    assert [s["path"].split("/")[-1][:11] for s in shards] == ["train-00000", "train-00001", "train-00002"]


BAD_FILE = """[
  {"instruction": "好的问题", "input": "", "output": "好的回答"},
  {"instruction": "缺少输出", "input": ""},
  {"instruction": "错误类型", "output": ["不是字符串"]},
  {"instruction": "多余字段", "output": "回答", "answer": "多余"},
  {"instruction": "   ", "output": "空白的指令"},
  {"instruction": "历史格式", "output": "回答", "history": [["只有一半"]]},
]
"""


def _bad_source(write_source: Callable[..., Path]) -> Path:
    return write_source({"alpaca-zh/坏数据.json": BAD_FILE, "alpaca-zh/good.json": [good_record(1, "zh")]})


def test_every_rejected_record_is_located_to_line_column_and_field(
    tmp_path: Path, write_source: Callable[..., Path]
) -> None:
    result = build_release(_bad_source(write_source), tmp_path / "out", options=QUIET)
    located = {(f.line, f.column, f.rule, f.pointer) for f in result.error_faults}
    assert located == {
        (7, 65, "json.syntax", ""),  # the trailing comma
        (3, 3, "schema.required", ""),  # the record's opening brace
        (4, 27, "schema.type", "/output"),  # columns count characters, not UTF-8 bytes
        (5, 43, "schema.additionalProperties", "/answer"),
        (6, 4, "text.empty", "/instruction"),
        (7, 55, "schema.minItems", "/history/0"),
    }
    assert all(f.path == "alpaca-zh/坏数据.json" for f in result.error_faults)


def test_rejections_publish_nothing_by_default(tmp_path: Path, write_source: Callable[..., Path]) -> None:
    out = tmp_path / "out"
    result = build_release(_bad_source(write_source), out, options=QUIET)
    assert not result.published
    assert not out.exists()
    assert not list(tmp_path.glob(".out.staging-*"))
    assert result.rejects_path is not None and result.rejects_path.exists()


def test_skip_invalid_reconciles_rows_read_written_and_rejected(
    tmp_path: Path, write_source: Callable[..., Path]
) -> None:
    out = tmp_path / "out"
    result = build_release(_bad_source(write_source), out, options=BuildOptions(progress=False, skip_invalid=True))
    counts = result.counts["alpaca-zh"]
    assert result.published
    assert (counts.read, counts.written, counts.rejected) == (7, 2, 5)
    assert Manifest.read(out).configs["alpaca-zh"] == {
        **Manifest.read(out).configs["alpaca-zh"],
        "rows": 2,
        "rejected": 5,
    }
    rejects = [json.loads(line) for line in result.rejects_path.read_text(encoding="utf-8").splitlines()]
    assert {r["index"] for r in rejects if r["index"] is not None} == {1, 2, 3, 4, 5}
    report = result.rejects_path.read_text(encoding="utf-8")
    assert "坏数据.json" in report and "\\u" not in report


def test_a_rejected_rebuild_leaves_the_previous_release_untouched(
    tmp_path: Path, write_source: Callable[..., Path]
) -> None:
    out = tmp_path / "out"
    build_release(DATA, out, options=QUIET)
    before = _digests(out)
    assert not build_release(_bad_source(write_source), out, options=QUIET).published
    assert _digests(out) == before


def test_build_refuses_to_replace_a_folder_that_is_not_a_release(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    with pytest.raises(UsageError, match="not a chat-dataset-baseline release"):
        build_release(DATA, out, options=QUIET)
    assert (out / "thesis.tex").exists()


def test_cli_build_exit_codes_and_chinese_reports(
    tmp_path: Path, write_source: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    src = _bad_source(write_source)
    assert main(["build", "--source", str(src), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "alpaca-zh/坏数据.json:3:3: schema.required" in captured.err
    assert "nothing written" in captured.err
    assert main(["build", "--source", str(src), "--out", str(tmp_path / "out"), "--quiet", "--skip-invalid"]) == 0
    assert "alpaca-zh" in capsys.readouterr().out
    assert main(["build", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert main(["build", "--source", str(src), "--out", str(tmp_path / "y"), "--version", "1.0", "--quiet"]) == 2


@pytest.mark.parametrize("text", ["", "{}", "not json at all"], ids=["empty", "object", "garbage"])
def test_a_file_that_yields_no_records_still_stops_the_release(
    tmp_path: Path, write_source: Callable[..., Path], text: str
) -> None:
    src = write_source({"alpaca-en/good.json": [good_record(1)], "alpaca-en/broken.json": text})
    out = tmp_path / "out"
    result = build_release(src, out, options=QUIET)
    assert not result.published and not out.exists()
    assert [f.path for f in result.error_faults] == ["alpaca-en/broken.json"]
    report = result.rejects_path.read_text(encoding="utf-8")
    assert "alpaca-en/broken.json" in report
    assert build_release(src, out, options=BuildOptions(progress=False, skip_invalid=True)).published


def test_versions_must_be_ascii_x_y_z(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="X.Y.Z"):
        build_release(DATA, tmp_path / "out", options=BuildOptions(progress=False, version="².0.0"))

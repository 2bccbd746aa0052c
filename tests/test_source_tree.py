"""Nothing under a source root is skipped silently, and odd names and encodings get a located fault.

A misspelled config folder, a file with another suffix, a link leading out of the root
and a file name that is not UTF-8 are each an error naming the entry (with a "did you
mean" where a config is close); the records of such entries are never published.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import good_record

from chatcorpus.cli import main
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.validation.validate import validate_paths

GBK_NAME = "中文数据".encode("gbk") + b".json"


def _records(*numbers: int) -> str:
    return json.dumps([good_record(n, "zh") for n in numbers], ensure_ascii=False)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A source root with one of each layout fault beside a clean config."""
    root = tmp_path / "src"
    for relative, numbers in {
        "alpaca-zh/good.json": (0, 1),
        "alpaca_zh/typo.json": (2,),
        "Alpaca-ZH/shout.json": (3,),
        "extras/other.json": (4,),
        "alpaca-zh/upper.JSON": (5,),
        "stray.json": (6,),
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_records(*numbers), encoding="utf-8")
    (root / "alpaca-zh" / "notes.txt").write_text("not records")
    outside = tmp_path / "private.json"
    outside.write_text(_records(7))
    (root / "alpaca-zh" / "linked.json").symlink_to(outside)
    (root / "alpaca-zh" / "inside.json").symlink_to(root / "alpaca-zh" / "good.json")
    os.makedirs(root / "chatglm-issues")
    (Path(os.fsdecode(bytes(root / "chatglm-issues"))) / os.fsdecode(GBK_NAME)).write_text(_records(8))
    return root


def _layout(faults) -> dict[str, tuple[str, str]]:
    return {f.path: (f.rule, f.message) for f in faults if f.rule.startswith("file.")}


def test_every_entry_not_read_is_a_located_error(tree: Path) -> None:
    report = validate_paths([tree])
    layout = _layout(report.faults)
    prefix = f"{tree}/"
    assert layout[prefix + "alpaca_zh/"][0] == "file.unknown-folder"
    assert "did you mean alpaca-zh?" in layout[prefix + "alpaca_zh/"][1]
    assert "did you mean alpaca-zh?" in layout[prefix + "Alpaca-ZH/"][1]
    assert "did you mean" not in layout[prefix + "extras/"][1]
    assert layout[prefix + "alpaca-zh/upper.JSON"] == ("file.unexpected-suffix", "is not read: rename it to upper.json")
    assert layout[prefix + "alpaca-zh/notes.txt"][0] == "file.unexpected-suffix"
    assert layout[prefix + "alpaca-zh/linked.json"][0] == "file.outside-link"
    assert layout[prefix + "stray.json"][0] == "file.outside-config"
    gbk = prefix + "chatglm-issues/" + GBK_NAME.decode("utf-8", "backslashreplace")
    assert layout[gbk][0] == "file.name-not-utf8" and "中文数据" in layout[gbk][1]
    assert all(f.is_error and f.line == 0 for f in report.faults if f.rule.startswith("file."))


def test_a_link_out_of_the_root_is_never_read(tree: Path) -> None:
    read = {f.path for f in validate_paths([tree]).faults}
    assert not any("private" in path for path in read)
    build = build_release(tree, tree.parent / "out" / "r", options=BuildOptions(progress=False, skip_invalid=True))
    # good.json and its in-root link (the same file, read once) and the GBK-named file are read
    assert build.counts["alpaca-zh"].read == 2 and build.counts["alpaca-zh"].written == 2
    assert build.counts["chatglm-issues"].read == 1 and build.counts["chatglm-issues"].written == 0


def test_a_layout_fault_stops_the_build_unless_asked(tree: Path) -> None:
    out = tree.parent / "out" / "release"
    result = build_release(tree, out, options=BuildOptions(progress=False))
    assert not result.published and not out.exists()
    assert {"file.unknown-folder", "file.unexpected-suffix", "file.outside-link"} <= {
        f.rule for f in result.error_faults
    }


def test_validate_and_json_report_survive_a_name_that_is_not_utf8(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tree), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert any(f["rule"] == "file.name-not-utf8" for f in report["faults"])


def test_a_clean_source_root_has_no_layout_fault(write_source) -> None:
    root = write_source({"alpaca-zh/a.json": [good_record(1, "zh")], "prompts/p.json": []})
    assert _layout(validate_paths([root]).faults) == {}

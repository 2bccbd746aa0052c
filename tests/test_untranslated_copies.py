"""translation.untranslated: alpaca-zh copies of their alpaca-en originals, reported once per file, not per record."""

from __future__ import annotations

import json
from pathlib import Path

from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.validation.untranslated import RULE, index_runs
from chatcorpus.validation.validate import validate_paths

ZH = "alpaca-zh/alpaca_data-0-6-中文-已完成.json"
EN = "alpaca-en/alpaca_data-0-6-英文.json"
OTHER_EN = "alpaca-en/alpaca_data-6-9-英文.json"


def _english(i: int) -> dict[str, str]:
    return {
        "instruction": f"Name a colour number {'I' * (i + 1)}.",
        "input": "",
        "output": f"Blue, shade {chr(97 + i)}.",
    }


def _tree(root: Path) -> Path:
    en = [_english(i) for i in range(6)]
    other = [_english(i) for i in range(6, 9)]
    zh = [
        {"instruction": "说出一种颜色。", "input": "", "output": "蓝色。"},
        en[1],  # untranslated copies of the same range's records
        en[2],
        {"instruction": "说出另一种颜色。", "input": "", "output": "红色。"},
        en[4],
        other[0],  # a copy of another range's record: a real duplicate
    ]
    for relative, records in {ZH: zh, EN: en, OTHER_EN: other}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return root


def test_copies_are_one_warning_per_file_and_real_duplicates_stay(tmp_path: Path) -> None:
    root = _tree(tmp_path / "src")
    faults = validate_paths([root], thorough=True).faults
    summaries = [f for f in faults if f.rule == RULE]
    assert len(summaries) == 1
    (summary,) = summaries
    assert (summary.path, summary.index) == (f"{root}/{ZH}", 1)
    assert summary.line == 7 and summary.severity.value == "warning"  # "[", record 0 on lines 2-6, record 1 from 7
    assert "3 record(s)" in summary.message and "records 1-2, 4" in summary.message and EN in summary.message
    cross = [(f.path, f.index) for f in faults if f.rule == "duplicate.cross-config"]
    assert cross == [(f"{root}/{OTHER_EN}", 0)]  # the other range's copy, reported on the later record
    assert not [f for f in faults if f.rule == "duplicate.near"]  # copies are duplicates, not near-duplicates
    # no Chinese: the copies' own language warnings are in the summary; the other range's copy keeps its own
    assert [f.index for f in faults if f.rule == "language.mismatch"] == [5]


def test_switched_off_they_are_duplicates_again(tmp_path: Path) -> None:
    root = _tree(tmp_path / "src")
    faults = validate_paths([root], disabled=[RULE]).faults
    assert not [f for f in faults if f.rule == RULE]
    assert [f.index for f in faults if f.rule == "language.mismatch"] == [1, 2, 4, 5]
    cross = sorted((f.path.rsplit("/", 1)[-1], f.index) for f in faults if f.rule == "duplicate.cross-config")
    assert cross == [
        (EN.rsplit("/", 1)[-1], 1),
        (EN.rsplit("/", 1)[-1], 2),
        (EN.rsplit("/", 1)[-1], 4),
        (OTHER_EN.rsplit("/", 1)[-1], 0),
    ]


def test_same_with_workers_and_in_build(tmp_path: Path) -> None:
    root = _tree(tmp_path / "src")
    single = [f for f in validate_paths([root]).faults if f.rule == RULE]
    assert [f for f in validate_paths([root], jobs=2).faults if f.rule == RULE] == single
    result = build_release(root, tmp_path / "out", options=BuildOptions(progress=False))
    built = [f for f in result.faults if f.rule == RULE]
    assert [(f.path, f.line, f.message) for f in built] == [
        (ZH, single[0].line, single[0].message.replace(f"{root}/", ""))
    ]


def test_a_file_without_a_range_has_no_copies(tmp_path: Path) -> None:
    root = _tree(tmp_path / "src")
    (root / ZH).rename(root / "alpaca-zh" / "colours.json")
    faults = validate_paths([root]).faults
    assert not [f for f in faults if f.rule == RULE]
    assert len([f for f in faults if f.rule == "duplicate.cross-config"]) == 4


def test_index_runs() -> None:
    assert index_runs([]) == []
    assert index_runs([3]) == ["3"]
    assert index_runs([0, 1, 2, 5, 7, 8]) == ["0-2", "5", "7-8"]


def test_against_a_release_the_given_files_are_summarized_too(tmp_path: Path, capsys) -> None:
    from chatcorpus.cli import main

    published = tmp_path / "published"
    (published / "chatglm-issues").mkdir(parents=True)
    (published / "chatglm-issues" / "a.json").write_text(
        json.dumps([{"instruction": "什么是递归？", "output": "函数调用自身。"}], ensure_ascii=False), encoding="utf-8"
    )
    assert build_release(published, tmp_path / "release", options=BuildOptions(progress=False)).published
    root = _tree(tmp_path / "src")
    main(["validate", str(root), "--against", str(tmp_path / "release"), "--format", "json"])
    faults = json.loads(capsys.readouterr().out)["faults"]
    assert [f["index"] for f in faults if f["rule"] == RULE] == [1]
    assert [f["index"] for f in faults if f["rule"] == "duplicate.cross-config"] == [0]

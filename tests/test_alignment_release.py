"""The link in a release, and the align and coverage commands, on generated trees."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import datasets
import pytest
from alignment_fixtures import Tree, generate

from chatcorpus.cli import main
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.validation.records import content_id
from chatcorpus.validation.rules import RULES

N = 120
ZH = f"alpaca-zh/alpaca_data-0-{N}-中文-wys未完成.json"
EN = f"alpaca-en/alpaca_data-0-{N}-英文.json"
EN_UNTOUCHED = f"alpaca-en/alpaca_data-{N}-{N + 30}-英文.json"


@pytest.fixture
def tree() -> Tree:
    return generate(21, n=N, untranslated=0.2, duplicate=0.0)


@pytest.fixture
def source(write_source: Callable[..., Path], tree: Tree) -> Path:
    extra = generate(22, n=30).english
    return write_source({ZH: tree.chinese, EN: tree.english, EN_UNTOUCHED: extra})


def test_every_alpaca_zh_row_names_a_published_english_row(source: Path, tree: Tree, tmp_path: Path) -> None:
    out = tmp_path / "release" / "chat-dataset-baseline"
    result = build_release(source, out, options=BuildOptions(progress=False))
    assert result.published
    zh = datasets.load_dataset(str(out), "alpaca-zh", split="train", cache_dir=str(tmp_path / "c"))
    en = datasets.load_dataset(str(out), "alpaca-en", split="train", cache_dir=str(tmp_path / "c"))
    english_ids = set(en["id"])
    right = 0
    for row in zh:
        k = int(row["source"].rsplit("#", 1)[1])
        if row["translation_of"]:
            assert row["translation_of"] in english_ids
            assert row["translation_kind"] in ("translated", "untranslated")
        else:
            assert row["translation_kind"] == ""
        original = tree.truth[k]
        if original is not None and row["translation_of"] == content_id(tree.english[original]):
            right += 1
            copy = tree.chinese[k] == tree.english[original]
            assert row["translation_kind"] == ("untranslated" if copy else "translated")
    assert right >= 0.98 * sum(t is not None for t in tree.truth)
    assert set(en["translation_of"]) == {""}
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "## Translation coverage" in card
    assert f"| 0-{N} | {N} |" in card and "| unfinished | wys |" in card
    assert f"| {N}-{N + 30} | 30 | 0 | 0 | 30 | missing | - |" in card


def test_a_link_never_names_an_english_record_the_release_rejects(
    write_source: Callable[..., Path], tree: Tree, tmp_path: Path
) -> None:
    english = [dict(r) for r in tree.english]
    english[5]["output"] = ""  # rejected by the build: an empty output
    source = write_source({ZH: tree.chinese, EN: english})
    out = tmp_path / "release"
    assert build_release(source, out, options=BuildOptions(progress=False, skip_invalid=True)).published
    zh = datasets.load_dataset(str(out), "alpaca-zh", split="train", cache_dir=str(tmp_path / "c"))
    en_ids = set(datasets.load_dataset(str(out), "alpaca-en", split="train", cache_dir=str(tmp_path / "c"))["id"])
    assert content_id(english[5]) not in en_ids
    assert all(t in en_ids for t in zh["translation_of"] if t)


def test_align_prints_one_json_line_per_alpaca_zh_record(
    source: Path, tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["align", str(source), "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["zh"] for line in lines] == [f"{ZH}#{k}" for k in range(len(tree.chinese))]
    for line in lines:
        assert set(line) == {"zh", "en", "score"}
        assert line["en"] is None or (line["en"].startswith(EN + "#") and 0 <= line["score"] <= 1)


def test_align_text_puts_the_least_certain_pairs_first(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["align", str(source), "--format", "text"]) == 0
    pair_lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith(" ")]
    linked = [
        float(line.split()[0]) for line in pair_lines if " -> " in line and not line.split("->")[1].startswith("  -")
    ]
    assert linked == sorted(linked) and linked


def test_align_warns_located_and_exits_0(write_source: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    source = write_source({"alpaca-zh/no-range.json": generate(3, n=5).chinese})
    assert main(["align", str(source)]) == 0
    captured = capsys.readouterr()
    assert "alpaca-zh/no-range.json:0:0: align.no-range" in captured.err
    assert all(json.loads(line)["en"] is None for line in captured.out.splitlines())


def test_align_refuses_a_folder_without_alpaca_configs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["align", str(tmp_path)]) == 2
    assert "alpaca-zh" in capsys.readouterr().err


def test_coverage_lists_every_english_range(source: Path, tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", str(source), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["range"] for row in rows] == [f"0-{N}", f"{N}-{N + 30}"]
    first = rows[0]
    assert first["records"] == N and first["status"] == "unfinished" and first["initials"] == "wys"
    assert first["translated"] + first["untranslated"] + first["skipped"] == N
    copies = sum(1 for k, t in enumerate(tree.truth) if t is not None and tree.chinese[k] == tree.english[t])
    assert abs(first["untranslated"] - copies) <= 1
    assert rows[1] | {} == {**rows[1], "translated": 0, "untranslated": 0, "skipped": 30, "status": "missing"}


def test_coverage_text_is_a_table(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", str(source)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["range", "records", "translated", "untranslated", "skipped", "status", "translator"]
    assert lines[1].split()[0] == f"0-{N}" and lines[1].split()[-2:] == ["unfinished", "wys"]


# --- the align.* rules are rules like the others: listed, in SARIF's metadata, switched off by --disable ---

ALIGN_RULES = ("align.no-range", "align.missing-original", "align.overlapping-range")


def test_the_align_rules_are_listed_with_their_severity(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--list-rules"]) == 0
    listed = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert {rule: listed.get(rule) for rule in ALIGN_RULES} == dict.fromkeys(ALIGN_RULES, "warning")


def test_sarif_describes_the_align_rules(write_source: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    source = write_source({"alpaca-en/a.json": generate(4, n=3).english})
    assert main(["validate", str(source), "--format", "sarif"]) == 0
    rules = {rule["id"]: rule for rule in json.loads(capsys.readouterr().out)["runs"][0]["tool"]["driver"]["rules"]}
    for rule in ALIGN_RULES:
        assert rules[rule]["defaultConfiguration"]["level"] == "warning"
        assert rules[rule]["fullDescription"]["text"] == RULES[rule].summary and "no" in RULES[rule].summary


def test_disable_switches_an_align_warning_off_in_build_and_align(
    write_source: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = generate(5, n=20, duplicate=0.0)
    source = write_source({"alpaca-zh/no-range-中文.json": tree.chinese, EN.replace(str(N), "20"): tree.english})
    out = tmp_path / "release"

    def rules(disabled: list[str]) -> set[str]:
        result = build_release(source, out, options=BuildOptions(disabled_rules=disabled, progress=False))
        return {fault.rule for fault in result.faults if fault.rule.startswith("align.")}

    assert rules([]) == {"align.no-range"} and rules(["align.no-range"]) == set()
    assert main(["align", str(source), "--disable", "align.no-range"]) == 0
    assert "align.no-range" not in capsys.readouterr().err
    assert main(["align", str(source), "--disable", "json.syntax"]) == 2  # not an align rule
    assert "not an align rule: json.syntax" in capsys.readouterr().err

"""Cleaning, script and normalization rules: each fires on what it names and not on its look-alikes."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatcorpus.cli import main
from chatcorpus.validation.cleaning import (
    MAX_REPETITION_RATIO,
    repetition_candidates,
    repetition_ratio,
    special_ratio,
    special_ratios,
)
from chatcorpus.validation.normalize import duplicate_keys, to_simplified
from chatcorpus.validation.script import traditional_in
from chatcorpus.validation.validate import validate_paths


def _faults(
    tmp_path: Path, files: dict[str, list[dict[str, str]]], disabled: tuple[str, ...] = (), thorough: bool = True
) -> list:
    for relative, records in files.items():
        path = tmp_path / "src" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return validate_paths([tmp_path / "src"], disabled=disabled, thorough=thorough).faults


def _rules_by_record(faults: list, prefix: str) -> dict[int | None, set[str]]:
    found: dict[int | None, set[str]] = {}
    for fault in faults:
        if fault.rule.startswith(prefix):
            found.setdefault(fault.index, set()).add(fault.rule)
    return found


def test_duplicate_keys_fold_unicode_forms_width_and_script() -> None:
    nfc = "Café au lait, 12 cups."
    keys = duplicate_keys(
        pa.array(
            [
                nfc,
                unicodedata.normalize("NFD", nfc),
                "Ｃａｆé au lait，１２ cups．",  # full-width letters, digits and punctuation
                "漢語與資訊",
                "汉语与资讯",
                "91-33=",
                "91-34=",
            ]
        )
    )
    assert keys[0] == keys[1] == keys[2]
    assert keys[3] == keys[4]
    assert keys[5] != keys[6]


def test_a_traditional_nfd_or_full_width_copy_is_a_normalized_duplicate_naming_the_first(tmp_path: Path) -> None:
    original = {"instruction": "请解释资讯科学。", "output": "资讯科学研究信息的处理与传播，也叫信息科学。"}
    traditional = {"instruction": "請解釋資訊科學。", "output": "資訊科學研究信息的處理與傳播，也叫信息科學。"}
    english = {"instruction": "Describe a café", "output": "A café serves coffee: 1 cup or 2."}
    nfd = {"instruction": unicodedata.normalize("NFD", "Describe a café"), "output": english["output"]}
    wide = {"instruction": "Describe a café", "output": "A café serves coffee： １ cup or ２．"}
    faults = _faults(tmp_path, {"alpaca-zh/a.json": [original, traditional], "alpaca-en/b.json": [english, nfd, wide]})
    normalized = [f for f in faults if f.rule == "duplicate.normalized"]
    assert sorted((Path(f.path).name, f.index) for f in normalized) == [("a.json", 1), ("b.json", 1), ("b.json", 2)]
    assert all(f"{Path(f.path).name} record 0" in f.message for f in normalized)


# Traditional characters (some beyond the BMP), their Simplified forms, kana, Latin and one that t2s keeps
_SCRIPT_MIX = "靜資訊學與傳體們𠁞𡞵安静信息学与传体们あア aZ 後后"


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(alphabet=_SCRIPT_MIX, max_size=60))
def test_the_traditional_characters_of_a_text_are_those_t2s_changes_each_on_its_own(text: str) -> None:
    """Asked once per distinct character, the same list as one OpenCC call per character."""
    assert traditional_in(text) == [char for char in text if to_simplified(char) != char]


def test_traditional_script_is_a_warning_in_simplified_configs_only(tmp_path: Path) -> None:
    records = [
        {"instruction": "对失眠者有何建议？", "output": "保持安靜的睡觉环境。"},  # one Traditional character
        {
            "instruction": "翻译成日语：漫长的一天",
            "output": "長い一日です。",
        },  # Japanese kanji, not Traditional Chinese
        {"instruction": "写一句话", "output": "今天天气很好。"},
    ]
    faults = _faults(tmp_path, {"alpaca-zh/a.json": records, "alpaca-en/b.json": records})
    traditional = [f for f in faults if f.rule == "script.traditional"]
    assert [(Path(f.path).parent.name, f.index, f.pointer) for f in traditional] == [("alpaca-zh", 0, "/output")]
    assert "靜" in traditional[0].message and "静" in traditional[0].message
    assert traditional[0].severity == "warning"


CLEANING_CASES = [
    # (record, the cleaning rule it must raise, or None for a look-alike that must raise none)
    (
        {
            "instruction": "Should I invest in stocks?",
            "output": "It depends on your situation.\n##\n18. Instruction: Identify the noun.\n18. Input:\nThe apple.",
        },
        "clean.merged-instruction",
    ),
    ({"instruction": "列出步骤", "output": "先洗手。\n11.输入：苹果"}, "clean.merged-instruction"),
    ({"instruction": "List three steps.", "output": "1. Wash.\n2. Cut.\n3. Serve."}, None),
    (
        {
            "instruction": "Summarize the article.",
            "input": "https://www.bbc.com/news/world-51461830",
            "output": "x y z",
        },
        "clean.url-only-input",
    ),
    ({"instruction": "Is this URL valid?", "input": "see https://example.com for more", "output": "Yes."}, None),
    ({"instruction": "Create a graphic or logo that represents courage.", "output": "A lion."}, "clean.media-request"),
    ({"instruction": "设计一个传达耐心的标志。", "output": "一只乌龟。"}, "clean.media-request"),
    ({"instruction": "Generate a caption for an image of a dog.", "output": "A happy dog."}, None),
    ({"instruction": "Write Python code to draw a logo with turtle.", "output": "import turtle"}, None),
    ({"instruction": "Find the bug in this function.", "input": "def f(): pass", "output": "N/A"}, "clean.na-output"),
    ({"instruction": "这个词适用于哪些场合？", "output": "不适用"}, "clean.na-output"),
    ({"instruction": "What does NA stand for in chemistry?", "output": "Sodium (Na)."}, None),
    ({"instruction": "Rewrite the following code.", "output": "Here it is."}, "clean.empty-code"),
    ({"instruction": "Write a function.", "output": "Here:\n```python\n```"}, "clean.empty-code"),
    (
        {"instruction": "Rewrite the following code.", "input": "x = 1", "output": "x: int = 1"},
        None,
    ),
    ({"instruction": "Repeat after me.", "input": "Hello there", "output": " hello there "}, "clean.echo"),
    ({"instruction": "Correct the grammar.", "input": "He go home", "output": "He goes home."}, None),
]


@pytest.mark.parametrize(("record", "rule"), CLEANING_CASES)
def test_each_cleaning_rule_fires_on_its_fault_and_not_on_the_look_alike(
    tmp_path: Path, record: dict[str, str], rule: str | None
) -> None:
    config = (
        "alpaca-zh" if any("\u4e00" <= c <= "\u9fff" for c in json.dumps(record, ensure_ascii=False)) else "alpaca-en"
    )
    found = _rules_by_record(_faults(tmp_path, {f"{config}/a.json": [record]}), "clean.")
    assert found.get(0, set()) == ({rule} if rule else set())


def test_cleaning_rules_are_located_and_can_be_switched_off(tmp_path: Path) -> None:
    records = [{"instruction": "Summarize it.", "input": "http://x.example/a", "output": "Done."}]
    faults = _faults(tmp_path, {"alpaca-en/a.json": records})
    (fault,) = [f for f in faults if f.rule == "clean.url-only-input"]
    text = (tmp_path / "src" / "alpaca-en" / "a.json").read_text(encoding="utf-8")
    input_line = next(number for number, line in enumerate(text.splitlines(), 1) if '"input"' in line)
    assert (fault.line, fault.pointer, fault.severity) == (input_line, "/input", "warning")
    assert not [
        f
        for f in _faults(tmp_path, {"alpaca-en/a.json": records}, ("clean.url-only-input",))
        if f.rule == "clean.url-only-input"
    ]


def test_repetition_ratio_follows_data_juicers_definition() -> None:
    assert repetition_ratio("abc") == 0.0  # no window at all
    assert repetition_ratio("0123456789abcdefghij") == 0.0  # every window once
    # 20 copies of one 10-character window: the top √N windows take all of them
    assert repetition_ratio("x" * 29) == 1.0
    prose = "The quick brown fox jumps over the lazy dog while the cat sleeps in the warm sun."
    assert repetition_ratio(prose) < MAX_REPETITION_RATIO
    # data-juicer takes the top √(distinct windows): a long period spreads over many windows
    assert repetition_ratio("Sorry, I cannot. " * 30) < MAX_REPETITION_RATIO
    assert repetition_ratio("哈" * 40) == 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab漢 \n", max_size=120), min_size=1, max_size=30))
def test_the_repetition_prefilter_never_misses_a_record_the_rule_flags(texts: list[str]) -> None:
    candidates = repetition_candidates(pa.array(texts, pa.string()))
    for text, candidate in zip(texts, candidates, strict=True):
        if repetition_ratio(text) > MAX_REPETITION_RATIO:
            assert candidate, text


def test_special_ratio_per_record_equals_the_column_kernel() -> None:
    texts = ["#" * 60, "价格：¥1,299！" * 6, "plain words " * 10, "★☆" * 30 + "abc", "short 1+1"]
    column = special_ratios(pa.array(texts))
    assert [round(special_ratio(t), 6) for t in texts] == [round(float(r), 6) for r in column]
    assert column[0] == 1.0 and column[2] == 0.0 and column[4] == 0.0  # short texts are not judged


def test_ratio_rules_fire_in_validate(tmp_path: Path) -> None:
    records = [
        {"instruction": "Laugh.", "output": "哈" * 80},
        {"instruction": "Symbols", "output": "#$%^&*()!@" * 8},
        {"instruction": "Explain rain.", "output": "Rain falls when water vapour condenses into drops heavy enough."},
    ]
    found = _rules_by_record(_faults(tmp_path, {"alpaca-en/a.json": records}), "quality.")
    assert found == {0: {"quality.char-repetition"}, 1: {"quality.special-characters"}}
    assert not _rules_by_record(_faults(tmp_path, {"alpaca-en/a.json": records}, thorough=False), "quality.")


def test_list_rules_shows_the_new_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--list-rules"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert {"clean.merged-instruction", "clean.echo", "quality.char-repetition", "script.traditional"} <= listed

"""validate's fast path finds exactly the faults of its exact path, on generated hostile files.

The fast path skips work a whole file proves unnecessary: the per-record schema check
when ``msgspec`` accepts every record (``typed_records``), and a lint rule's check on the
records its pre-filter or screen leaves out. The exact path checks every record with
every rule (no pre-filters) and names schema violations record by record. A screen
that misses what its rule flags, or a typed check that accepts what the schema refuses,
makes the two reports differ here.

Each file is a clean Alpaca-like corpus with faults of one rule (or of all of them)
planted at random records; some files are written with ``\\uXXXX`` escapes, CRLF line
ends, a BOM or as JSON Lines, and some are left clean.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_schema_parity import records as schema_records

from chatcorpus.validation import cleaning, multiscan, rules, validate
from chatcorpus.validation.locate import pointer_offsets
from chatcorpus.validation.normalize import _HAN_BLOCKS, NFKC_STABLE, nfkc, to_simplified, traditional_counts
from chatcorpus.validation.positions import array_separators, element_span
from chatcorpus.validation.records import content_key
from chatcorpus.validation.rules import RULES, UNICODE_SPACE
from chatcorpus.validation.schema_check import schema_problems
from chatcorpus.validation.textstats import narrow_forms, string_array, to_mask
from chatcorpus.validation.typed_records import exact_key, exact_keys, typed_records
from chatcorpus.validation.validate import validate_paths

Record = dict[str, Any]
#: One way to break a record per rule: it changes the record in place (a record of ``config``).
_PLANTS: dict[str, Callable[[Record, random.Random], None]] = {
    "text.empty": lambda r, rng: r.update(output=rng.choice(["", "   ", "\u3000\n", "\x1c\x85", "\u2028"])),
    "text.control-character": lambda r, rng: r.update(input=r.get("input", "") + rng.choice("\x00\x07\x1b\x7f")),
    "placeholder.outside-prompts": lambda r, rng: r.update(
        output=_text(r, "output") + rng.choice([" NAME", "AUTHOR.", "由AUTHOR开发", "😀NAME"])
    ),
    "language.mismatch": lambda r, rng: r.update(instruction="请把这句话翻译成中文", input="", output="好的这是中文"),
    "text.leftover-marker": lambda r, rng: r.update(
        input=rng.choice(
            [
                "<noinput>",
                "< No Output >",
                "<NOINPUT>",
                "<\u3000noinput>",
                "<\x0bno input>",
                "<\u2029NoInput>",
                "<\x85nOoutput>",
            ]
        )
    ),
    "clean.merged-instruction": lambda r, rng: r.update(
        output=_text(r, "output")
        + rng.choice(
            [
                "\n##\n18. Instruction: do",
                "\n\u3000１８. Input: x",
                "\n\x0b7. ınstruction: x",
                "\n3、输出：",
                "\n\u2028٣\u3000.\u3000OUTPUT\u3000：",
                "\n#\x85\n9．指令:",
            ]
        )
    ),
    "clean.url-only-input": lambda r, rng: r.update(
        input=rng.choice(
            [
                " https://example.com/a ",
                "<www.x.org>",
                "\u3000http://x.y\u3000",
                "\x0bwww.a.b",
                "HTTP\u017f://x.y",
                "<WWW.😀.org>\u2028",
            ]
        )
    ),
    "clean.media-request": lambda r, rng: r.update(
        instruction=rng.choice(
            ["Draw a picture of a red cat", "draw an ımage of it", "画一张图片", "生成画draw a logo"]
        )
    ),
    "clean.na-output": lambda r, rng: r.update(
        output=rng.choice(
            [
                "N/A",
                " n / a. ",
                "Not applicable",
                "不适用。",
                "\u3000N/A",
                "not applıcable",
                "n\x0b/a",
                "N\u2028/\u2028A",
                "NOT APPLİCABLE",
            ]
        )
    ),
    "clean.empty-code": lambda r, rng: r.update(
        rng.choice(
            [
                {"output": "```python\n```"},
                {"output": "```日本\n```"},
                {"output": "```\u3000```"},
                {"output": "```c++\u2028```"},
                {"instruction": "Fix the following code:", "input": ""},
                {"instruction": "Fix the following code:\u3000", "input": "\u3000"},
                {"instruction": "解释以下代码\x0b", "input": " "},
            ]
        )
    ),
    "clean.echo": lambda r, rng: r.update(
        rng.choice(
            [
                {"input": "Same Words", "output": " same words "},
                {"input": "ΑΣ", "output": "ας"},
                {"input": "\u212a", "output": "k"},
                {"input": "İ", "output": "i\u0307"},
                {"input": "同样", "output": "同样\u3000"},
            ]
        )
    ),
    "script.traditional": lambda r, rng: r.update(
        output=_text(r, "output") + rng.choice(["這個問題很難", "\U00021ed5", "歲\U0002005e"])
    ),
    "schema.additionalProperties": lambda r, rng: r.update(answer="extra"),
    "schema.type": lambda r, rng: r.update(input=rng.choice([3, None, ["x"], {"a": "b"}])),
    "schema.required": lambda r, rng: r.pop("output", None),
    "schema.minItems": lambda r, rng: r.update(history=[["only user"]]),
    "schema.maxItems": lambda r, rng: r.update(history=[["u", "a", "x"]]),
    "quality.char-repetition": lambda r, rng: r.update(output="abcdefghijk " * 30),
    "quality.special-characters": lambda r, rng: r.update(output="!@#$%^&*()1234567890" * 4),
}


def _text(record: Record, name: str) -> str:
    value = record.get(name, "")
    return value if isinstance(value, str) else ""


_CONFIGS = ("alpaca-en", "alpaca-zh", "chatglm-issues", "prompts")


def _clean(rng: random.Random, config: str, n: int) -> Record:
    """A record no rule flags, of ``config``'s language, unique in the corpus."""
    if config == "alpaca-en":
        record: Record = {"instruction": f"Explain topic {n} briefly.", "output": f"Topic {n} is about {rng.random()}."}
    elif config == "prompts":
        record = {"instruction": f"你是谁？第{n}次", "output": f"我是 NAME，由 AUTHOR 开发。{n}"}
    else:
        record = {"instruction": f"请解释第{n}个话题。", "output": f"第{n}个话题是关于{rng.randint(0, 10**9)}的。"}
    if rng.random() < 0.3:
        record["input"] = f"context {n}" if config == "alpaca-en" else f"背景{n}"
    if rng.random() < 0.1:
        record["history"] = [[f"earlier {n}", f"answer {n}"]]
    return record


def _write(path: Path, records: list[Any], rng: random.Random) -> None:
    """One of the ways contributors write files: pretty, compact, escaped, CRLF, BOM, JSON Lines."""
    style = rng.choice(["pretty", "compact", "ascii", "crlf", "bom", "jsonl"])
    if style == "jsonl":
        path = path.with_suffix(".jsonl")
        text = "".join(json.dumps(record, ensure_ascii=rng.random() < 0.5) + "\n" for record in records)
    else:
        text = json.dumps(records, ensure_ascii=style == "ascii", indent=None if style == "compact" else 2)
        if style == "crlf":
            text = text.replace("\n", "\r\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if style == "bom" else b"") + text.encode("utf-8"))


def _corpus(root: Path, seed: int, rules_planted: list[str]) -> None:
    """Files of every config; each planted rule in some of them at random records, duplicates across them."""
    rng = random.Random(seed)
    counter = 0
    written: list[Record] = []
    for number in range(8):
        config = _CONFIGS[number % len(_CONFIGS)]
        records = []
        for _ in range(rng.randint(1, 40)):
            counter += 1
            records.append(_clean(rng, config, counter))
        if number % 3 != 2:  # every third file stays clean
            for _ in range(rng.randint(1, 4)):
                rule = rng.choice(rules_planted)
                _PLANTS[rule](rng.choice(records), rng)
        if written and rng.random() < 0.7:  # an exact copy, and one differing only in case and spacing
            records.insert(rng.randrange(len(records) + 1), dict(rng.choice(written)))
            copy = dict(rng.choice(written))
            copy["instruction"] = "  " + str(copy.get("instruction", "")).upper() + " "
            records.insert(rng.randrange(len(records) + 1), copy)
        written += [record for record in records if isinstance(record.get("instruction"), str)]
        _write(root / config / f"part-{number}.json", records, rng)


def _report(root: Path, thorough: bool) -> list[dict[str, Any]]:
    return [fault.to_json() for fault in validate_paths([root], thorough=thorough).faults]


def _exact_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every lint rule on every record, every record through the per-record schema check."""
    for rule_id, rule in list(RULES.items()):
        if rule.prefilter is not None:
            monkeypatch.setitem(RULES, rule_id, dataclasses.replace(rule, prefilter=None))
    monkeypatch.setattr(validate, "typed_records", lambda values: None)


@pytest.mark.parametrize("screen", ["hyperscan", "re2"])
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("planted", ["one rule", "every rule"])
def test_fast_and_exact_paths_report_the_same_faults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, planted: str, screen: str
) -> None:
    """On both screens of the screened pre-filters: Hyperscan's triggers (``multiscan``), and
    RE2's alternation where Hyperscan is not installed."""
    if screen == "hyperscan":
        pytest.importorskip("hyperscan")
    else:
        monkeypatch.setattr(multiscan, "trigger_scan", lambda triggers: None)
    rule_ids = sorted(_PLANTS)
    chosen = [rule_ids[(seed * 7 + (screen == "re2")) % len(rule_ids)]] if planted == "one rule" else rule_ids
    _corpus(tmp_path / "contrib", seed + 100 * (screen == "re2"), chosen)
    thorough = seed % 2 == 1
    fast = _report(tmp_path / "contrib", thorough)
    with monkeypatch.context() as patched:
        _exact_path(patched)
        exact = _report(tmp_path / "contrib", thorough)
    assert fast == exact
    assert fast  # the planted faults and duplicates are found at all


@pytest.mark.parametrize("rule_id", sorted(set(_PLANTS) - {"quality.char-repetition", "quality.special-characters"}))
def test_each_planted_fault_is_found(tmp_path: Path, rule_id: str) -> None:
    """The plants do plant their rule's fault, so the comparison above compares something."""
    _corpus(tmp_path / "contrib", 99, [rule_id])
    assert rule_id in {fault["rule"] for fault in _report(tmp_path / "contrib", thorough=False)}


def test_the_lint_rules_are_all_planted() -> None:
    """A new lint rule must get a plant here, or its screen would go untested."""
    lint = {rule_id for rule_id, rule in RULES.items() if rule.check is not None}
    assert lint - set(_PLANTS) == {"placeholder.missing"}  # every prompts record is checked: no screen
    assert rules.RULES is RULES


# --- the typed schema: msgspec accepts exactly what the schema accepts ---------------------


@settings(max_examples=200, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(schema_records, max_size=3))
def test_typed_records_accept_exactly_the_files_the_schema_accepts(values: list[Any]) -> None:
    assert (typed_records(values) is not None) == all(not schema_problems(value) for value in values)


_valid = st.fixed_dictionaries(
    {"instruction": st.sampled_from(["a", "b"]), "output": st.sampled_from(["x", ""])},
    optional={
        "input": st.sampled_from(["", "i"]),
        "system": st.sampled_from(["", "s"]),
        "history": st.lists(st.lists(st.sampled_from(["u", "v"]), min_size=2, max_size=2), max_size=2),
    },
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(_valid, _valid)
def test_exact_keys_are_equal_exactly_when_the_content_is(first: Record, second: Record) -> None:
    typed = typed_records([first, second])
    assert typed is not None
    assert exact_keys(typed) == [exact_key(first), exact_key(second)]
    assert (exact_key(first) == exact_key(second)) == (content_key(first) == content_key(second))


_texts = st.text(st.sampled_from(["a", "Z", " ", "\n", "中", "漢", "，", "é", "\u3000", "😀", "\x00"]), max_size=6)
_valid_texts = st.fixed_dictionaries(
    {"instruction": _texts, "output": _texts},
    optional={
        "input": _texts,
        "system": _texts,
        "history": st.lists(st.lists(_texts, min_size=2, max_size=2), max_size=2),
    },
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(_valid_texts, max_size=5))
def test_the_text_frame_of_typed_records_is_that_of_the_dicts(values: list[Record]) -> None:
    """Columns read from ``Record``s (absent fields are their "" defaults) equal those read
    from the dicts, field by field, with the same history flags and languages."""
    typed = typed_records(values)
    assert typed is not None
    fast, exact = validate._text_frame(values, "alpaca-zh", typed), validate._text_frame(values, "alpaca-zh")
    assert {name: column.to_pylist() for name, column in fast.columns.items()} == {
        name: column.to_pylist() for name, column in exact.columns.items()
    }
    assert fast.has_history.tolist() == exact.has_history.tolist()
    assert fast.languages == exact.languages


# --- NFKC: the fast path (full-width forms narrowed, stable texts skipped) is utf8proc's ---------

#: Characters around every edge ``normalize.nfkc`` decides by: the stable blocks' ends and their
#: neighbours, the full-width forms and theirs, marks that combine or reorder, Hangul, kana.
_NFKC_EDGES = [
    *"aZ09 ,.\n\x00",
    *(chr(c) for c in (0x33FF, 0x3400, 0x4DBF, 0x4DC0, 0x4DFF, 0x4E00, 0x9FFF, 0xA000, 0xF900, 0xFA2E)),
    *(chr(c) for c in (0xFF00, 0xFF01, 0xFF0C, 0xFF21, 0xFF3F, 0xFF40, 0xFF41, 0xFF5E, 0xFF5F, 0xFF61, 0xFF9E)),
    *(chr(c) for c in (0x3000, 0x3001, 0x3003, 0x3004, 0x3005, 0x3011, 0x3012, 0x3013, 0x301F, 0x3020, 0x302A)),
    *(chr(c) for c in (0x2010, 0x2011, 0x2019, 0x2024, 0x2026, 0x2027, 0x2030, 0x2033, 0x0301, 0x0327, 0x3099)),
    *(chr(c) for c in (0x304B, 0x30AB, 0x1100, 0x1161, 0x11A8, 0xAC00, 0x00E9, 0x00B7, 0x2F800, 0x20000, 0x1F600)),
    *(chr(c) for c in (0x0B47, 0x0B3E, 0x0558, 0x209D)),  # a pair composing two starters; newer than Python's 14.0
]


@settings(max_examples=500, derandomize=True, deadline=None)
@given(st.lists(st.text(st.sampled_from(_NFKC_EDGES), max_size=10), max_size=10))
def test_nfkc_is_utf8proc_s_nfkc(texts: list[str]) -> None:
    column = string_array(texts)
    assert nfkc(column).to_pylist() == pc.utf8_normalize(column, "NFKC").to_pylist()


def test_the_nfkc_stable_characters_change_in_no_text() -> None:
    """Each is assigned (in Python's Unicode and so in utf8proc's newer one, where normalization is
    stable), decomposes to nothing, has combining class 0, is the second of no composition, and
    utf8proc leaves it alone; the full-width forms decompose to the ASCII ``narrow_forms`` writes."""
    import unicodedata

    seconds = set()
    for code in range(0x110000):
        decomposition = unicodedata.decomposition(chr(code))
        if decomposition and not decomposition.startswith("<") and len(decomposition.split()) == 2:
            seconds.add(int(decomposition.split()[1], 16))
    stable = [chr(code) for low, high in NFKC_STABLE for code in range(low, high + 1)]
    wrong = [
        char
        for char in stable
        if unicodedata.category(char) == "Cn"
        or unicodedata.decomposition(char)
        or unicodedata.combining(char)
        or ord(char) in seconds
        or 0x1100 <= ord(char) <= 0x11FF
    ]
    assert wrong == []
    assert pc.utf8_normalize(string_array(stable), "NFKC").to_pylist() == stable
    wide = [chr(code) for code in range(0xFF01, 0xFF5F)] + ["\u3000"]
    assert pc.utf8_normalize(string_array(wide), "NFKC").to_pylist() == narrow_forms(string_array(wide)).to_pylist()
    assert all(len(char.encode()) == 3 for char in stable)  # as ``outside_counts`` requires


def test_the_pre_filters_whitespace_is_what_str_strip_removes() -> None:
    every = [chr(code) for code in range(0x10000) if not 0xD800 <= code <= 0xDFFF]
    matched = to_mask(pc.match_substring_regex(string_array(every), f"^{UNICODE_SPACE}$"))
    assert [char for char, hit in zip(every, matched, strict=True) if hit] == [c for c in every if c.isspace()]


def test_every_traditional_character_of_the_bmp_is_in_the_table_s_blocks() -> None:
    """``traditional_counts`` looks BMP characters up in a table of the Han blocks only."""
    outside = [chr(code) for code in range(0x10000) if not 0xD800 <= code <= 0xDFFF and not _in_han_blocks(code)]
    outside = [char for char in outside if char != "\n"]
    converted = to_simplified("\n".join(outside)).split("\n")
    assert [char for char, simple in zip(outside, converted, strict=True) if char != simple] == []


def test_traditional_characters_beyond_the_bmp_are_counted() -> None:
    texts = string_array(["\U00021ed5", "岁", "歲\U0002005e😀", "", "\U00020000"])
    assert traditional_counts(texts).tolist() == [1, 0, 2, 0, 0]


def _in_han_blocks(code: int) -> bool:
    return any(low <= code <= high for low, high in _HAN_BLOCKS)


# --- placing a fault: the byte search over a flat record finds what the walk finds --------

_TRICKY = st.lists(
    st.sampled_from(['"', "\\", ":", '"output":', "input", " ", "{", "}", "é", "\n", "a"]), max_size=6
).map("".join)
_FLAT = st.fixed_dictionaries(
    {"instruction": _TRICKY, "output": _TRICKY},
    optional={"input": _TRICKY, "system": _TRICKY, "history": st.lists(st.lists(_TRICKY, min_size=2, max_size=2))},
)
_POINTERS = ["", "/instruction", "/output", "/input", "/system", "/history", "/history/0/1", "/answer"]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(_FLAT, min_size=1, max_size=3), st.booleans(), st.sampled_from([None, 1]), st.booleans())
def test_flat_records_are_placed_as_the_walk_places_them(
    records: list[Record], ascii_only: bool, indent: int | None, spaced: bool
) -> None:
    separators = (" , ", " : ") if spaced else None
    data = json.dumps(records, ensure_ascii=ascii_only, indent=indent, separators=separators).encode()
    separators_at = array_separators(data)
    for index in range(len(records)):
        span = element_span(data, separators_at, index)
        assert pointer_offsets(data, *span, _POINTERS, flat=True) == pointer_offsets(data, *span, _POINTERS)


#: Texts whose fault only Unicode classes and case folding see (an attacker's finds): the checks
#: keep Python's Unicode semantics, and their RE2 pre-filters (``rules.re2_twin``) must hand
#: them over. (record, rule, a fragment of the message)
_UNICODE_FAULTS = [
    ({"instruction": "Draw a café logo", "output": "ok"}, "clean.media-request", "café"),
    ({"instruction": "Ma\u212ae a logo", "output": "ok"}, "clean.media-request", "logo"),
    ({"instruction": "Create an ımage of a cat", "output": "ok"}, "clean.media-request", "ımage"),
    ({"instruction": "Explain the\u00a0code", "input": "", "output": "ok"}, "clean.empty-code", ""),
    ({"instruction": "Explain the café code", "input": "", "output": "ok"}, "clean.empty-code", ""),
    ({"instruction": "Fix it", "input": "```é\n```", "output": "ok"}, "clean.empty-code", "character 1"),
    ({"instruction": "do a\n1. In\u017ftruction: x", "output": "ok"}, "clean.merged-instruction", "character 5"),
    ({"instruction": "do a\n１. Instruction: x", "output": "ok"}, "clean.merged-instruction", "character 5"),
    ({"instruction": "do a\u3000\n1.\u3000Instruction: x", "output": "ok"}, "clean.merged-instruction", ""),
    ({"instruction": "Read it", "input": "http\u017f://x.org", "output": "ok"}, "clean.url-only-input", ""),
    ({"instruction": "Read it", "input": "\u3000https://x.org\u3000", "output": "ok"}, "clean.url-only-input", ""),
    ({"instruction": "Answer", "output": "\u3000n\u3000/\u3000a"}, "clean.na-output", ""),
    ({"instruction": "Answer", "output": "Not applıcable"}, "clean.na-output", ""),
    ({"instruction": "Hi", "input": "<\u3000noinput>", "output": "ok"}, "text.leftover-marker", ""),
    ({"instruction": "Hi", "input": "<noınput>", "output": "ok", "history": [["a", "b"]]}, "text.leftover-marker", ""),
    # the Hyperscan triggers' own near misses: Unicode spaces inside them, case variants, non-BMP text
    ({"instruction": "Hi", "input": "<\u2029NoOutput>", "output": "ok"}, "text.leftover-marker", ""),
    ({"instruction": "Read it", "input": "HTTP\u017f://😀.org\u2028", "output": "ok"}, "clean.url-only-input", ""),
    ({"instruction": "Answer", "output": "N\u2028/\u2028A"}, "clean.na-output", ""),
    ({"instruction": "Answer", "output": "NOT APPLİCABLE\u3000。"}, "clean.na-output", ""),
    ({"instruction": "do 😀\n\u3000٣\u3000.\u3000OUTPUT\u3000：x", "output": "ok"}, "clean.merged-instruction", ""),
    ({"instruction": "Fix it", "input": "𠀀```c++\u2028```", "output": "ok"}, "clean.empty-code", "character 2"),
    ({"instruction": "Hi", "input": "x", "output": "😀\x1b"}, "text.control-character", "U+001B"),
]


@pytest.mark.parametrize("path", ["fast", "fast, RE2 screen", "exact"])
def test_faults_only_unicode_classes_see_are_found_on_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    for number, (record, _, _) in enumerate(_UNICODE_FAULTS):
        (tmp_path / "alpaca-en").mkdir(exist_ok=True)
        (tmp_path / "alpaca-en" / f"case-{number}.json").write_text(json.dumps([record]), encoding="utf-8")
    if path == "exact":
        _exact_path(monkeypatch)
    elif path == "fast, RE2 screen":
        monkeypatch.setattr(multiscan, "trigger_scan", lambda triggers: None)
    found = _report(tmp_path, thorough=False)
    for number, (_, rule_id, fragment) in enumerate(_UNICODE_FAULTS):
        mine = [f for f in found if f["path"].endswith(f"case-{number}.json") and f["rule"] == rule_id]
        assert mine and fragment in mine[0]["message"], (number, rule_id, [f["rule"] for f in found])


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12))
@settings(max_examples=300, deadline=None)
def test_each_twin_pre_filter_matches_wherever_its_check_does(padding: str) -> None:
    """``re2_twin`` widens every atom: on texts built from each check's own match with hostile
    padding and letters swapped for their Unicode case variants, RE2 matches where Python does."""
    pairs = [
        (cleaning._MERGED, cleaning._MERGED_SCREEN, "x\n 12 . INPUT :"),
        (cleaning._URL_ONLY, cleaning._URL_ONLY_SCREEN, " <https://a.b> "),
        (cleaning._NA, cleaning._NA_SCREEN, " N / A. "),
        (cleaning._EMPTY_FENCE, cleaning._EMPTY_FENCE_SCREEN, "```py\n ```"),
    ]
    variants = str.maketrans({"i": "ı", "I": "İ", "s": "ſ", "k": "\u212a", " ": "\u3000", "1": "１"})
    for check, screen, base in pairs:
        for text in (base, base.translate(variants), padding + base, base.replace(" ", padding or " ")):
            if check.search(text) or (check.pattern.startswith("^") and check.match(text)):
                assert pc.match_substring_regex(pc.cast([text], "string"), screen)[0].as_py(), (check.pattern, text)

"""The screened pre-filters (one pass over a file's stacked text fields, then each pattern
on the rows it selects) select exactly the rows of one RE2 pass per pattern, on both
screens: Hyperscan's over the patterns' triggers (``multiscan``) and RE2's over their
alternation (the path where Hyperscan is not installed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatcorpus.validation import cleaning, multiscan
from chatcorpus.validation.rules import (
    SCREENED_PATTERNS,
    SCREENED_TRIGGERS,
    SCREENS,
    TEXT_FIELDS,
    Screen,
    TextFrame,
    re2_twin,
)
from chatcorpus.validation.textstats import string_array, to_mask

# what the screened patterns and their triggers look for, their near misses (Unicode
# spaces, full-width digits, case variants that fold to ASCII letters, non-BMP
# characters), and ordinary text
_PIECES = st.sampled_from(
    [
        "\x00",
        "\x07",
        "\x1f",
        "\x7f",
        "\t",
        "\n",
        "\r",
        "\x0b",
        "\x1c",
        "\x85",
        "\u00a0",
        "\u2028",
        "\u3000",
        "NAME",
        "AUTHOR",
        "NAMES",
        "xNAME",
        "名NAME",
        "<no",
        "< NO",
        "<\tnoinput>",
        "<\u3000ＮＯ",
        "<n",
        "no>",
        "https://",
        "HTTP\u017f://",
        "www.",
        "WwW.",
        "n/a",
        "N / A",
        "/",
        "a",
        "not applicable",
        "Applıcable",
        "APPLİCABLE",
        "不适用",
        "```",
        "``",
        "py",
        "İ",
        "ı",
        "\u212a",
        "\n12. ",
        "１８．",
        "３、",
        "#",
        "Instruction",
        "ınstructıon",
        "INPUT",
        "output",
        "指令",
        "输出",
        ":",
        "：",
        "汉字",
        "画一张图",
        "视频",
        "Draw an ımage",
        "LOGO",
        "poster",
        "the code",
        "SCRİPT",
        "代码",
        ".",
        "😀",
        "\U00020000",
        "ab",
        " ",
        "é",
    ]
)
_TEXT = st.lists(_PIECES, max_size=8).map("".join)


@contextmanager
def _re2_screen() -> Iterator[None]:
    """The path where Hyperscan is missing: RE2's alternation screens."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(multiscan, "trigger_scan", lambda triggers: None)
        yield


def _frame(rows: list[dict[str, str]]) -> TextFrame:
    columns = {name: pa.array([row[name] for row in rows], pa.string()) for name in TEXT_FIELDS}
    return TextFrame(columns, np.zeros(len(rows), dtype=bool), ["en"] * len(rows), "alpaca-en")


def _one_pass_per_pattern(frame: TextFrame) -> list[list[bool]]:
    """Per pattern, the rows where RE2 matches it in some field it reads (``any_column``, with the fields stacked)."""
    found = []
    for screen in SCREENS.values():
        fields = TEXT_FIELDS if screen.field is None else (screen.field,)
        texts = pa.concat_arrays([frame.columns[name] for name in fields])
        for pattern in screen.patterns:
            matched = to_mask(pc.match_substring_regex(texts, pattern))
            found.append(matched.reshape(len(fields), len(frame)).any(axis=0).tolist())
    return found


def _screened(frame: TextFrame) -> list[list[bool]]:
    return [frame.rare_matches(pattern).tolist() for screen in SCREENS.values() for pattern in screen.patterns]


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.fixed_dictionaries({name: _TEXT for name in TEXT_FIELDS}), min_size=1, max_size=6))
def test_rare_matches_selects_every_row_one_pass_per_pattern_selects(rows: list[dict[str, str]]) -> None:
    """RE2's screen selects exactly those rows; Hyperscan's triggers hold them (and may add a few)."""
    assert len(SCREENED_PATTERNS) >= 3
    expected = _one_pass_per_pattern(_frame(rows))
    with _re2_screen():
        assert _screened(_frame(rows)) == expected
    if multiscan.trigger_scan(tuple(SCREENED_TRIGGERS)) is not None:
        _assert_holds(_screened(_frame(rows)), expected)


def _assert_holds(selected: list[list[bool]], expected: list[list[bool]]) -> None:
    patterns = [pattern for screen in SCREENS.values() for pattern in screen.patterns]
    for pattern, chosen, wanted in zip(patterns, selected, expected, strict=True):
        missed = [row for row, (mine, theirs) in enumerate(zip(chosen, wanted, strict=True)) if theirs and not mine]
        assert not missed, (pattern, missed)


def test_the_triggers_compile_where_hyperscan_is_installed() -> None:
    pytest.importorskip("hyperscan")
    assert set(SCREENS) == {None, "instruction"}
    assert SCREENS[None].triggers is SCREENED_TRIGGERS and SCREENS[None].patterns is SCREENED_PATTERNS
    for screen in SCREENS.values():
        assert len(screen.triggers) == len(screen.patterns)
        assert multiscan.trigger_scan(tuple(screen.triggers)) is not None


def test_each_trigger_is_spelled_as_the_part_of_its_pattern_it_is() -> None:
    """Triggers are parts of their patterns, widened by the same ``re2_twin``; only N/A's takes
    a part of each alternative."""
    apart = [
        pattern
        for screen in SCREENS.values()
        for pattern, trigger in zip(screen.patterns, screen.triggers, strict=True)
        if trigger not in pattern
    ]
    assert apart == [cleaning._NA_SCREEN]


def test_trigger_spaces_take_every_space_re2_s_widened_class_takes() -> None:
    """Every character RE2's widened ``\\s`` matches (all of Unicode, one row each) Hyperscan's matches too."""
    pytest.importorskip("hyperscan")
    every = [chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF]
    spaces = re2_twin(r"\s")
    matched = to_mask(pc.match_substring_regex(string_array(every), spaces))
    wanted = [char for char, hit in zip(every, matched, strict=True) if hit]
    assert "\u3000" in wanted and "\x0b" in wanted
    scan = multiscan.trigger_scan((spaces,))
    assert scan is not None
    found = scan.rows(string_array(wanted))
    assert found is not None and found[0].tolist() == list(range(len(wanted)))


def test_triggers_that_match_too_often_hand_the_file_to_re2(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile file of nothing but markers would cost a call per match: past the budget the
    scan stops and RE2's alternation screens, which selects the pattern's rows exactly."""
    pytest.importorskip("hyperscan")
    rows = [{name: "<no" * 50 if name == "input" else "ok" for name in TEXT_FIELDS} for _ in range(40)]
    rows[7]["output"] = "bad\x07"
    rows[3]["output"] = "see https://x.org now"  # the URL trigger's, not the URL-only input's
    expected = _one_pass_per_pattern(_frame(rows))
    scan = multiscan.trigger_scan(tuple(SCREENED_TRIGGERS))
    assert scan is not None
    stacked = pa.concat_arrays([_frame(rows).columns[name].cast(pa.large_string()) for name in TEXT_FIELDS])
    assert scan.rows(stacked) is not None
    assert _screened(_frame(rows)) != expected  # Hyperscan's candidates: row 3 for the URL-only input
    monkeypatch.setattr(multiscan, "_MATCHES_ALWAYS_ALLOWED", 100)
    assert scan.rows(stacked) is None
    screens: list[str | None] = []
    real_candidates = Screen.candidates
    monkeypatch.setattr(
        Screen, "candidates", lambda screen, texts: screens.append(screen.field) or real_candidates(screen, texts)
    )
    assert _screened(_frame(rows)) == expected
    assert screens == list(SCREENS)  # once per frame and screen


def test_rows_of_a_slice_and_of_empty_texts() -> None:
    pytest.importorskip("hyperscan")
    scan = multiscan.trigger_scan(("NAME", "\x00"))
    assert scan is not None
    texts = string_array(["", "NAME", "", "x\x00", "NA", "ME", ""]).cast(pa.large_string())
    found = scan.rows(texts)
    # "NA" + "ME" across two rows: a match ends in "ME", which becomes a candidate (RE2 then decides)
    assert found is not None and [rows.tolist() for rows in found] == [[1, 5], [3]]
    sliced = scan.rows(texts.slice(2))
    assert sliced is not None and [rows.tolist() for rows in sliced] == [[3], [1]]
    nothing = scan.rows(string_array(["", ""]))
    assert nothing is not None and [rows.tolist() for rows in nothing] == [[], []]


def test_a_trigger_s_final_dollar_is_the_end_of_a_row() -> None:
    pytest.importorskip("hyperscan")
    assert multiscan._row_end_anchored("ab$") and multiscan._row_end_anchored("ab\\\\$")
    assert not multiscan._row_end_anchored("ab\\$") and not multiscan._row_end_anchored("a$b")
    scan = multiscan.trigger_scan(("ab$", "ab\\$", "ab"))
    assert scan is not None
    texts = string_array(["xab", "abx", "ab", "", "a", "b", "ab$", "ab\n"])
    found = scan.rows(texts)
    # "a" + "b" across two rows ends where the second ends: a candidate (RE2 or the check decides)
    assert found is not None and [rows.tolist() for rows in found] == [[0, 2, 5], [6], [0, 1, 2, 5, 6, 7]]

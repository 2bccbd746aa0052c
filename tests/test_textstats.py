"""The byte-level character statistics equal their plain-Python definitions."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatcorpus.validation import textstats

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
PUNCTUATION = re.compile(r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]")
# the alphabet hypothesis draws from: every block the statistics tell apart, and neighbours
ALPHABET = st.sampled_from(
    list("aZ09 ,.!\n\t")
    + [
        "\u33ff",
        "\u3400",
        "\u4dbf",
        "\u4e00",
        "\u9fff",
        "\ua000",
        "\uf8ff",
        "\uf900",
        "\ufaff",
        "\ufb00",
        "\u3000",
        "\u3001",
        "\u303f",
        "\u3040",
        "\uff01",
        "\uff0c",
        "\uff10",
        "\uff1a",
        "\uff21",
        "é",
        "😀",
        "я",
    ]
)


def _reference_key(text: str) -> str:
    text = PUNCTUATION.sub("", text)
    return "".join(c.lower() if c.isascii() else c for c in text if not c.isascii() or c.isalnum())


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny chunks, so characters straddle chunk boundaries in every example."""
    monkeypatch.setattr(textstats, "_CHUNK", 7)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.text(ALPHABET, max_size=20), max_size=8), st.integers(0, 3))
def test_byte_statistics_match_their_definitions(texts: list[str], skip: int) -> None:
    column = pa.array(["padding"] * skip + texts, pa.string()).slice(skip)  # slices start at an offset
    assert textstats.han_counts(column).tolist() == [len(HAN.findall(t)) for t in texts]
    assert textstats.latin_letter_counts(column).tolist() == [len(re.findall("[A-Za-z]", t)) for t in texts]
    assert textstats.letters_and_digits(column) == [_reference_key(t) for t in texts]
    han, latin = textstats.han_and_latin_counts(column)
    assert (han.tolist(), latin.tolist()) == (
        textstats.han_counts(column).tolist(),
        textstats.latin_letter_counts(column).tolist(),
    )


def test_table_counts_count_the_marked_characters() -> None:
    """``bmp_table_counts`` against a plain count, over the blocks and their neighbours, at
    every chunk boundary; ``traditional_counts`` (built on it) against OpenCC itself."""
    import numpy as np

    from chatcorpus.validation.normalize import to_simplified, traditional_counts

    table = np.zeros(0x10000, dtype=bool)
    marked = {"\u4e00", "\u9fff", "\uf900", "\u3001", "\uffff", "\u0800"}
    table[[ord(c) for c in marked]] = True
    texts = ["", "\u4e00a\u4e00", "\u0800\u07ff😀\uffff", "ab\u3001\uff01", "\u9fff" * 9, "é\uf900\ufaff"]
    column = pa.array(["x"] + texts, pa.string()).slice(1)
    assert textstats.bmp_table_counts(column, table).tolist() == [sum(c in marked for c in t) for t in texts]
    hanzi = ["漢語和汉语", "简体", "", "乾隆 發現 后来", "臺灣 x 台湾", "安靜"]
    expected = [sum(to_simplified(c) != c for c in t) for t in hanzi]
    assert traditional_counts(pa.array(hanzi, pa.string())).tolist() == expected


_WIDE = [chr(code) for code in (0xFF00, 0xFF01, 0xFF0C, 0xFF1A, 0xFF3F, 0xFF40, 0xFF5E, 0xFF5F, 0xFF61, 0x3000, 0x3001)]
_NARROWED = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {"\u3000": " "}


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.text(st.one_of(ALPHABET, st.sampled_from(_WIDE)), max_size=12), max_size=8), st.integers(0, 3))
def test_narrow_forms_replaces_each_wide_form_by_its_ascii(texts: list[str], skip: int) -> None:
    column = pa.array(["\uff01padding"] * skip + texts, pa.string()).slice(skip)
    assert textstats.narrow_forms(column).to_pylist() == [text.translate(str.maketrans(_NARROWED)) for text in texts]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.text(ALPHABET, max_size=12), max_size=8), st.integers(0, 3))
def test_outside_counts_count_what_the_table_does_not_mark(texts: list[str], skip: int) -> None:
    """With a shortcut for whole blocks (``inside``) or none, the characters neither ASCII nor marked."""
    import numpy as np

    table = np.zeros(0x10000, dtype=bool)
    table[0x4E00:0xA000] = table[0x3001] = True
    column = pa.array(["x"] * skip + texts, pa.string()).slice(skip)
    expected = [sum(not c.isascii() and not (len(c.encode()) == 3 and table[ord(c)]) for c in t) for t in texts]
    shortcut = lambda chunk: (chunk >= 0xE5) & (chunk <= 0xE9)  # noqa: E731  # U+5000–U+9FFF, all marked
    assert textstats.outside_counts(column, table, shortcut).tolist() == expected
    assert textstats.outside_counts(column, table, lambda chunk: chunk < 0).tolist() == expected

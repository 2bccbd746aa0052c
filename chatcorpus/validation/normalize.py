"""The duplicate key: a record's text with the differences that do not change its meaning removed.

Two records whose keys are equal are duplicates "up to form": case, spacing and
punctuation (``textstats.letters_and_digits``), Unicode composition (``é`` and ``e`` +
U+0301), full-width and half-width forms (``１２，`` and ``12,``) and Chinese script
(Traditional ``漢語`` and Simplified ``汉语``). Unicode forms are folded by Arrow's
``utf8_normalize`` (NFKC, utf8proc) over a whole column; script by OpenCC's ``t2s``
conversion, which knows phrase-level mappings a character table does not. OpenCC runs
only on records that hold a character it would change (a regex pre-filter over the
column), because converting every record costs more than the rest of validation.

``duplicate_keys`` is the one definition of the key: validation's ``duplicate.normalized``
rule and any index of published records (``validate --against``) must use it, or a
record would be a duplicate in one place and new in the other.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import opencc
import pyarrow as pa
import pyarrow.compute as pc

from chatcorpus.validation.textstats import (
    bmp_table_counts,
    from_mask,
    letters_and_digits,
    narrow_forms,
    outside_counts,
    string_array,
    wide_counts,
)

# the blocks OpenCC's Traditional characters live in: CJK Unified Ideographs, Extension A,
# the compatibility ideographs
_HAN_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


@cache
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@cache
def traditional_characters() -> str:
    """Every Han character that OpenCC's ``t2s`` changes on its own, in code point order."""
    chars = [chr(code) for low, high in _HAN_BLOCKS for code in range(low, high + 1)]
    # one call for all of them: a separator OpenCC never maps keeps them apart
    converted = _to_simplified().convert("\n".join(chars)).split("\n")
    return "".join(char for char, simple in zip(chars, converted, strict=True) if char != simple)


@cache
def _traditional_table() -> np.ndarray:
    table = np.zeros(0x10000, dtype=bool)  # every Han block here is in the 3-byte UTF-8 range
    table[[ord(char) for char in traditional_characters()]] = True
    return table


def traditional_counts(texts: pa.Array) -> np.ndarray:
    """How many characters per text OpenCC would change to their Simplified form.

    Those of the BMP are all in ``_HAN_BLOCKS`` (a test keeps it so), looked up in a table;
    those beyond it (CJK Extension B on, some 900 of them) are asked of OpenCC one by one,
    for the few distinct ones a text holds."""
    return bmp_table_counts(texts, _traditional_table()) + wide_counts(texts, _wide_traditional)


def _wide_traditional(codes: np.ndarray) -> list[bool]:
    return [_is_traditional(code) for code in codes.tolist()]


@cache
def _is_traditional(code: int) -> bool:
    return to_simplified(chr(code)) != chr(code)


def to_simplified(text: str) -> str:
    """``text`` in Simplified Chinese (OpenCC ``t2s``, phrase-aware)."""
    return _to_simplified().convert(text)


def duplicate_keys(texts: pa.Array) -> list[str]:
    """The duplicate key of each text: NFKC, Simplified script, then case, spacing and
    punctuation removed. Equal keys mean equal records up to form (see the module doc)."""
    return letters_and_digits(fold(texts))


#: Characters NFKC leaves alone in any text made of them and ASCII: they decompose to nothing
#: else, combine with nothing before them (combining class 0, second of no composition), and
#: are assigned in every Unicode version in use, where normalization is stable (a test
#: checks each against ``unicodedata`` and Arrow's utf8proc). CJK ideographs and the
#: punctuation of Chinese text: nearly every character of this corpus beyond ASCII.
NFKC_STABLE = (
    (0x2010, 0x2010),  # hyphen
    (0x2012, 0x2016),  # dashes, double vertical line
    (0x2018, 0x2023),  # quotation marks, daggers, bullets
    (0x2027, 0x2027),  # hyphenation point
    (0x2030, 0x2032),  # per mille, per ten thousand, prime
    (0x3001, 0x3003),  # ideographic comma and full stop, ditto mark
    (0x3005, 0x3011),  # iteration mark, closing mark, number zero, angle and corner brackets
    (0x3014, 0x301F),  # tortoise shell, white and double brackets, wave dash, quotation marks
    (0x3400, 0x4DBF),  # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
)


@cache
def _nfkc_stable_table() -> np.ndarray:
    table = np.zeros(0x10000, dtype=bool)
    for low, high in NFKC_STABLE:
        table[low : high + 1] = True
    return table


def _ideograph_leads(chunk: np.ndarray) -> np.ndarray:
    """Lead bytes of CJK ideographs, from the lead and the byte after it: U+5000–U+9FFF (E5–E9),
    U+4000–U+4DBF and U+4E00–U+4FFF (E4, but not E4 B7: U+4DC0–U+4DFF are hexagrams),
    U+3400–U+3FFF (E3 90–BF); all in ``NFKC_STABLE``."""
    second = np.zeros_like(chunk)
    second[:-1] = chunk[1:]
    return (
        ((chunk >= 0xE5) & (chunk <= 0xE9))
        | ((chunk == 0xE4) & (second != 0xB7))
        | ((chunk == 0xE3) & (second >= 0x90))
    )


def nfkc(texts: pa.Array) -> pa.Array:
    """Each text in NFKC (Arrow's ``utf8_normalize``, utf8proc), which is costly, run only on
    the texts that may change beyond their full-width forms.

    Those forms (``textstats.narrow_forms``: U+FF01–U+FF5E and U+3000, in nearly every
    Chinese text) are replaced by their decompositions first, which leaves NFKC unchanged;
    a text made then of ASCII and ``NFKC_STABLE`` alone is its own NFKC form.
    """
    narrowed = narrow_forms(texts)
    unstable = outside_counts(narrowed, _nfkc_stable_table(), _ideograph_leads) > 0
    if unstable.any():
        mask = from_mask(unstable)
        normalized = pc.utf8_normalize(texts.filter(mask), "NFKC").cast(narrowed.type)
        narrowed = pc.replace_with_mask(narrowed, mask, normalized)
    return narrowed


def fold(texts: pa.Array) -> pa.Array:
    """Each text in NFKC and Simplified script: the forms the duplicate keys and the
    near-duplicate shingles (``shingles``) both ignore."""
    folded = texts.cast(pa.string())
    wide = pc.invert(pc.string_is_ascii(folded))  # ASCII text is its own NFKC form
    if pc.any(wide).as_py():
        folded = pc.replace_with_mask(folded, wide, nfkc(folded.filter(wide)))
    traditional = traditional_counts(folded) > 0
    if traditional.any():
        mask = from_mask(traditional)
        converted = [to_simplified(text) for text in folded.filter(mask).to_pylist()]
        folded = pc.replace_with_mask(folded, mask, string_array(converted).cast(folded.type))
    return folded

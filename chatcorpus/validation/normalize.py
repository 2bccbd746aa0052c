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

from chatcorpus.validation.textstats import bmp_table_counts, from_mask, letters_and_digits, string_array, wide_counts

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


def fold(texts: pa.Array) -> pa.Array:
    """Each text in NFKC and Simplified script: the forms the duplicate keys and the
    near-duplicate shingles (``shingles``) both ignore."""
    folded = texts.cast(pa.string())
    wide = pc.invert(pc.string_is_ascii(folded))  # ASCII text is its own NFKC form
    if pc.any(wide).as_py():
        folded = pc.replace_with_mask(folded, wide, pc.utf8_normalize(folded.filter(wide), "NFKC"))
    traditional = traditional_counts(folded) > 0
    if traditional.any():
        mask = from_mask(traditional)
        converted = [to_simplified(text) for text in folded.filter(mask).to_pylist()]
        folded = pc.replace_with_mask(folded, mask, string_array(converted).cast(folded.type))
    return folded

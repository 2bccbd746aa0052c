"""Shingle sets of records, computed over a whole file at once: what near-duplicates are compared by.

A record's text is split into tokens: each Han character (and kana or Hangul syllable) is
a token of its own, a run of letters is a word, a run of digits is a number; spacing and
punctuation only separate tokens. A *shingle* is ``k`` consecutive tokens of one field:
``k`` Han characters in a Chinese record, ``k`` words in an English one (character
n-grams and word shingles, the usual units for each language). A field shorter than
``k`` tokens contributes its tokens one by one, so a short instruction still counts.

Shingles are hashed to 32 bits, the field's number in the top three bits: the sorted
shingle hashes of a record are grouped by field, and the similarity of one field is
read from the same array as that of the whole record. The text is expected folded
already (``normalize.fold``: NFKC, Simplified script), so a Traditional or full-width
copy has the same shingles as its original.

The hashing is vectorised by hand (a polynomial rolling hash over code points, then over
token hashes, mixed by the MurmurHash3 finalizer) because hashing every shingle through
a Python call, as MinHash libraries' per-item ``update`` does, cost several seconds on
the seed corpus; the hashes are stable across processes and runs, unlike ``hash()``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chatcorpus.validation.normalize import fold
from chatcorpus.validation.textstats import string_array

#: shingle size in Han characters for Chinese (and mixed) records, in words for English ones
CHINESE_SHINGLE = 5
ENGLISH_SHINGLE = 3
FIELD_BITS = 3  # up to 8 fields; the record's text fields, then its history
_HASH_BITS = 32 - FIELD_BITS
FIELD_SEPARATOR = "\x1f"  # between a record's fields in the text given to ``shingle``
_BATCH_CHARACTERS = 1 << 18
#: a record is compared by the first this many characters of its text fields (and of its history):
#: a 300 MB record costs no more than a long one
MAX_CHARACTERS = 100_000

_OTHER, _HAN, _LETTER, _DIGIT = 0, 1, 2, 3


@dataclass
class Shingles:
    """The shingle sets of a file's records: record ``i``'s sorted unique hashes are
    ``hashes[offsets[i]:offsets[i + 1]]``; ``numbers[i]`` hashes the multiset of its numbers."""

    hashes: np.ndarray  # uint32, field << 29 | hash
    offsets: np.ndarray  # int64, one more than there are records
    numbers: np.ndarray  # uint64; 0 when the record holds no number

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def of(self, position: int) -> np.ndarray:
        return self.hashes[self.offsets[position] : self.offsets[position + 1]]

    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def select(self, keep: np.ndarray) -> Shingles:
        """The shingle sets of the records ``keep`` (a mask) marks, in order."""
        sizes = self.sizes()
        hashes = self.hashes[np.repeat(keep, sizes)]
        offsets = np.concatenate(([0], np.cumsum(sizes[keep]))).astype(np.int64)
        return Shingles(hashes, offsets, self.numbers[keep])

    def part(self, start: int, stop: int) -> Shingles:
        """The records ``start:stop``, in order: views of this one's arrays, not copies."""
        stop = min(stop, len(self))
        first, last = self.offsets[start], self.offsets[stop]
        return Shingles(self.hashes[first:last], self.offsets[start : stop + 1] - first, self.numbers[start:stop])

    @staticmethod
    def join(parts: list[Shingles]) -> Shingles:
        """One set of records from several, in order."""
        if not parts:
            return Shingles(np.zeros(0, np.uint32), np.zeros(1, np.int64), np.zeros(0, np.uint64))
        starts = np.cumsum([0] + [len(part.hashes) for part in parts[:-1]])
        offsets = np.concatenate([[0]] + [part.offsets[1:] + start for part, start in zip(parts, starts, strict=True)])
        return Shingles(
            np.concatenate([part.hashes for part in parts]),
            offsets.astype(np.int64),
            np.concatenate([part.numbers for part in parts]),
        )


@cache
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Per code point: its lower-case form and its token class (built once, ~0.1 s).

    Lower-casing is a table lookup here rather than Arrow's ``utf8_lower`` over the column:
    the column then need not be copied (a third of the time of shingling).
    """
    lower = np.arange(0x110000, dtype=np.uint32)
    classes = np.zeros(0x110000, dtype=np.uint8)
    for code in range(0x10000):
        char = chr(code)
        category = unicodedata.category(char)
        if category[0] == "L":
            classes[code] = _LETTER
            lowered = char.lower()
            if len(lowered) == 1:
                lower[code] = ord(lowered)
        elif category == "Nd":
            classes[code] = _DIGIT
    for low, high in ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF)):
        block = classes[low : high + 1]
        block[block == _LETTER] = _HAN
    classes[0x20000:0x40000] = _HAN  # the Han extensions beyond the BMP
    return lower, classes


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer: spreads the polynomial hashes' bits (wrapping arithmetic)."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


class _Powers:
    """``base**i`` and ``base**-i`` modulo 2**32 for i up to the longest text seen, kept between files."""

    def __init__(self, base: int) -> None:
        self.base, self.inverse = np.uint32(base), np.uint32(pow(base, -1, 1 << 32))
        self.up, self.down = np.ones(1, np.uint32), np.ones(1, np.uint32)

    def get(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.up) < count:
            size = max(count, 2 * len(self.up))
            self.up, self.down = (_geometric(factor, size) for factor in (self.base, self.inverse))
        return self.up[:count], self.down[:count]


def _geometric(factor: np.uint32, size: int) -> np.ndarray:
    values = np.full(size, factor, dtype=np.uint32)
    values[0] = 1
    return np.cumprod(values, dtype=np.uint32)  # wraps modulo 2**32, as intended


_CHARACTER_POWERS, _TOKEN_POWERS = _Powers(0x01000193), _Powers(0x9E3779B1)  # odd: invertible modulo 2**32


def _span_hashes(values: np.ndarray, starts: np.ndarray, stops: np.ndarray, powers: _Powers) -> np.ndarray:
    """The polynomial hash of ``values[start:stop]`` for each span, from one prefix sum."""
    up, down = powers.get(len(values) + 1)
    prefix = np.zeros(len(values) + 1, dtype=np.uint32)
    np.cumsum(values * up[: len(values)], dtype=np.uint32, out=prefix[1:])
    return (prefix[stops] - prefix[starts]) * down[starts]


def shingle_texts(
    folded: pa.Array, records: list[dict[str, Any]], languages: list[str], positions: list[int]
) -> Shingles:
    """The shingle sets of the records at ``positions`` of a file, from its folded joined
    text fields (``validate._folded_texts``), their history turns a field of their own."""
    every = pc.utf8_slice_codeunits(folded, 0, MAX_CHARACTERS).to_pylist()
    texts = [every[position] for position in positions]
    turns = [(at, _history_text(record)) for at, record in enumerate(records) if record.get("history")]
    if turns:
        history = fold(string_array([text[:MAX_CHARACTERS] for _, text in turns])).to_pylist()
        for (at, _), text in zip(turns, history, strict=True):
            texts[at] += FIELD_SEPARATOR + text
    english = np.array([languages[position] == "en" for position in positions], dtype=bool)
    # a few hundred thousand characters at a time: the temporaries (a few bytes per character) stay small
    ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
    cuts = [0, *np.flatnonzero(np.diff(ends // _BATCH_CHARACTERS)) + 1, len(texts)] if len(texts) else [0, 0]
    return Shingles.join([shingle(texts[a:b], english[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)])


def _history_text(record: dict[str, Any]) -> str:
    return "\n".join(item for turn in record["history"] for item in turn if isinstance(item, str))


def shingle(texts: list[str], english: np.ndarray) -> Shingles:
    """The shingle sets of ``texts`` (one per record, fields joined by ``FIELD_SEPARATOR``,
    folded); ``english[i]`` chooses word shingles for record ``i``. Case is ignored."""
    count = len(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=count) + 1
    record_starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    lower, table = _tables()
    codes = lower[np.frombuffer("\x00".join(texts).encode("utf-32-le") + b"\0\0\0\0", dtype=np.uint32)]
    classes = table[codes]
    change = classes[1:] != classes[:-1]
    word = classes != _OTHER
    han = classes == _HAN
    starts = np.flatnonzero(word & (han | np.concatenate(([True], change))))
    stops = np.flatnonzero(word & (han | np.concatenate((change, [True])))) + 1
    tokens = _fmix32(_span_hashes(codes, starts, stops, _CHARACTER_POWERS))
    token_record = np.searchsorted(record_starts, starts, side="right") - 1
    separators = np.concatenate(([0], np.cumsum(codes == ord(FIELD_SEPARATOR))))
    token_field = np.minimum(separators[starts] - separators[record_starts][token_record], (1 << FIELD_BITS) - 1)
    numbers = np.zeros(count, dtype=np.uint64)
    digits = classes[starts] == _DIGIT
    np.add.at(numbers, token_record[digits], tokens[digits].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))

    # each token starts one shingle of k tokens of its field, or is one when the field is shorter
    group = token_record * 8 + token_field
    boundaries = np.flatnonzero(np.diff(group)) + 1
    group_starts = np.concatenate(([0], boundaries))
    group_sizes = np.diff(np.concatenate((group_starts, [len(tokens)])))
    sizes_per_token = np.repeat(group_sizes, group_sizes)
    ends_per_token = np.repeat(group_starts + group_sizes, group_sizes)
    k = np.where(english[token_record], ENGLISH_SHINGLE, CHINESE_SHINGLE)
    width = np.where(sizes_per_token >= k, k, 1)
    index = np.arange(len(tokens), dtype=np.int64)
    valid = index + width <= ends_per_token
    starts_at, widths = index[valid], width[valid]
    mixed = _fmix32(_span_hashes(tokens, starts_at, starts_at + widths, _TOKEN_POWERS)).astype(np.uint64)
    tagged = (token_field[valid].astype(np.uint64) << np.uint64(_HASH_BITS)) | (mixed >> np.uint64(32 - _HASH_BITS))
    keyed = np.sort((token_record[valid].astype(np.uint64) << np.uint64(32)) | tagged)
    first = np.ones(len(keyed), dtype=bool)
    first[1:] = keyed[1:] != keyed[:-1]
    keyed = keyed[first]  # sorted and deduplicated by hand: np.unique's hash table was 30x slower
    offsets = np.searchsorted(keyed >> np.uint64(32), np.arange(count + 1, dtype=np.uint64))
    return Shingles((keyed & np.uint64(0xFFFFFFFF)).astype(np.uint32), offsets.astype(np.int64), numbers)


def field_of(hashes: np.ndarray) -> np.ndarray:
    """The field number of each shingle hash."""
    return hashes >> np.uint32(_HASH_BITS)

"""Character statistics over whole Arrow string columns, computed on their UTF-8 bytes.

Language detection and near-duplicate keys need, for every record, counts of Han
characters and Latin letters and a text stripped of case, spacing and punctuation.
Regex kernels (per-record Python, or Arrow's RE2 replacing one match per word) were
the slowest part of a build; the byte-level masks here do the same over a file's
column in a few NumPy passes. They are exact for valid UTF-8, which Arrow guarantees:
ASCII bytes never occur inside a multi-byte character, and the lead byte and the byte
after it fix the code point's block. Columns are scanned in chunks of a few MB, so a
single string of hundreds of MB costs a small multiple of its size, not ten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa


def string_array(values: list[str]) -> pa.Array:
    """An Arrow string array holding ``values``, assembled from its two buffers.

    ``pa.array(values)`` would first ask pandas whether ``values`` is a pandas object,
    which imports pandas (half a second) in a run that never uses it. The strings come
    from ``orjson``, which refuses lone surrogates, so each encodes to UTF-8.
    """
    encoded = [value.encode("utf-8") for value in values]
    ends = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)).cumsum()
    offsets = np.concatenate((np.zeros(1, np.int64), ends))
    data = pa.py_buffer(b"".join(encoded))
    if offsets[-1] >= 1 << 31:
        return pa.LargeStringArray.from_buffers(len(encoded), pa.py_buffer(offsets), data)
    return pa.StringArray.from_buffers(len(encoded), pa.py_buffer(offsets.astype(np.int32)), data)


def string_scalar(text: str) -> pa.Scalar:
    """An Arrow string scalar, for compute kernels: ``pa.scalar`` (and a bare ``str`` argument,
    which kernels convert with it) imports pandas, as ``pa.array`` does."""
    return string_array([text])[0]


def to_mask(flags: pa.Array) -> np.ndarray:
    """A boolean Arrow array as a NumPy mask, null as False, read from its bit buffers.

    ``BooleanArray.to_numpy`` imports pandas, as ``pa.array`` does.
    """
    validity, bits = flags.buffers()
    mask = _unpack(bits, flags.offset, len(flags))
    if validity is not None and flags.null_count:
        mask &= _unpack(validity, flags.offset, len(flags))
    return mask


def _unpack(bits: pa.Buffer, offset: int, length: int) -> np.ndarray:
    unpacked = np.unpackbits(np.frombuffer(bits, dtype=np.uint8), bitorder="little")
    return unpacked[offset : offset + length].astype(bool)


_INT_TYPES = {pa.int32(): np.int32, pa.int64(): np.int64}


def to_ints(values: pa.Array) -> np.ndarray:
    """An integer Arrow array without nulls (a kernel's counts or lengths) as int64 NumPy
    values, read from its buffer: ``to_numpy`` imports pandas, as ``pa.array`` does."""
    data = values.buffers()[1]
    if data is None or not len(values):
        return np.zeros(len(values), dtype=np.int64)
    numbers = np.frombuffer(data, dtype=_INT_TYPES[values.type])
    return numbers[values.offset : values.offset + len(values)].astype(np.int64)


def from_mask(mask: np.ndarray) -> pa.BooleanArray:
    """A NumPy mask as an Arrow boolean array, for filter and replace kernels, without pandas."""
    bits = np.packbits(mask.astype(bool), bitorder="little")
    return pa.BooleanArray.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits.tobytes())])


def _bytes_and_offsets(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The strings' UTF-8 bytes and the offsets into them, starting at 0 even for a slice."""
    strings = strings.cast(pa.string())
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[strings.offset : strings.offset + len(strings) + 1].astype(
        np.int64
    )
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    return data[offsets[0] : offsets[-1]], offsets - offsets[0]


bytes_and_offsets = _bytes_and_offsets  # for rules that scan the bytes themselves

_CHUNK = 1 << 22  # bytes scanned at a time
_CONTEXT = 2  # bytes of a 3-byte character on either side of a chunk boundary

Selector = Callable[[np.ndarray], np.ndarray]


def _chunks(data: np.ndarray) -> Iterator[tuple[int, int, np.ndarray, int]]:
    """(start, stop, window, pad): ``window`` holds the chunk plus context on both sides,
    the chunk itself being ``window[pad : pad + stop - start]``."""
    for start in range(0, len(data), _CHUNK):
        stop = min(start + _CHUNK, len(data))
        low = max(0, start - _CONTEXT)
        yield start, stop, data[low : stop + _CONTEXT], start - low


def _select(data: np.ndarray, offsets: np.ndarray, selector: Selector) -> tuple[np.ndarray, list[np.ndarray]]:
    """Count of selected bytes before each offset, and the selected bytes themselves.

    Chunk by chunk, the selected bytes' positions and a binary search of the chunk's
    offsets among them give the counts: an int64 running sum over every byte (eight
    times the chunk) cost more than the selection itself.
    """
    at_offsets = np.zeros(len(offsets), dtype=np.int64)
    selected: list[np.ndarray] = []
    total = 0
    for start, stop, window, pad in _chunks(data):
        found = np.flatnonzero(selector(window)[pad : pad + stop - start])
        selected.append(window[pad : pad + stop - start][found])
        first, last = np.searchsorted(offsets, [start, stop], side="right")
        at_offsets[first:last] = total + np.searchsorted(found, offsets[first:last] - start, side="left")
        total += len(found)
    return at_offsets, selected


def _counts(strings: pa.Array, selector: Selector) -> np.ndarray:
    data, offsets = _bytes_and_offsets(strings)
    at_offsets, _ = _select(data, offsets, selector)
    return np.diff(at_offsets)


def han_counts(strings: pa.Array) -> np.ndarray:
    """Han characters per string: CJK Unified Ideographs (U+4E00–U+9FFF), Extension A
    (U+3400–U+4DBF) and the compatibility ideographs (U+F900–U+FAFF)."""
    return _counts(strings, _han_leads)


# Per byte value, what a byte on its own says (one table lookup per byte instead of a
# NumPy comparison per bound); the rare multi-byte cases are then checked where they occur.
_HAN_LEAD = np.zeros(256, dtype=bool)
_HAN_LEAD[0xE4:0xEA] = True  # U+4000–U+9FFF
_E3_OR_EF = np.zeros(256, dtype=bool)
_E3_OR_EF[[0xE3, 0xEF]] = True
_LETTER = np.zeros(256, dtype=bool)
_LETTER[ord("A") : ord("Z") + 1] = _LETTER[ord("a") : ord("z") + 1] = True
_KEPT = _LETTER.copy()  # a letter, a digit, or a byte of a non-ASCII character
_KEPT[ord("0") : ord("9") + 1] = _KEPT[0x80:] = True


def _after(data: np.ndarray, positions: np.ndarray, step: int) -> np.ndarray:
    """The bytes ``step`` after ``positions``, 0 past the end."""
    later = positions + step
    return np.where(later < len(data), data[np.minimum(later, len(data) - 1)], 0) if len(data) else later


def _han_leads(data: np.ndarray) -> np.ndarray:
    mask = _HAN_LEAD[data]
    edge = np.flatnonzero(_E3_OR_EF[data])
    if len(edge):
        lead, following = data[edge], _after(data, edge, 1)
        hit = ((lead == 0xE3) & (following >= 0x90)) | (  # U+3400–U+3FFF
            (lead == 0xEF) & (following >= 0xA4) & (following <= 0xAB)  # U+F900–U+FAFF
        )
        mask[edge[hit]] = True
    return mask


def bmp_table_counts(strings: pa.Array, table: np.ndarray) -> np.ndarray:
    """Characters per string whose code point ``table`` (a boolean array of 0x10000) marks,
    for tables that mark only 3-byte characters (U+0800–U+FFFF).

    A table lookup per 3-byte lead byte: an RE2 class of thousands of characters (the
    Traditional ones) took ten times longer, falling off its DFA's memory budget.
    """
    data, offsets = _bytes_and_offsets(strings)
    hits: list[np.ndarray] = []
    for start in range(0, len(data), _CHUNK):
        stop = min(start + _CHUNK, len(data))
        window = data[start : stop + _CONTEXT]  # valid UTF-8: two continuation bytes follow each lead
        leads = np.flatnonzero((window[: stop - start] >= 0xE0) & (window[: stop - start] <= 0xEF))
        code = (window[leads].astype(np.int32) & 0x0F) << 12
        code |= (window[leads + 1].astype(np.int32) & 0x3F) << 6
        code |= window[leads + 2].astype(np.int32) & 0x3F
        hits.append(leads[table[code]] + start)
    found = np.concatenate(hits) if hits else np.zeros(0, np.int64)
    return np.diff(np.searchsorted(found, offsets))


def wide_counts(strings: pa.Array, marked: Callable[[np.ndarray], list[bool]]) -> np.ndarray:
    """Characters per string beyond the BMP (4-byte UTF-8: CJK Extension B and later, emoji)
    whose code point ``marked`` selects; it is given each distinct code point once, in
    increasing order, and returns a flag for each. Such characters are rare: one pass finds them."""
    data, offsets = _bytes_and_offsets(strings)
    leads = np.flatnonzero(data >= 0xF0)  # valid UTF-8: three continuation bytes follow each
    if not len(leads):
        return np.zeros(len(offsets) - 1, dtype=np.int64)
    code = (data[leads].astype(np.int64) & 0x07) << 18
    code |= (data[leads + 1].astype(np.int64) & 0x3F) << 12
    code |= (data[leads + 2].astype(np.int64) & 0x3F) << 6
    code |= data[leads + 3].astype(np.int64) & 0x3F
    distinct, which = np.unique(code, return_inverse=True)
    hits = leads[np.asarray(marked(distinct), dtype=bool)[which]]
    return np.diff(np.searchsorted(hits, offsets))


def latin_letter_counts(strings: pa.Array) -> np.ndarray:
    """ASCII letters per string."""
    return _counts(strings, _ascii_letters)


def _ascii_letters(data: np.ndarray) -> np.ndarray:
    return _LETTER[data]


def _punctuation_leads(data: np.ndarray) -> np.ndarray:
    """Where CJK punctuation (U+3000–U+303F) and full-width ASCII punctuation (U+FF01–U+FF0F,
    U+FF1A–U+FF20), the punctuation of Chinese text, begin: three bytes each."""
    edge = np.flatnonzero(_E3_OR_EF[data])
    if not len(edge):
        return edge
    lead, following, third = data[edge], _after(data, edge, 1), _after(data, edge, 2)
    hit = ((lead == 0xE3) & (following == 0x80)) | (
        (lead == 0xEF)
        & (following == 0xBC)
        & (((third >= 0x81) & (third <= 0x8F)) | ((third >= 0x9A) & (third <= 0xA0)))
    )
    return edge[hit]


def letters_and_digits(strings: pa.Array) -> list[str]:
    """Each string lower-cased (ASCII) with spacing and punctuation removed.

    Two records whose keys are equal differ only in case, spacing or punctuation. Every
    other non-ASCII character (Chinese text above all) is kept as it is.
    """
    data, offsets = _bytes_and_offsets(strings)
    at_offsets, kept = _select(data, offsets, _letter_digit_or_other)
    lowered = np.concatenate(kept) if kept else np.zeros(0, np.uint8)
    lowered = np.where((lowered >= ord("A")) & (lowered <= ord("Z")), lowered | 0x20, lowered)
    stripped = pa.StringArray.from_buffers(
        len(strings), pa.py_buffer(at_offsets.astype(np.int32).tobytes()), pa.py_buffer(lowered.tobytes())
    )
    return stripped.to_pylist()


def _letter_digit_or_other(data: np.ndarray) -> np.ndarray:
    mask = _KEPT[data]
    leads = _punctuation_leads(data)
    for step in range(3):
        mask[leads[leads + step < len(data)] + step] = False
    return mask

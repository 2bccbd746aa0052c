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
    encoded = list(map(str.encode, values))  # UTF-8
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

#: One boolean mask per statistic, over the bytes of one chunk.
Masks = Callable[[np.ndarray], tuple[np.ndarray, ...]]


def _whole_characters(data: np.ndarray) -> Iterator[tuple[int, int]]:
    """(start, stop) of chunks of about ``_CHUNK`` bytes that end where a character begins,
    so that no character straddles two chunks: each is then judged on its own bytes."""
    start = 0
    while start < len(data):
        stop = min(start + _CHUNK, len(data))
        while stop < len(data) and 0x80 <= data[stop] < 0xC0:  # a continuation byte: valid UTF-8 has at most 3
            stop += 1
        yield start, stop
        start = stop


def _following(chunk: np.ndarray, step: int) -> np.ndarray:
    """The byte ``step`` after each byte of ``chunk``, 0 past its end."""
    later = np.zeros_like(chunk)
    later[: max(len(chunk) - step, 0)] = chunk[step:]
    return later


def _tallies(
    data: np.ndarray, offsets: np.ndarray, masks: Masks, keep: Callable[[np.ndarray], np.ndarray] | None = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """For each mask ``masks`` gives: how many bytes it selects before each offset; with ``keep``,
    also the bytes the first mask selects, chunk by chunk, out of ``keep(chunk)`` (the chunk
    itself, or a copy with some bytes rewritten).

    Per chunk, comparisons (SIMD) make the masks and ``np.add.reduceat`` sums them between
    the offsets that fall in it: a byte-table lookup, the positions of the selected bytes
    and a binary search among them cost ten times more.
    """
    before = [np.zeros(len(offsets), dtype=np.int64) for _ in range(len(masks(data[:0])))]
    totals = [0] * len(before)
    kept: list[np.ndarray] = []
    for start, stop in _whole_characters(data):
        chunk = data[start:stop]
        first, last = np.searchsorted(offsets, [start, stop], side="left")  # the offsets in [start, stop)
        local = offsets[first:last] - start
        for number, mask in enumerate(masks(chunk)):
            if len(local):
                # uint32 sums: several times faster than int64, and a chunk holds far fewer bytes than 2**32
                sums = np.add.reduceat(mask.view(np.uint8), local, dtype=np.uint32)[:-1]
                sums[local[:-1] == local[1:]] = 0  # reduceat gives an empty stretch the byte at its start
                opening = totals[number] + np.count_nonzero(mask[: local[0]])
                before[number][first] = opening
                np.cumsum(sums, out=before[number][first + 1 : last])
                before[number][first + 1 : last] += opening
            if keep is not None and not number:
                kept.append(np.compress(mask, keep(chunk)))  # several times faster than chunk[mask]
            totals[number] += int(np.count_nonzero(mask))
    past = np.searchsorted(offsets, len(data), side="left")  # offsets at the end of the data
    for number, counted in enumerate(before):
        counted[past:] = totals[number]
    return before, kept


def _counts(strings: pa.Array, masks: Masks) -> list[np.ndarray]:
    data, offsets = _bytes_and_offsets(strings)
    before, _ = _tallies(data, offsets, masks)
    return [np.diff(counted) for counted in before]


def han_counts(strings: pa.Array) -> np.ndarray:
    """Han characters per string: CJK Unified Ideographs (U+4E00–U+9FFF), Extension A
    (U+3400–U+4DBF) and the compatibility ideographs (U+F900–U+FAFF)."""
    return _counts(strings, lambda chunk: (_han_leads(chunk),))[0]


def latin_letter_counts(strings: pa.Array) -> np.ndarray:
    """ASCII letters per string."""
    return _counts(strings, lambda chunk: (_ascii_letters(chunk),))[0]


def han_and_latin_counts(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``han_counts`` and ``latin_letter_counts`` together, in one pass over the bytes."""
    han, latin = _counts(strings, lambda chunk: (_han_leads(chunk), _ascii_letters(chunk)))
    return han, latin


# Byte ranges are tested as ``(byte - low) < width`` on uint8, which wraps below ``low``:
# one subtraction and one comparison per range, in SIMD.
def _in(chunk: np.ndarray, low: int, high: int) -> np.ndarray:
    return (chunk - np.uint8(low)) <= np.uint8(high - low)


def _han_leads(chunk: np.ndarray) -> np.ndarray:
    """Where a Han character begins: a lead byte E4–E9 (U+4000–U+9FFF), or E3 followed by 90 or
    more (U+3400–U+3FFF), or EF followed by A4–AB (U+F900–U+FAFF)."""
    second = _following(chunk, 1)
    mask = _in(chunk, 0xE4, 0xE9)
    mask |= (chunk == 0xE3) & (second >= 0x90)
    mask |= (chunk == 0xEF) & _in(second, 0xA4, 0xAB)
    return mask


def _ascii_letters(chunk: np.ndarray) -> np.ndarray:
    return _in(chunk | np.uint8(0x20), ord("a"), ord("z"))  # | 0x20 lower-cases A-Z and moves nothing else there


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


def _punctuation_leads(chunk: np.ndarray) -> np.ndarray:
    """Where CJK punctuation (U+3000–U+303F) and full-width ASCII punctuation (U+FF01–U+FF0F,
    U+FF1A–U+FF20), the punctuation of Chinese text, begin: three bytes each."""
    second, third = _following(chunk, 1), _following(chunk, 2)
    mask = (chunk == 0xE3) & (second == 0x80)
    mask |= (chunk == 0xEF) & (second == 0xBC) & (_in(third, 0x81, 0x8F) | _in(third, 0x9A, 0xA0))
    return mask


def letters_and_digits(strings: pa.Array) -> list[str]:
    """Each string lower-cased (ASCII) with spacing and punctuation removed.

    Two records whose keys are equal differ only in case, spacing or punctuation. Every
    other non-ASCII character (Chinese text above all) is kept as it is.
    """
    data, offsets = _bytes_and_offsets(strings)
    (at_offsets,), kept = _tallies(data, offsets, lambda chunk: (_letter_digit_or_other(chunk),), keep=_same)
    lowered = np.concatenate(kept) if kept else np.zeros(0, np.uint8)
    lowered |= _in(lowered, ord("A"), ord("Z")).view(np.uint8) << np.uint8(5)  # 0x20 on A-Z
    return _strings(at_offsets, lowered).to_pylist()


def _same(chunk: np.ndarray) -> np.ndarray:
    return chunk


def _strings(offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    """An Arrow string array from its offsets and UTF-8 bytes (large when they need 64 bits)."""
    large = len(data) >= 1 << 31
    array_type = pa.LargeStringArray if large else pa.StringArray
    return array_type.from_buffers(
        len(offsets) - 1,
        pa.py_buffer(offsets.astype(np.int64 if large else np.int32).tobytes()),
        pa.py_buffer(data.tobytes()),
    )


def narrow_forms(strings: pa.Array) -> pa.Array:
    """Each string with the full-width forms of ASCII (U+FF01–U+FF5E) and the ideographic space
    (U+3000) replaced by the ASCII character each stands for: its compatibility decomposition,
    so NFKC of the result is NFKC of the string (``normalize.fold``). Three bytes become one.

    Such characters are a few in a hundred: their lead bytes are found chunk by chunk, then
    rewritten and their other two bytes dropped in one pass over the bytes.
    """
    data, offsets = _bytes_and_offsets(strings)
    leads: list[np.ndarray] = []
    pieces: list[np.ndarray] = []
    for start, stop in _whole_characters(data):
        chunk = data[start:stop]
        candidates = np.flatnonzero((chunk == 0xEF) | (chunk == 0xE3))
        lead, second, third = chunk[candidates], _after(chunk, candidates, 1), _after(chunk, candidates, 2)
        low = (lead == 0xEF) & (second == 0xBC) & _in(third, 0x81, 0xBF)  # U+FF01–U+FF3F: 0x21–0x5F
        high = (lead == 0xEF) & (second == 0xBD) & _in(third, 0x80, 0x9E)  # U+FF40–U+FF5E: 0x60–0x7E
        space = (lead == 0xE3) & (second == 0x80) & (third == 0x80)  # U+3000
        hit = low | high | space
        found = candidates[hit]
        if not len(found):
            pieces.append(chunk)
            continue
        narrowed = chunk.copy()
        narrowed[found] = np.where(low, third - np.uint8(0x60), np.where(high, third - np.uint8(0x20), 0x20))[hit]
        kept = np.ones(len(chunk), dtype=bool)
        kept[found + 1] = kept[found + 2] = False
        pieces.append(np.compress(kept, narrowed))
        leads.append(found + start)
    if not leads:
        return strings
    dropped = 2 * np.searchsorted(np.concatenate(leads), offsets, side="left")  # two bytes per character before
    return _strings(offsets - dropped, np.concatenate(pieces))


def _after(chunk: np.ndarray, positions: np.ndarray, step: int) -> np.ndarray:
    """The bytes ``step`` after ``positions`` in ``chunk``, 0 past its end."""
    later = positions + step
    return np.where(later < len(chunk), chunk[np.minimum(later, len(chunk) - 1)], 0) if len(chunk) else chunk


def outside_counts(strings: pa.Array, table: np.ndarray, inside: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Characters per string that are neither ASCII nor marked in ``table`` (a boolean array of
    0x10000 marking only 3-byte characters): 2- and 4-byte characters always count.

    ``inside(chunk)`` marks lead bytes that certainly begin a marked character (from the lead
    byte and the next: whole blocks of the table, in SIMD); only the other 3-byte characters
    are looked up in the table, where they occur.
    """

    def outside(chunk: np.ndarray) -> tuple[np.ndarray]:
        mask = _in(chunk, 0xC0, 0xDF) | (chunk >= 0xF0)
        unsure = np.flatnonzero(_in(chunk, 0xE0, 0xEF) & ~inside(chunk))
        code = (chunk[unsure].astype(np.int32) & 0x0F) << 12
        code |= (_after(chunk, unsure, 1).astype(np.int32) & 0x3F) << 6
        code |= _after(chunk, unsure, 2).astype(np.int32) & 0x3F
        mask[unsure[~table[code]]] = True
        return (mask,)

    return _counts(strings, outside)[0]


def _letter_digit_or_other(chunk: np.ndarray) -> np.ndarray:
    """A letter, a digit or a byte of a non-ASCII character, but not of the punctuation ``_punctuation_leads`` finds."""
    mask = _ascii_letters(chunk) | _in(chunk, ord("0"), ord("9")) | (chunk >= 0x80)
    leads = _punctuation_leads(chunk)
    dropped = leads | _following_of(leads, 1) | _following_of(leads, 2)
    mask &= ~dropped
    return mask


def _following_of(mask: np.ndarray, step: int) -> np.ndarray:
    """``mask`` moved ``step`` bytes later: the bytes ``step`` after those it marks."""
    later = np.zeros_like(mask)
    later[step:] = mask[: max(len(mask) - step, 0)]
    return later

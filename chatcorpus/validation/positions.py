"""Turn byte offsets into (line, column), and find where a valid array's elements are, in time linear in the file.

Both are needed only for the records that have a fault (a clean file never pays), and
both work in one forward sweep over the bytes at C speed (``bytes.count``, ``rfind``,
NumPy over fixed-size chunks), so neither the time nor the memory can be made to grow
faster than the file: a fault-dense single-line file, a file of blank lines or one of
a million records all cost a small multiple of reading them.

Lines end as editors end them: at ``\\n``, ``\\r\\n`` or a lone ``\\r``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

_LF, _CR = 0x0A, 0x0D
_QUOTE, _BACKSLASH, _COMMA = 0x22, 0x5C, 0x2C
_OPENERS = (0x5B, 0x7B)  # [ {
_CLOSERS = (0x5D, 0x7D)  # ] }
#: Per byte value: how it changes the nesting depth.
_STEP = np.zeros(256, dtype=np.int64)
_STEP[list(_OPENERS)], _STEP[list(_CLOSERS)] = 1, -1
_CHUNK = 1 << 22  # bytes a NumPy pass looks at once, so temporaries stay a few MB
_BLANK = b" \t\r\n"  # JSON's whitespace
_LEADING_BLANK = re.compile(rb"[ \t\r\n]*")


def line_breaks(data: bytes, start: int, end: int) -> int:
    """How many line breaks ``data[start:end]`` holds (a ``\\r\\n`` is one, counted at its ``\\n``)."""
    breaks = data.count(b"\n", start, end) + data.count(b"\r", start, end) - data.count(b"\r\n", start, end)
    if start < end < len(data) and data[end - 1] == _CR and data[end] == _LF:
        breaks -= 1  # that \r ends its line together with the \n just past the range
    return breaks


def _line_start(data: bytes, start: int, end: int) -> int:
    """Where the last line beginning inside ``data[start:end]`` begins (the range holds a break)."""
    lf = data.rfind(b"\n", start, end)
    cr = data.rfind(b"\r", start, end)
    if cr == end - 1 and end < len(data) and data[end] == _LF:
        cr = data.rfind(b"\r", start, end - 1)
    return max(lf, cr) + 1


def characters(data: bytes, start: int, end: int) -> int:
    """Characters in ``data[start:end]`` as an editor shows them (an invalid byte is one character)."""
    return len(data[start:end].decode("utf-8", "replace"))


def positions(data: bytes, offsets: Iterable[int]) -> dict[int, tuple[int, int]]:
    """1-based (line, character column) of each byte offset, in one sweep over the file.

    The offsets are placed in increasing order, each counted on from the one before, so
    placing k offsets costs one pass over the bytes up to the last, whatever k is.
    """
    placed: dict[int, tuple[int, int]] = {}
    line, column, previous = 1, 1, 0
    only_lf = b"\r" not in data  # the common case: one count per stretch instead of three
    for offset in sorted(set(offsets)):
        offset = min(max(offset, 0), len(data))
        breaks = data.count(b"\n", previous, offset) if only_lf else line_breaks(data, previous, offset)
        if breaks:
            line += breaks
            start = data.rfind(b"\n", previous, offset) + 1 if only_lf else _line_start(data, previous, offset)
            column = 1 + characters(data, start, offset)
        else:
            column += characters(data, previous, offset)
        placed[offset] = (line, column)
        previous = offset
    return placed


def array_separators(data: bytes) -> np.ndarray:
    """Offsets of the ``[`` opening a *valid* JSON array, each ``,`` between its elements, and its ``]``.

    Element ``i`` lies between separators ``i`` and ``i + 1``. Only for a file ``orjson``
    parsed whole: then every byte is JSON, quotes pair up, and a structural character
    is one outside a string. Chunked NumPy passes carry the string state (quotes seen)
    and the nesting depth from one chunk to the next.
    """
    found: list[np.ndarray] = []
    quotes_seen = depth = 0
    for base in range(0, len(data), _CHUNK):
        chunk = np.frombuffer(data, np.uint8, count=min(_CHUNK, len(data) - base), offset=base)
        quotes = _unescaped_quotes(data, chunk, base)
        structural = np.flatnonzero(_structural(chunk))
        outside = (np.searchsorted(quotes, structural) + quotes_seen) % 2 == 0
        structural = structural[outside]
        kinds = chunk[structural]
        steps = _STEP[kinds]
        before = depth + np.cumsum(steps) - steps
        top = ((kinds == _COMMA) & (before == 1)) | ((steps == 1) & (before == 0)) | ((steps == -1) & (before == 1))
        found.append(structural[top] + base)
        quotes_seen += len(quotes)
        depth += int(steps.sum())
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def _structural(chunk: np.ndarray) -> np.ndarray:
    mask = chunk == _COMMA
    for byte in (*_OPENERS, *_CLOSERS):
        mask |= chunk == byte
    return mask


def _unescaped_quotes(data: bytes, chunk: np.ndarray, base: int) -> np.ndarray:
    """Positions in ``chunk`` of the quotes that open or close a string."""
    quotes = np.flatnonzero(chunk == _QUOTE)
    if not len(quotes):
        return quotes
    after_backslash = chunk[np.maximum(quotes - 1, 0)] == _BACKSLASH
    after_backslash[0] = (
        quotes[0] > 0 and bool(after_backslash[0]) or (quotes[0] == 0 < base and data[base - 1] == _BACKSLASH)
    )
    escaped = [i for i in np.flatnonzero(after_backslash) if _escaped(data, base + int(quotes[i]))]
    return np.delete(quotes, escaped)


def _escaped(data: bytes, quote: int) -> bool:
    """Whether the quote at ``quote`` is escaped: after an odd run of backslashes.

    Only quotes right after a backslash get here with a run to walk, and a run of
    backslashes precedes one quote at most, so all the walks together read each byte once.
    """
    run = 0
    while quote - run > 0 and data[quote - run - 1] == _BACKSLASH:
        run += 1
    return run % 2 == 1


_GAP = re.compile(rb"[ \t\r\n]*,[ \t\r\n]*")  # between two elements of an array
_CLOSING = re.compile(rb"[ \t\r\n]*\][ \t\r\n]*")  # after its last element
_MAX_GAP = 64  # bytes; a longer gap between the first two elements is left to ``array_separators``


def spans_of_lengths(data: bytes, lengths: list[int]) -> list[tuple[int, int]] | None:
    """The byte spans of a *valid* JSON array's elements, from the length of each element's
    text (a parser that keeps it gives them: ``msgspec.Raw``), when every gap between two
    elements is the same bytes, as in any file one program wrote; else None.

    The spans follow from the lengths by a running sum, proved in NumPy without a scan of
    the file: each gap holds the first one's bytes (blanks, one comma, blanks) and each
    element begins with a byte that is no blank, so each gap is the whole stretch between
    two elements, and so the spans are where the elements are. ``element_span`` over
    ``array_separators`` gives the same spans, after a pass over every byte of the file.
    """
    opening = _LEADING_BLANK.match(data).end()  # type: ignore[union-attr]  # always matches
    if data[opening : opening + 1] != b"[":
        return None
    start = _LEADING_BLANK.match(data, opening + 1).end()  # type: ignore[union-attr]
    if not lengths:
        return [] if _CLOSING.fullmatch(data, start) else None
    sizes = np.array(lengths, dtype=np.int64)
    gap = _GAP.match(data, start + int(sizes[0])) if len(sizes) > 1 else None
    width = gap.end() - gap.start() if gap is not None else 0
    if len(sizes) > 1 and (gap is None or width > _MAX_GAP):
        return None
    starts = np.empty(len(sizes), dtype=np.int64)
    starts[0] = start
    np.cumsum(sizes[:-1] + width, out=starts[1:])
    starts[1:] += start
    ends = starts + sizes
    if ends[-1] > len(data) or not _CLOSING.fullmatch(data, int(ends[-1])):
        return None
    view = np.frombuffer(data, dtype=np.uint8)
    if np.isin(view[starts], np.frombuffer(_BLANK, dtype=np.uint8)).any():
        return None
    if gap is not None:  # byte by byte of the gap, so the temporaries are one number per element, not per gap byte
        for step, byte in enumerate(gap.group()):
            if not (view[ends[:-1] + step] == byte).all():
                return None
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def element_span(data: bytes, separators: np.ndarray, index: int) -> tuple[int, int]:
    """The byte span of element ``index`` between its separators, JSON whitespace trimmed."""
    start, end = int(separators[index]) + 1, int(separators[index + 1])
    start = _LEADING_BLANK.match(data, start, end).end()  # type: ignore[union-attr]  # always matches
    return start, _last_non_blank(data, start, end)


def _last_non_blank(data: bytes, start: int, end: int) -> int:
    # backwards in windows, so a megabyte of trailing spaces is stripped at C speed
    while end > start:
        window = max(start, end - 4096)
        kept = data[window:end].rstrip(_BLANK)
        if kept:
            return window + len(kept)
        end = window
    return start

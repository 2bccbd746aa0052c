"""Find where things are in a JSON file's bytes: records, fields, lines and columns.

Records are parsed by ``orjson`` (fast, strict), which keeps no positions. Positions
are only needed for the few records that have faults, so they are recovered on demand
by the light token scanner here, which also splits a broken array into its elements so
the records around a syntax error are still read. No JSON library exposes token
offsets for a byte range, hence this small hand-written scanner.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Iterator, Optional

import orjson

# A string (escapes included), one structural character, a bare scalar, or an
# unterminated string's opening quote.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},:]|[^\s\[\]{},:"]+|"', re.DOTALL)
_OPEN = frozenset((b"[", b"{"))
_CLOSE = frozenset((b"]", b"}"))


@dataclass
class ArrayScan:
    """A top-level JSON array split into element byte spans, with its structural faults."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (byte offset, message)


def split_array(data: bytes) -> ArrayScan:
    """Split a (possibly broken) top-level JSON array into element spans.

    Tolerates what real contributions get wrong (trailing commas, a missing closing
    bracket, stray text after it) and reports each as a problem at its offset.
    """
    scan = ArrayScan()
    tokens = _TOKEN.finditer(data)
    first = next(tokens, None)
    if first is None:
        scan.problems.append((0, "the file is empty; expected a JSON array of records"))
        return scan
    if first.group() != b"[":
        what = "an object" if first.group() == b"{" else "something else"
        scan.problems.append((first.start(), f"expected a JSON array of records, found {what}"))
        return scan
    depth = 0
    start: Optional[int] = None
    end = 0
    comma: Optional[int] = None
    for token in tokens:
        text = token.group()
        if depth == 0:
            if text == b",":
                if start is None:
                    scan.problems.append((token.start(), "expected a record before ','"))
                else:
                    scan.spans.append((start, end))
                start, comma = None, token.start()
                continue
            if text == b"]":
                if start is not None:
                    scan.spans.append((start, end))
                elif comma is not None:
                    scan.problems.append((comma, "trailing comma before ']'"))
                extra = next(tokens, None)
                if extra is not None:
                    scan.problems.append((extra.start(), "unexpected data after the closing ']'"))
                return scan
            if start is None:
                start = token.start()
            elif text in _OPEN or text not in _CLOSE and end <= token.start():
                if _complete(data[start:end]):
                    scan.problems.append((token.start(), "missing ',' between records"))
                    scan.spans.append((start, end))
                    start = token.start()
        if text in _OPEN:
            depth += 1
        elif text in _CLOSE:
            depth = max(depth - 1, 0)
        end = token.end()
    if start is not None:
        scan.spans.append((start, end))
    scan.problems.append((len(data), "the file ends before the closing ']' (truncated?)"))
    return scan


def _complete(chunk: bytes) -> bool:
    try:
        orjson.loads(chunk)
    except orjson.JSONDecodeError:
        return False
    return True


def pointer_offset(data: bytes, start: int, end: int, pointer: str) -> int:
    """Byte offset of the JSON pointer's target inside the value spanning ``data[start:end]``.

    Object members are located at their key, array items at their first byte. Where the
    pointer leads nowhere (a missing field), the deepest container found is returned.
    """
    tokens = _TOKEN.finditer(data, start, end)
    value = next(tokens, None)
    if value is None:
        return start
    where = value.start()
    for part in _pointer_parts(pointer):
        found = _find_child(tokens, value.group(), part)
        if found is None:
            break
        where, value = found[0].start(), found[1]
    return where


def _pointer_parts(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]


def _find_child(tokens: Iterator[re.Match], container: bytes, part: str) -> Optional[tuple[re.Match, re.Match]]:
    """Advance ``tokens`` to the child ``part`` of the container just opened.

    Returns the token to report (the key of an object member, the item itself in an
    array) and the child's first token, from which the descent goes on.
    """
    if container == b"{":
        key = part.encode("utf-8")
        depth, expect_key = 0, True
        for token in tokens:
            text = token.group()
            if depth == 0 and expect_key and text.startswith(b'"'):
                if _key_equals(text, key):
                    next(tokens, None)  # the ':'
                    value = next(tokens, None)
                    return (token, value) if value is not None else None
                expect_key = False
            elif depth == 0 and text == b",":
                expect_key = True
            elif text in _OPEN:
                depth += 1
            elif text in _CLOSE:
                if depth == 0:
                    return None
                depth -= 1
        return None
    if container == b"[" and part.isdigit():
        wanted, index, depth, at_item_start = int(part), 0, 0, True
        for token in tokens:
            text = token.group()
            if depth == 0 and text == b",":
                index, at_item_start = index + 1, True
                continue
            if depth == 0 and text == b"]":
                return None
            if at_item_start and index == wanted:
                return token, token
            at_item_start = False
            if text in _OPEN:
                depth += 1
            elif text in _CLOSE:
                depth -= 1
    return None


def _key_equals(token: bytes, key: bytes) -> bool:
    if b"\\" not in token:
        return token[1:-1] == key
    try:
        return orjson.loads(token).encode("utf-8", "surrogatepass") == key
    except (orjson.JSONDecodeError, UnicodeEncodeError):
        return False


class LineIndex:
    """Turns byte offsets into 1-based (line, character column), built once per file on demand."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._starts = [0] + [m.end() for m in re.finditer(b"\n", data)]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset) - 1
        prefix = self._data[self._starts[line] : offset]
        return line + 1, len(prefix.decode("utf-8", "replace")) + 1

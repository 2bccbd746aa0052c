"""Find where things are in a JSON file's bytes: records, fields, keys, lines and columns.

Records are parsed by ``orjson`` (fast, strict), which keeps no positions. Positions
are only needed for the few records that have faults, so they are recovered on demand
by the light token scanner here, which also splits a broken array into its elements so
the records around a syntax error are still read, and finds the repeated keys that
``orjson`` silently collapses. No JSON library exposes token offsets for a byte range,
hence this small hand-written scanner.

The scanner must survive hostile input: its string pattern is possessive, so a string
of hundreds of megabytes is matched in constant memory (a backtracking pattern keeps
state per character), and nesting is tracked in lists, never by recursion.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

_STRING = rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
# One token: a string (escapes included), a bracket, a comma, a colon, a bare scalar, or
# an unterminated string's opening quote. ``lastgroup`` names the kind, so no token's
# text (which may be a huge string) is copied to learn what it is.
_TOKENS = (
    rb"(?P<string>" + _STRING + rb")"
    rb"|(?P<open>[\[{])|(?P<close>[\]}])|(?P<comma>,)|(?P<colon>:)"
    rb'|(?P<scalar>[^\s\[\]{},:"]++)|(?P<quote>")'
)
_TOKEN = re.compile(_TOKENS, re.DOTALL)
# Splitting an array also takes a whole object holding no container as one token: most
# records are such objects, and one match per record is far cheaper than one per token.
_SPLIT_TOKEN = re.compile(rb'(?P<flat>\{(?:[^{}\[\]"]++|' + _STRING + rb")*+\})|" + _TOKENS, re.DOTALL)
_OPEN_BRACE, _CLOSE_BRACKET = ord("{"), ord("]")


@dataclass
class ArrayScan:
    """A top-level JSON array split into element byte spans, with its structural faults."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (byte offset, message)
    is_array: bool = True  # False when the file does not even start like an array


def split_array(data: bytes) -> ArrayScan:
    """Split a (possibly broken) top-level JSON array into element spans.

    Tolerates what real contributions get wrong (trailing commas, a missing closing
    bracket, stray text after it) and reports each as a problem at its offset.
    """
    scan = ArrayScan()
    tokens = _SPLIT_TOKEN.finditer(data)
    first = next(tokens, None)
    if first is None:
        scan.problems.append((0, "the file is empty; expected a JSON array of records"))
        return scan
    if first.lastgroup != "open" or data[first.start()] == _OPEN_BRACE:
        what = "an object" if data[first.start()] == _OPEN_BRACE else "something else"
        scan.problems.append((first.start(), f"expected a JSON array of records, found {what}"))
        scan.is_array = False
        return scan
    depth = 0
    start: int | None = None
    end = 0
    comma: int | None = None
    for token in tokens:
        kind = token.lastgroup
        if depth == 0:
            if kind == "comma":
                if start is None:
                    scan.problems.append((token.start(), "expected a record before ','"))
                else:
                    scan.spans.append((start, end))
                start, comma = None, token.start()
                continue
            if kind == "close" and data[token.start()] == _CLOSE_BRACKET:
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
            elif kind != "close" and _complete(data[start:end]):
                scan.problems.append((token.start(), "missing ',' between records"))
                scan.spans.append((start, end))
                start = token.start()
        if kind == "open":
            depth += 1
        elif kind == "close":
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
        found = _find_child(tokens, value, part)
        if found is None:
            break
        where, value = found[0].start(), found[1]
    return where


def to_pointer(path: Iterable[Any]) -> str:
    """RFC 6901 pointer from a sequence of keys and indices."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _pointer_parts(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]


def _find_child(tokens: Iterator[re.Match], container: re.Match, part: str) -> tuple[re.Match, re.Match] | None:
    """Advance ``tokens`` to the child ``part`` of the container just opened.

    Returns the token to report (the key of an object member, the item itself in an
    array) and the child's first token, from which the descent goes on.
    """
    if container.lastgroup != "open":
        return None
    if container.string[container.start()] == _OPEN_BRACE:
        return _find_member(tokens, part)
    if part.isdigit():
        return _find_item(tokens, int(part))
    return None


def _find_member(tokens: Iterator[re.Match], name: str) -> tuple[re.Match, re.Match] | None:
    depth, expect_key = 0, True
    for token in tokens:
        kind = token.lastgroup
        if depth == 0 and expect_key and kind == "string":
            if _key_text(token.group()) == name:
                next(tokens, None)  # the ':'
                value = next(tokens, None)
                return (token, value) if value is not None else None
            expect_key = False
        elif depth == 0 and kind == "comma":
            expect_key = True
        elif kind == "open":
            depth += 1
        elif kind == "close":
            if depth == 0:
                return None
            depth -= 1
    return None


def _find_item(tokens: Iterator[re.Match], wanted: int) -> tuple[re.Match, re.Match] | None:
    index, depth, at_item_start = 0, 0, True
    for token in tokens:
        kind = token.lastgroup
        if depth == 0 and kind == "comma":
            index, at_item_start = index + 1, True
            continue
        if depth == 0 and kind == "close":
            return None
        if at_item_start and index == wanted:
            return token, token
        at_item_start = False
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
    return None


def _key_text(token: bytes) -> str:
    """The text of a string token, escapes resolved where they can be."""
    if b"\\" in token:
        try:
            return orjson.loads(token)
        except orjson.JSONDecodeError:
            pass  # a lone surrogate escape, say: compared as written
    return token[1:-1].decode("utf-8", "replace")


@dataclass(slots=True)
class _Container:
    """An open object or array while scanning: where the scan is inside it."""

    is_object: bool
    index: int = 0  # in an array: the current item's
    key: str = ""  # in an object: the current member's
    keys: set[str] = field(default_factory=set)  # in an object: those seen so far

    @property
    def child(self) -> str | int:
        return self.key if self.is_object else self.index


class RepeatedKey(NamedTuple):
    offset: int  # of the repeating key's token
    name: str
    pointer: str  # to the member the key names


def duplicate_keys(data: bytes, start: int, end: int) -> list[RepeatedKey]:
    """Every key in ``data[start:end]`` that repeats a key of the same object, at its own place.

    Only called where a cheap test (see ``sources``) says a repeat may exist, since it
    walks every token.
    """
    found: list[RepeatedKey] = []
    stack: list[_Container] = []
    expect_key = False
    for token in _TOKEN.finditer(data, start, end):
        kind = token.lastgroup
        if kind == "open":
            is_object = data[token.start()] == _OPEN_BRACE
            stack.append(_Container(is_object))
            expect_key = is_object
        elif kind == "close":
            if stack:
                stack.pop()
            expect_key = False
        elif kind == "comma" and stack:
            container = stack[-1]
            expect_key = container.is_object
            if not container.is_object:
                container.index += 1
        elif kind == "string" and expect_key:
            container, name = stack[-1], _key_text(token.group())
            container.key = name
            if name in container.keys:
                found.append(RepeatedKey(token.start(), name, to_pointer(c.child for c in stack)))
            container.keys.add(name)
            expect_key = False
    return found


class LineIndex:
    """Turns byte offsets into 1-based (line, character column), built once per file on demand.

    Many faults can sit on one line (a file that is a single line of JSON), so every
    position placed is kept, and the next one on its line counts characters from the
    nearest one before it rather than from the line's start.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._starts = [0] + [m.end() for m in re.finditer(b"\n", data)]
        self._placed: dict[int, tuple[list[int], list[int]]] = {}  # line: (offsets, columns), sorted

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset) - 1
        offsets, columns = self._placed.setdefault(line, ([], []))
        before = bisect.bisect_right(offsets, offset)
        start, column = (offsets[before - 1], columns[before - 1]) if before else (self._starts[line], 1)
        column += _characters(self._data, start, offset)
        offsets.insert(before, offset)
        columns.insert(before, column)
        return line + 1, column


def _characters(data: bytes, start: int, end: int) -> int:
    """Characters in ``data[start:end]`` as an editor shows them (an invalid byte is one character)."""
    return len(data[start:end].decode("utf-8", "replace"))

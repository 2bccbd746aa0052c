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

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
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
# The same with no string: once one string runs to the end of the file unterminated, so
# does every later one (each later quote follows an odd run of backslashes), and trying
# each would rescan the rest of the file per quote, O(n^2) on a crafted file.
_SPLIT_TOKEN_NO_STRING = re.compile(
    rb'(?P<flat>\{[^{}\[\]"]*+\})|(?P<open>[\[{])|(?P<close>[\]}])|(?P<comma>,)|(?P<colon>:)'
    rb'|(?P<scalar>[^\s\[\]{},:"]++)|(?P<quote>")',
    re.DOTALL,
)
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
    tokens = _split_tokens(data)
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
    # whether the element begun at ``start`` was tried as a whole value already: one try
    # per element (a value followed by more is never valid), so splitting stays linear
    tried = False
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
                start, tried = token.start(), False
            elif kind != "close" and not tried:
                tried = True
                if _complete(data[start:end]):
                    scan.problems.append((token.start(), "missing ',' between records"))
                    scan.spans.append((start, end))
                    start, tried = token.start(), False
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth = max(depth - 1, 0)
        end = token.end()
    if start is not None:
        scan.spans.append((start, end))
    scan.problems.append((len(data), "the file ends before the closing ']' (truncated?)"))
    return scan


def _split_tokens(data: bytes) -> Iterator[re.Match]:
    """``_SPLIT_TOKEN``'s tokens, and after the first unterminated string ``_SPLIT_TOKEN_NO_STRING``'s."""
    position = 0
    for token in _SPLIT_TOKEN.finditer(data):
        yield token
        if token.lastgroup == "quote":
            position = token.end()
            break
    else:
        return
    yield from _SPLIT_TOKEN_NO_STRING.finditer(data, position)


def _complete(chunk: bytes) -> bool:
    try:
        orjson.loads(chunk)
    except orjson.JSONDecodeError:
        return False
    return True


def to_pointer(path: Iterable[Any]) -> str:
    """RFC 6901 pointer from a sequence of keys and indices."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _pointer_parts(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]


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


def pointer_offsets(data: bytes, start: int, end: int, pointers: Iterable[str], flat: bool = False) -> dict[str, int]:
    """Byte offset of each JSON pointer's target inside the valid value spanning ``data[start:end]``.

    Object members are located at their key (the first, if a key repeats), array items at
    their first byte; where a pointer leads nowhere (a missing field), at the deepest
    container found on its way. All pointers are placed in one walk over the value's
    tokens, which stops once every target is found, so a record with N faulty fields
    costs one pass, not N.

    ``flat``: the value is an object holding no object (a record that passed the schema),
    so a member's key is the first unescaped ``"name"`` followed by a colon: found by a
    byte search, not a walk. Pointers deeper than a member still take the walk.
    """
    pointers = list(pointers)
    if flat:
        found = _member_offsets(data, start, end, pointers)
        if found is not None:
            return found
    root = _Target()
    wanted = {pointer: root.descend(_pointer_parts(pointer)) for pointer in pointers}
    tokens = _TOKEN.finditer(data, start, end)
    first = next(tokens, None)
    if first is None:
        return dict.fromkeys(wanted, start)
    root.offset = first.start()
    if root.children and first.lastgroup == "open":
        _walk(data, tokens, first, root, sum(1 for target in root.all() if target.offset is None))
    return {pointer: target.found() for pointer, target in wanted.items()}


_BLANKS = rb"[ \t\r\n]*"


def _member_offsets(data: bytes, start: int, end: int, pointers: list[str]) -> dict[str, int] | None:
    """Where each pointer's member key lies in a flat object, or None when a pointer is
    not ``""`` or ``/name``, or a key is not found spelled plainly (then the walk decides)."""
    found: dict[str, int] = {}
    for pointer in pointers:
        if not pointer:
            found[pointer] = start
            continue
        name = pointer[1:]
        if "/" in name or "~" in name or "\\" in name or '"' in name:
            return None
        offset = _plain_key(data, start, end, name.encode("utf-8"))
        if offset is None:
            return None
        found[pointer] = offset
    return found


def _plain_key(data: bytes, start: int, end: int, name: bytes) -> int | None:
    """The first ``"name"`` with an unescaped opening quote followed by a colon, in a flat object.

    Such a quote opens a string (a closing one is followed by a comma, colon or brace, not
    by the name), and a string followed by a colon is a key: in an object holding no
    object, a member's.
    """
    pattern = _key_pattern(name)
    position = start
    while (match := pattern.search(data, position, end)) is not None:
        quote = match.start()
        backslashes = 0
        while quote - backslashes - 1 >= start and data[quote - backslashes - 1] == 0x5C:
            backslashes += 1
        if backslashes % 2 == 0:
            return quote
        position = quote + 1
    return None


@lru_cache(maxsize=64)
def _key_pattern(name: bytes) -> re.Pattern[bytes]:
    return re.compile(b'"' + re.escape(name) + b'"' + _BLANKS + b":")


@dataclass(eq=False)
class _Target:
    """A node of the tree of wanted pointers: its children by key or index, and where it was found."""

    parent: _Target | None = None
    children: dict[str, _Target] = field(default_factory=dict)
    offset: int | None = None

    def descend(self, parts: list[str]) -> _Target:
        node = self
        for part in parts:
            node = node.children.setdefault(part, _Target(node))
        return node

    def all(self) -> Iterator[_Target]:
        yield self
        for child in self.children.values():
            yield from child.all()

    def found(self) -> int:
        """Its own offset, or the nearest found ancestor's (the deepest container on the way)."""
        node: _Target | None = self
        while node is not None and node.offset is None:
            node = node.parent
        return node.offset if node is not None and node.offset is not None else 0


@dataclass(slots=True)
class _Open:
    """A container being walked: the wanted node it is (None: nothing wanted inside), where the walk is."""

    target: _Target | None
    is_object: bool
    index: int = 0
    expect_key: bool = True  # objects: the next string is a key
    at_item: bool = True  # arrays: the next token starts an item
    member: _Target | None = None  # objects: the wanted node of the member whose value comes next


def _walk(data: bytes, tokens: Iterator[re.Match], first: re.Match, root: _Target, missing: int) -> None:
    stack = [_Open(root, data[first.start()] == _OPEN_BRACE)]
    for token in tokens:
        if missing == 0 or not stack:
            return
        kind, frame = token.lastgroup, stack[-1]
        child: _Target | None = None
        if frame.is_object:
            if kind == "string" and frame.expect_key:
                frame.expect_key = False
                frame.member = frame.target.children.get(_key_text(token.group())) if frame.target else None
                if frame.member is not None and frame.member.offset is None:
                    frame.member.offset = token.start()
                    missing -= 1
                continue
            if kind == "colon":
                continue
            if kind == "comma":
                frame.expect_key, frame.member = True, None
                continue
            child = frame.member  # the member's value begins here
            frame.member = None
        else:
            if kind == "comma":
                frame.index, frame.at_item = frame.index + 1, True
                continue
            if frame.at_item and kind != "close":
                frame.at_item = False
                child = frame.target.children.get(str(frame.index)) if frame.target else None
                if child is not None and child.offset is None:
                    child.offset = token.start()
                    missing -= 1
        if kind == "open":
            wanted_inside = child if child is not None and child.children else None
            stack.append(_Open(wanted_inside, data[token.start()] == _OPEN_BRACE))
        elif kind == "close":
            stack.pop()

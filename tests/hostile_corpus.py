"""Hostile source files, generated: what broken tools, other encodings and accidents produce.

Each file is written from parts: bytes, and ``Expect`` marks placed exactly where a fault
must be reported. The expected (line, column) of a mark is computed here from the bytes
before it, independently of the reader's own position code, so a test compares the
reader against a second opinion, not against itself.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from conftest import good_record

BOM = b"\xef\xbb\xbf"
#: Far deeper than any JSON reader goes (orjson stops at 1024, Python's json near 1000).
DEEP = 100_000
#: Where orjson stops reading a deep value: just after the bracket that exceeds its limit.
READER_DEPTH = 1025
#: Where editors (and GitHub) start a new line: LF, CRLF, or a lone CR.
EDITOR_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Expect:
    """A fault the reader must report at this place in the file."""

    rule: str
    pointer: str = ""


Part = bytes | Expect
Record = Part | tuple[Part, ...]  # a record's bytes, with the marks inside it


@dataclass(frozen=True)
class HostileFile:
    name: str
    suffix: str  # ".json" (an array of records) or ".jsonl" (a record per line)
    parts: tuple[Part, ...]
    accepted: int  # the good records in the file, which must still be read and accepted

    @property
    def content(self) -> bytes:
        return b"".join(part for part in self.parts if isinstance(part, bytes))

    def write(self, folder: Path) -> Path:
        path = folder / f"{self.name}{self.suffix}"
        path.write_bytes(self.content)
        return path

    def expected_faults(self) -> list[tuple[str, int, int, str]]:
        """(rule, line, column, pointer) of every mark, columns counted in characters."""
        expected, before = [], b""
        for part in self.parts:
            if isinstance(part, bytes):
                before += part
                continue
            text = before.removeprefix(BOM).decode("utf-8", "replace")
            breaks = list(EDITOR_LINE_BREAK.finditer(text))
            line_start = breaks[-1].end() if breaks else 0
            expected.append((part.rule, len(breaks) + 1, len(text) - line_start + 1, part.pointer))
        return expected


_numbers = itertools.count()


def good() -> bytes:
    """A valid record unlike any other here: no fault of its own, and no duplicate even across files."""
    return orjson.dumps(good_record(next(_numbers)))


def array(*records: Record) -> tuple[Part, ...]:
    """A JSON array with one record a line, as hand-edited files look."""
    parts: list[Part] = [b"["]
    for number, record in enumerate(records):
        parts += [b",\n" if number else b"", *_parts(record)]
    return (*parts, b"]\n")


def lines(*records: Record) -> tuple[Part, ...]:
    """JSON Lines: a record a line."""
    return tuple(part for record in records for part in (*_parts(record), b"\n"))


def _parts(record: Record) -> tuple[Part, ...]:
    return record if isinstance(record, tuple) else (record,)


def deep_array() -> tuple[Part, ...]:
    return (b"[" * READER_DEPTH, Expect("json.too-deep"), b"[" * (DEEP - READER_DEPTH), b"]" * DEEP)


def deep_object() -> tuple[Part, ...]:
    return (
        b'{"a":' * (READER_DEPTH - 1) + b"{",
        Expect("json.too-deep"),
        b'"a":' + b'{"a":' * (DEEP - READER_DEPTH),
        b"1",
        b"}" * DEEP,
    )


CASES: tuple[HostileFile, ...] = (
    HostileFile("bom", ".json", (Expect("encoding.bom"), BOM, *array(good(), good())), accepted=2),
    HostileFile("bom-lines", ".jsonl", (Expect("encoding.bom"), BOM, *lines(good(), good())), accepted=2),
    HostileFile(
        "latin-1-byte",
        ".json",
        array(
            good(), (b'{"instruction": "caf', Expect("encoding.invalid-utf8"), b'\xe9", "output": "latin-1"}'), good()
        ),
        accepted=2,
    ),
    HostileFile(
        "gbk-line",
        ".jsonl",
        lines(
            good(),
            (b'{"instruction": "', Expect("encoding.invalid-utf8"), "中文".encode("gbk") + b'", "output": "x"}'),
            good(),
        ),
        accepted=2,
    ),
    HostileFile(
        "lone-surrogates",
        ".json",
        array(
            good(),
            (b'{"instruction": "high ', Expect("encoding.lone-surrogate"), b'\\ud800 alone", "output": "x"}'),
            (b'{"instruction": "low ', Expect("encoding.lone-surrogate"), b'\\udc00 alone", "output": "x"}'),
            (b'{"instruction": "high ', Expect("encoding.lone-surrogate"), b'\\ud800\\u0041 unpaired", "output": "x"}'),
            b'{"instruction": "a pair is fine: \\ud83d\\ude00", "output": "x"}',
        ),
        accepted=2,
    ),
    HostileFile(
        "nan-infinity",
        ".json",
        array(
            good(),
            (b'{"instruction": ', Expect("json.syntax"), b'NaN, "output": "x"}'),
            (b'{"instruction": "x", "output": ', Expect("json.syntax"), b"Infinity}"),
            good(),
        ),
        accepted=2,
    ),
    HostileFile(
        "negative-infinity",
        ".jsonl",
        lines(good(), (b'{"instruction": "x", "output": -', Expect("json.syntax"), b"Infinity}"), good()),
        accepted=2,
    ),
    HostileFile(
        "duplicate-keys",
        ".json",
        array(
            good(),
            (
                b'{"instruction": "a", ',
                Expect("json.duplicate-key", "/instruction"),
                b'"instruction": "b", "output": "c"}',
            ),
            good(),
        ),
        accepted=2,
    ),
    HostileFile(
        "duplicate-nested-keys",
        ".jsonl",
        lines(
            good(),
            (
                b'{"instruction": "q", "output": "a", "history": [["u", "v"], {"x": 1, ',
                Expect("json.duplicate-key", "/history/1/x"),
                b'"x": 2}], "o\\u003ap": 1}',
            ),
            b'{"instruction": "no repeat: \\u003a", "output": "a colon spelled as an escape"}',
        ),
        accepted=2,
    ),
    HostileFile("deep-array", ".json", array(good(), deep_array(), good()), accepted=2),
    HostileFile("deep-object", ".jsonl", lines(good(), deep_object(), good()), accepted=2),
    HostileFile(
        "big-numbers",
        ".jsonl",
        lines(
            good(),
            (
                b"{",
                Expect("schema.type", "/instruction"),
                b'"instruction": 123456789012345678901234567890, "output": "x"}',
            ),
            (b'{"instruction": "q", ', Expect("schema.type", "/output"), b'"output": -99999999999999999999999999}'),
            (b'{"instruction": "q", "output": ', Expect("json.syntax"), b"9" * 5000 + b"}"),
            (b'{"instruction": "q", "output": ', Expect("json.syntax"), b"1e400}"),
            good(),
        ),
        accepted=2,
    ),
    HostileFile(
        "line-separators",
        ".jsonl",
        lines(
            '{"instruction": "one\u2028line", "output": "still\u2029one\\r line"}'.encode(),
            (b'{"instruction": "x", ', Expect("schema.additionalProperties", "/extra"), b'"extra": 1, "output": "y"}'),
        ),
        accepted=1,
    ),
    HostileFile(
        "truncated",
        ".json",
        (*array(good(), good(), b'{"instruction": "cut he')[:-1], Expect("json.syntax")),
        accepted=2,
    ),
    HostileFile(
        "truncated-lines", ".jsonl", (*lines(good()), b'{"instruction": "cut', Expect("json.syntax")), accepted=1
    ),
    HostileFile(
        "trailing-commas",
        ".json",
        (
            *array(good(), (b'{"instruction": "a", "output": "b"', Expect("json.syntax"), b",}"), good())[:-1],
            Expect("json.syntax"),
            b",\n]\n",
        ),
        accepted=2,
    ),
    HostileFile(
        "cr-line-endings",
        ".json",
        (
            b"[",
            good(),
            b",\r",
            Expect("schema.required"),
            b'{"instruction": "no output"},\r\n',
            b'{"instruction": "x", "output": "y",\r ',
            Expect("schema.additionalProperties", "/extra"),
            b'"extra": 1}\r]\r',
        ),
        accepted=1,
    ),
    HostileFile(
        "cr-only-lines",
        ".jsonl",
        (good(), b"\r{", Expect("json.syntax"), b"oops}\r", good(), b"\r"),
        accepted=2,
    ),
    HostileFile(
        "utf-16-no-bom",
        ".json",
        (Expect("encoding.not-utf8"), '[{"instruction": "x", "output": "y"}]'.encode("utf-16-le")),
        accepted=0,
    ),
    HostileFile(
        "utf-32-big-endian",
        ".jsonl",
        (Expect("encoding.not-utf8"), '{"instruction": "x", "output": "y"}\n'.encode("utf-32-be")),
        accepted=0,
    ),
    HostileFile(
        "utf-16-with-bom",
        ".json",
        (Expect("encoding.not-utf8"), '[{"instruction": "中", "output": "文"}]'.encode("utf-16")),
        accepted=0,
    ),
    HostileFile("empty", ".json", (Expect("json.empty"),), accepted=0),
    HostileFile("blank-lines", ".jsonl", (Expect("json.empty"), b"\n  \r\n\n"), accepted=0),
    HostileFile("object-not-array", ".json", (Expect("json.not-array"), good()), accepted=0),
    HostileFile("string-not-array", ".json", (Expect("json.not-array"), b'"records"'), accepted=0),
)


def write_huge_line(path: Path, size: int) -> int:
    """A JSONL file whose middle line is one valid record of about ``size`` bytes.

    Written in 1 MiB blocks, so generating it costs no more memory than a block. Returns
    the file's size.
    """
    block = b"abcdefghij" * ((1 << 20) // 10)
    with path.open("wb") as out:
        out.write(good() + b"\n" + b'{"instruction": "')
        for _ in range(max(size // len(block), 1)):
            out.write(block)
        out.write(b'", "output": "a very long instruction"}\n' + good() + b"\n")
    return path.stat().st_size


# --- shapes that cost more than linear time if any step is careless -------------------
# Each builds a file of about ``n`` units and says how many faults it must give; the
# tests check the faults on small files, ``bench/linearity.py`` times them at two sizes.


@dataclass(frozen=True)
class Shape:
    name: str
    suffix: str
    build: Callable[[int], bytes]  # n -> the file's bytes
    faults: Callable[[int], int]  # n -> how many faults validate reports
    rule: str  # the rule of (most of) those faults


def _unknown_fields(n: int) -> bytes:
    """One record with n fields beyond the schema: n faults, each to be located at its key."""
    extra = b"".join(b', "field%d": %d' % (i, i) for i in range(n))
    return b'[{"instruction": "q", "output": "a"' + extra + b"}]\n"


def _unsplittable(n: int) -> bytes:
    """A broken array whose one element is n tokens that never make a value (`: : : ...`)."""
    return b"[" + b": " * n + b"]\n"


def _unterminated_strings(n: int) -> bytes:
    """A broken array of n escaped quotes after an opening one: every later quote opens a string
    that runs to the end of the file."""
    return b'["' + b'\\" ' * n


def _missing_commas(n: int) -> bytes:
    """n records with no commas between them: n - 1 faults, every record still read."""
    return b"[" + b" ".join(orjson.dumps(good_record(i)) for i in range(n)) + b"]\n"


def _faults_on_one_line(n: int) -> bytes:
    """n records on a single line, each missing its output: n faults on one line."""
    return b"[" + b",".join(b'{"instruction": "q%d"}' % i for i in range(n)) + b"]"


def _history_faults(n: int) -> bytes:
    """One record whose history has n turns that are not pairs: n faults inside one record."""
    turns = b",".join(b'["u%d"]' % i for i in range(n))
    return b'[{"instruction": "q", "output": "a", "history": [' + turns + b"]}]\n"


def _lines_then_fault(n: int) -> bytes:
    """n good JSONL records, then a broken line: one fault, at the last line."""
    return b"".join(orjson.dumps(good_record(i)) + b"\n" for i in range(n)) + b'{"instruction": \n'


def _cr_only_faults(n: int) -> bytes:
    """n records on lines ended by a lone CR (old Mac style), each missing its output."""
    return b"[" + b",\r".join(b'{"instruction": "q%d"}' % i for i in range(n)) + b"]\r"


SHAPES: tuple[Shape, ...] = (
    Shape("unknown-fields", ".json", _unknown_fields, lambda n: n, "schema.additionalProperties"),
    Shape("unsplittable-element", ".json", _unsplittable, lambda n: 1, "json.syntax"),
    Shape("unterminated-strings", ".json", _unterminated_strings, lambda n: 2, "json.syntax"),
    Shape("missing-commas", ".json", _missing_commas, lambda n: n - 1, "json.syntax"),
    Shape("faults-on-one-line", ".json", _faults_on_one_line, lambda n: n, "schema.required"),
    Shape("history-faults", ".json", _history_faults, lambda n: n, "schema.minItems"),
    Shape("lines-then-fault", ".jsonl", _lines_then_fault, lambda n: 1, "json.syntax"),
    Shape("cr-only-lines", ".json", _cr_only_faults, lambda n: n, "schema.required"),
)

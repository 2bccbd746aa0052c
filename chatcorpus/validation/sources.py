"""Read contributed JSON-array and JSONL files into records that remember where they came from.

Parsing is done by ``orjson`` over the whole file, the fast path for the common case of
a well-formed file. When a file does not parse, it is split into its elements by
``locate.split_array`` and each element is parsed on its own, so one stray comma costs
a reported fault, not the thousands of good records around it. Positions are computed
only when a fault needs one.

What ``orjson`` refuses is named by its cause, not lumped in with syntax: bytes that are
not UTF-8, a lone surrogate escape (``"\\ud800"``, which no UTF-8 text can hold), nesting
beyond its depth limit. What it accepts silently, a key repeated within one object
(the last value wins), is found by a cheap count and reported, and the record rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from chatcorpus.validation.corpus_shape import CONFIG_NAMES
from chatcorpus.validation.faults import Fault, Problem, Severity
from chatcorpus.validation.locate import LineIndex, duplicate_keys, pointer_offset, split_array

SOURCE_SUFFIXES = (".json", ".jsonl")
_BOM = b"\xef\xbb\xbf"
_BLANK = re.compile(rb"[ \t\r\n]*")  # JSON's whitespace, nothing more
#: How ``orjson`` refuses a value nested deeper than it reads, and that depth.
_TOO_DEEP, _MAX_DEPTH = "depth limit exceeded", 1024


@dataclass(frozen=True)
class SourceRef:
    """A file to read, the name it is reported under, and the config it belongs to (if any)."""

    path: Path
    display: str
    config: str | None


@dataclass
class ParsedSource:
    """The records of one file, each with its 0-based index, plus the file's own faults.

    ``records_read`` counts every element found, including those that did not parse, so
    that rows read = rows accepted + rows rejected holds.
    """

    ref: SourceRef
    data: bytes
    jsonl: bool
    records: list[tuple[int, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    unparsed: int = 0  # elements found but not parseable: rejected rows
    _spans: list[tuple[int, int]] | None = None
    _lines: LineIndex | None = None

    @property
    def records_read(self) -> int:
        return len(self.records) + self.unparsed

    def locate(self, index: int, pointer: str = "") -> tuple[int, int]:
        """(line, column) of a record, or of the field the JSON pointer names inside it."""
        spans = self._element_spans()
        if index >= len(spans):
            return 0, 0
        start, end = spans[index]
        return self.position(pointer_offset(self.data, start, end, pointer))

    def position(self, offset: int) -> tuple[int, int]:
        if self._lines is None:
            self._lines = LineIndex(self.data)
        return self._lines.position(offset)

    def fault(self, problem: Problem, severity: Severity, index: int | None) -> Fault:
        """Place a problem found in record ``index`` (or in the file, when None)."""
        line, column = self.locate(index, problem.pointer) if index is not None else (1, 1)
        return Fault(self.ref.display, line, column, problem.rule, severity, problem.message, index, problem.pointer)

    def report(
        self,
        rule: str,
        message: str,
        offset: int | None = None,
        index: int | None = None,
        pointer: str = "",
        severity: Severity = Severity.ERROR,
        seen: set[tuple[int, int]] | None = None,
    ) -> None:
        """Record a fault found while reading, at a byte offset (or at the file's start).

        With ``seen``, a fault at a place already in it is dropped: one place, one fault.
        """
        line, column = self.position(offset) if offset is not None else (1, 1)
        if seen is not None:
            if (line, column) in seen:
                return
            seen.add((line, column))
        self.faults.append(Fault(self.ref.display, line, column, rule, severity, message, index, pointer))

    def _element_spans(self) -> list[tuple[int, int]]:
        if self._spans is None:
            self._spans = _jsonl_spans(self.data) if self.jsonl else split_array(self.data).spans
        return self._spans


def discover(paths: list[Path]) -> list[SourceRef]:
    """Source files under the given files and folders, in a stable order.

    A folder named after a config holds that config's files; a folder that holds
    config folders is a source root. Other files are read with no config (the
    config-specific rules are then skipped). A file named twice (on its own and inside
    a folder) is read once, so it is not its own duplicate.
    """
    refs: list[SourceRef] = []
    for path in paths:
        if path.is_file():
            if path.suffix not in SOURCE_SUFFIXES:
                from chatcorpus.errors import UsageError  # imports the builder (datasets): only on this error path

                raise UsageError(
                    f"{path}: not a {' or '.join(SOURCE_SUFFIXES)} file; contributions are JSON arrays (.json) "
                    "or JSON Lines (.jsonl), named so"
                )
            refs.append(SourceRef(path, str(path), _config_of(path.parent)))
        elif path.is_dir():
            config_dirs = [path / name for name in CONFIG_NAMES if (path / name).is_dir()]
            for folder in config_dirs or [path]:
                refs.extend(SourceRef(f, str(f), _config_of(folder)) for f in _source_files(folder))
        else:
            from chatcorpus.errors import SourceLayoutError  # imports the builder (datasets): only on this error path

            raise SourceLayoutError(f"{path}: no such file or folder")
    unique: dict[Path, SourceRef] = {}
    for ref in refs:
        unique.setdefault(ref.path.resolve(), ref)
    return list(unique.values())


def config_sources(root: Path, config: str) -> list[SourceRef]:
    """The files of one config under a source root, reported relative to the root."""
    folder = root / config
    if not folder.is_dir():
        return []
    return [SourceRef(f, f.relative_to(root).as_posix(), config) for f in _source_files(folder)]


def _source_files(folder: Path) -> list[Path]:
    # sorted by the path's bytes, so the order (and so the shards) never depends on the locale
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix in SOURCE_SUFFIXES]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix().encode("utf-8"))


def _config_of(folder: Path) -> str | None:
    """The config a folder's files belong to: the nearest enclosing folder named after one,
    as ``build`` reads a config folder with all its subfolders."""
    for candidate in (folder, *folder.parents):
        if candidate.name in CONFIG_NAMES:
            return candidate.name
    return None


@dataclass(frozen=True)
class _Failure:
    """Why a stretch of the file did not become a record, and where (a byte offset into the file)."""

    rule: str
    detail: str
    offset: int
    pointer: str = ""

    def message(self, subject: str) -> str:
        if self.rule == "json.syntax":
            return f"{subject} is not valid JSON: {self.detail}"
        return f"{subject} {self.detail}"


def read_source(ref: SourceRef) -> ParsedSource:
    """Parse one file; every fault found on the way is recorded, none is raised."""
    try:
        data = ref.path.read_bytes()
    except (OSError, MemoryError) as err:
        source = ParsedSource(ref, b"", jsonl=False)
        reason = str(err) if isinstance(err, OSError) else "the file is too large to read into memory"
        source.faults.append(Fault(ref.display, 0, 0, "file.unreadable", Severity.ERROR, reason))
        return source
    jsonl = ref.path.suffix == ".jsonl"
    if data.startswith(_BOM):
        data = data[len(_BOM) :]  # offsets below are relative to the text after the BOM
        source = ParsedSource(ref, data, jsonl)
        source.report("encoding.bom", "the file starts with a UTF-8 byte order mark", severity=Severity.WARNING)
    else:
        source = ParsedSource(ref, data, jsonl)
    try:
        if jsonl:
            _read_jsonl(source)
        else:
            _read_array(source)
    except MemoryError:
        # nothing of a file read in part may be published: its records are dropped, loudly
        source.records, source.unparsed = [], 0
        source.faults.append(
            Fault(
                ref.display,
                0,
                0,
                "file.unreadable",
                Severity.ERROR,
                "ran out of memory reading the file; split it into smaller files",
            )
        )
    return source


def _read_array(source: ParsedSource) -> None:
    whole = [(0, len(source.data))]
    value, failure = _parse(memoryview(source.data), *whole[0])
    if failure is not None:
        _salvage_array(source, failure)
    elif not isinstance(value, list):
        what = "an object" if isinstance(value, dict) else f"a {type(value).__name__}"
        source.report("json.not-array", f"expected a JSON array of records, found {what}")
    elif _may_repeat_keys(source.data, whole, value):
        # rare: read element by element, so that only the records that repeat a key are rejected
        source._spans = split_array(source.data).spans
        _report(source, _read_elements(source, source._spans), "record", set())
    else:
        source.records = list(enumerate(value))


def _salvage_array(source: ParsedSource, failure: _Failure) -> None:
    """Report where the file stops being JSON, then read every element that parses alone.

    One place, one fault: the first reported there stands. The whole-file parser's fault
    is left out when it lies in an element that fails on its own, which says it better.
    """
    if _BLANK.fullmatch(source.data):
        source.report("json.empty", "the file is empty; expected a JSON array")
        return
    scan = split_array(source.data)
    source._spans = scan.spans
    failed = _read_elements(source, scan.spans)
    reported: set[tuple[int, int]] = set()
    if not any(start <= failure.offset <= end for _, (start, end), _ in failed):
        source.report(failure.rule, failure.message("the file"), failure.offset, pointer=failure.pointer, seen=reported)
    for offset, message in scan.problems:
        source.report("json.syntax" if scan.is_array else "json.not-array", message, offset, seen=reported)
    _report(source, failed, "record", reported)


def _read_jsonl(source: ParsedSource) -> None:
    source._spans = _jsonl_spans(source.data)
    if not source._spans:
        source.report("json.empty", "the file is empty; expected one JSON record per line")
        return
    _report(source, _read_elements(source, source._spans), "line")


_Failed = list[tuple[int, tuple[int, int], _Failure]]  # (record index, its span, why it failed)


def _read_elements(source: ParsedSource, spans: list[tuple[int, int]]) -> _Failed:
    """Parse each span alone as the record of its index; keep those that parse and repeat no key.

    Repeated keys are looked for line by line only when the whole says there may be some.
    """
    data, view = source.data, memoryview(source.data)
    read: list[tuple[int, Any]] = []
    failed: _Failed = []
    for index, span in enumerate(spans):
        value, failure = _parse(view, *span)
        if failure is None:
            read.append((index, value))
        else:
            failed.append((index, span, failure))
    parsed_spans = [(0, len(data))] if len(read) == len(spans) else [spans[index] for index, _ in read]
    if _may_repeat_keys(data, parsed_spans, [value for _, value in read]):
        repeating = [
            (index, spans[index], repeat)
            for index, value in read
            for repeat in _repeated_keys(data, *spans[index], value)
        ]
        rejected = {index for index, _, _ in repeating}
        read = [(index, value) for index, value in read if index not in rejected]
        failed += repeating
    source.records = read
    source.unparsed += len(spans) - len(read)
    return failed


def _report(source: ParsedSource, failed: _Failed, subject: str, reported: set[tuple[int, int]] | None = None) -> None:
    for index, _, failure in failed:
        source.report(failure.rule, failure.message(subject), failure.offset, index, failure.pointer, seen=reported)


def _parse(view: memoryview, start: int, end: int) -> tuple[Any, _Failure | None]:
    """Parse ``view[start:end]`` (a view, so a huge line is not copied), or say why not."""
    try:
        return orjson.loads(view[start:end]), None
    except orjson.JSONDecodeError as err:
        return None, _failure(view, start, end, err)


def _failure(view: memoryview, start: int, end: int, err: orjson.JSONDecodeError) -> _Failure:
    """Name what ``orjson`` refused by rule: bad bytes, lone surrogates and depth are not syntax errors."""
    if "UTF-8" in err.msg:  # orjson checks the encoding before parsing and then reports position 0
        try:
            str(view[start:end], "utf-8")
        except UnicodeDecodeError as bad:
            where = start + bad.start
            return _Failure(
                "encoding.invalid-utf8",
                f"holds bytes that are not UTF-8 (0x{view[where]:02X} here); save it as UTF-8",
                where,
            )
    offset = start + _byte_offset(view[start:end], err.pos)
    if "surrogate" in err.msg:
        escape = str(view[offset : offset + 6], "ascii", "replace")
        return _Failure(
            "encoding.lone-surrogate", f"holds the lone surrogate {escape}: half of a UTF-16 pair, no character", offset
        )
    if err.msg == _TOO_DEEP:
        return _Failure(
            "json.too-deep", f"is nested more than {_MAX_DEPTH} levels deep, beyond what JSON readers accept", offset
        )
    return _Failure("json.syntax", err.msg, offset)


def _repeated_keys(data: bytes, start: int, end: int, value: Any) -> list[_Failure]:
    """A failure per key that repeats one of its object, which ``orjson`` would silently collapse."""
    if not _may_repeat_keys(data, [(start, end)], value):
        return []
    why = "in one object; readers disagree on which value wins"
    return [
        _Failure("json.duplicate-key", f"repeats the key {key.name!r} {why}", key.offset, key.pointer)
        for key in duplicate_keys(data, start, end)
    ]


def _may_repeat_keys(data: bytes, spans: list[tuple[int, int]], value: Any) -> bool:
    """False only where no object in the ``spans`` ``value`` was parsed from repeats a key.

    A proof by counting colons: each key is followed by one ':' outside strings, and
    ``orjson`` writes the parsed value back with one ':' per member it kept and the ':'
    inside strings unchanged. Unless a string spells ':' as an escape, the two counts
    differ exactly when a member was dropped, which is what a repeated key does. Byte
    counts at C speed keep the common case cheap; the token scan runs only when they differ.
    """
    if any(data.find(b"\\u003", start, end) >= 0 for start, end in spans):  # an escaped ':' (\\u003a) voids the count
        return True
    try:
        rewritten = orjson.dumps(value)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes
        return True
    return sum(data.count(b":", start, end) for start, end in spans) != rewritten.count(b":")


def _line_spans(data: bytes) -> Iterator[tuple[int, int]]:
    # only "\n" ends a JSONL record; U+2028 and "\r" inside a line are the line's own
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        yield start, end
        start = end + 1


def _jsonl_spans(data: bytes) -> list[tuple[int, int]]:
    return [(s, e) for s, e in _line_spans(data) if not _BLANK.fullmatch(data, s, e)]


def _byte_offset(chunk: memoryview, char_pos: int) -> int:
    """orjson reports character positions; turn one into a byte offset into ``chunk``."""
    return len(str(chunk, "utf-8", "replace")[:char_pos].encode("utf-8"))

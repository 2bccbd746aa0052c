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

import difflib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import numpy as np
import orjson

from chatcorpus.validation.corpus_shape import CONFIG_NAMES
from chatcorpus.validation.faults import Fault, Problem, Severity
from chatcorpus.validation.locate import duplicate_keys, pointer_offsets, split_array
from chatcorpus.validation.positions import array_separators, element_span, positions, spans_of_lengths

SOURCE_SUFFIXES = (".json", ".jsonl")
_BOM = b"\xef\xbb\xbf"
_BLANK = re.compile(rb"[ \t\r\n]*")  # JSON's whitespace, nothing more
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
#: How ``orjson`` refuses a value nested deeper than it reads, and that depth.
_TOO_DEEP, _MAX_DEPTH = "depth limit exceeded", 1024
_CHUNK = 1 << 22  # bytes a NumPy pass looks at once


@dataclass(frozen=True)
class SourceRef:
    """A file to read, the name it is reported under, and the config it belongs to (if any)."""

    path: Path
    display: str
    config: str | None
    #: False when the file's name is not UTF-8: its records are checked, never published
    publishable_name: bool = True


class _Pending(NamedTuple):
    """A fault found at a byte offset, not yet turned into a line and column."""

    offset: int
    rule: str
    severity: Severity
    message: str
    record: int | None  # the record's index in its file
    pointer: str


@dataclass
class ParsedSource:
    """The records of one file, each with its 0-based index, plus the file's own faults.

    ``records_read`` counts every element found, including those that did not parse, so
    that rows read = rows accepted + rows rejected holds.

    Faults are kept at their byte offsets and given lines and columns together, when
    ``faults`` is read: one sweep over the file however many there are, and none at all
    for a clean file. Record boundaries are found only when a record has a fault.
    """

    ref: SourceRef
    data: bytes
    jsonl: bool
    records: list[tuple[int, Any]] = field(default_factory=list)
    unparsed: int = 0  # elements found but not parseable: rejected rows
    _spans: list[tuple[int, int]] | None = None  # elements of a JSONL file or of an array split by hand
    _separators: np.ndarray | None = None  # of an array parsed whole, found when first needed
    _found: list[Fault | _Pending] = field(default_factory=list)  # in the order found
    _pending: int = 0  # how many of them still wait for a line and column

    @property
    def records_read(self) -> int:
        return len(self.records) + self.unparsed

    @property
    def layout(self) -> tuple[list[tuple[int, int]] | None, np.ndarray | None]:
        """Where the records lie, as far as found: their byte spans (JSONL, an array read
        element by element) or an array's separators (once a fault needed them), else None.
        ``reopen`` takes it, so that a file is never parsed twice to place a fault."""
        return self._spans, self._separators

    @property
    def faults(self) -> list[Fault]:
        """Every fault found so far, located, in the order found."""
        if self._pending:
            places = positions(self.data, (p.offset for p in self._found if isinstance(p, _Pending)))
            self._found = [
                Fault(self.ref.display, *places[p.offset], p.rule, p.severity, p.message, p.record, p.pointer)
                if isinstance(p, _Pending)
                else p
                for p in self._found
            ]
            self._pending = 0
        return list(self._found)  # type: ignore[arg-type]  # every entry is a Fault now

    def file_fault(self, rule: str, message: str) -> None:
        """A fault of the file as a whole (it cannot be read): reported at line 0."""
        self._found.append(Fault(self.ref.display, 0, 0, rule, Severity.ERROR, message))

    def record_faults(self, index: int, problems: list[tuple[Problem, Severity]], flat: bool = False) -> None:
        """Problems found in record ``index``, each at the field its pointer names (one walk for all).

        ``flat``: the record passed the schema, so it holds no object (``locate.pointer_offsets``)."""
        span = self._element_span(index)
        if span is None:
            self._found += [
                Fault(self.ref.display, 0, 0, p.rule, severity, p.message, index, p.pointer) for p, severity in problems
            ]
            return
        offsets = pointer_offsets(self.data, *span, (problem.pointer for problem, _ in problems), flat)
        self._found += [
            _Pending(offsets[p.pointer], p.rule, severity, p.message, index, p.pointer) for p, severity in problems
        ]
        self._pending += len(problems)

    def place(self, found: list[tuple[int, Problem, Severity]]) -> list[Fault]:
        """Faults for problems found later, in records by index, placed together (one sweep for all).

        For checks that run after the file's own (duplicates, here or against a release),
        on records that passed the schema: the faults are returned, not added to ``faults``.
        """
        pending: list[_Pending] = []
        for index, problem, severity in found:
            span = self._element_span(index)
            offset = pointer_offsets(self.data, *span, [problem.pointer], flat=True)[problem.pointer] if span else 0
            pending.append(_Pending(offset, problem.rule, severity, problem.message, index, problem.pointer))
        places = positions(self.data, (p.offset for p in pending))
        return [
            Fault(self.ref.display, *places[p.offset], p.rule, p.severity, p.message, p.record, p.pointer)
            for p in pending
        ]

    def report(
        self,
        rule: str,
        message: str,
        offset: int | None = None,
        index: int | None = None,
        pointer: str = "",
        severity: Severity = Severity.ERROR,
        seen: set[int] | None = None,
    ) -> None:
        """Record a fault found while reading, at a byte offset (or at the file's start).

        With ``seen``, a fault at a place already in it is dropped: one place, one fault.
        """
        offset = offset or 0
        if seen is not None:
            if offset in seen:
                return
            seen.add(offset)
        self._found.append(_Pending(offset, rule, severity, message, index, pointer))
        self._pending += 1

    def _element_span(self, index: int) -> tuple[int, int] | None:
        if self._spans is None and self._separators is None:  # an array parsed whole: its first fault
            self._spans = _array_spans(self.data)
            if self._spans is None:
                self._separators = array_separators(self.data)
        if self._spans is not None:
            return self._spans[index] if index < len(self._spans) else None
        assert self._separators is not None
        return element_span(self.data, self._separators, index) if index + 1 < len(self._separators) else None


_RAW_ELEMENTS = msgspec.json.Decoder(list[msgspec.Raw])


def _array_spans(data: bytes) -> list[tuple[int, int]] | None:
    """Where the elements of an array ``orjson`` parsed whole lie, from the length of each
    one's text, which ``msgspec`` gives (``msgspec.Raw``) without building the values, at a
    quarter of the cost of ``array_separators``; None when the lengths do not prove the spans
    (``positions.spans_of_lengths``) or ``msgspec`` cannot read the file (deeper than it goes)."""
    try:
        elements = _RAW_ELEMENTS.decode(data)
    except (msgspec.DecodeError, RecursionError, MemoryError):
        return None
    return spans_of_lengths(data, list(map(len, elements)))


@dataclass
class Discovery:
    """The files to read under some paths, and a fault for every entry that may hold records but is not read.

    Nothing is skipped silently: a folder under a source root that is not a config
    (``alpaca_zh/``, ``Alpaca-ZH/``), a file in a config folder with another suffix
    (``a.JSON``), a link that leaves the folder being read, and a file name that is not
    UTF-8 are each a located error, so their records cannot vanish from a release.
    """

    refs: list[SourceRef] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def extend(self, other: Discovery) -> None:
        self.refs += other.refs
        self.faults += other.faults


def discover(paths: list[Path]) -> list[SourceRef]:
    """The source files under the given files and folders (``scan`` without its faults)."""
    return scan(paths).refs


def scan(paths: list[Path]) -> Discovery:
    """Source files under the given files and folders, in a stable order, and the layout's faults.

    A folder named after a config (or inside one) holds that config's files; a folder
    that holds config folders (or one with a name close to a config's) is a source root;
    any other folder is read as config-less files (the config-specific rules are then
    skipped). A file named twice (on its own and inside a folder) is read once, so it is
    not its own duplicate.
    """
    found = Discovery()
    for path in paths:
        shown = display_name(str(path))
        if path.is_file():
            if path.suffix not in SOURCE_SUFFIXES:
                from chatcorpus.errors import UsageError  # imports the builder (datasets): only on this error path

                raise UsageError(
                    f"{path}: not a {' or '.join(SOURCE_SUFFIXES)} file; contributions are JSON arrays (.json) "
                    "or JSON Lines (.jsonl), named so"
                )
            found.refs.append(SourceRef(path, shown, _config_of(path.parent)))
        elif path.is_dir():
            config = _config_of(path)
            if config is not None:
                found.extend(_walk_config(path, shown, config, path.resolve()))
            elif _is_source_root(path):
                found.extend(scan_root(path, prefix=shown.rstrip("/") + "/"))
            else:
                found.refs += [SourceRef(f, display_name(str(f)), None) for f in _plain_files(path)]
        else:
            from chatcorpus.errors import SourceLayoutError  # imports the builder (datasets): only on this error path

            raise SourceLayoutError(f"{shown}: no such file or folder")
    unique: dict[Path, SourceRef] = {}
    for ref in found.refs:
        unique.setdefault(ref.path.resolve(), ref)
    found.refs = list(unique.values())
    return found


def scan_root(root: Path, configs: Iterable[str] = CONFIG_NAMES, prefix: str = "") -> Discovery:
    """The files of ``configs`` under a source root (in ``CONFIG_NAMES`` order, shown as ``prefix``
    plus the path relative to the root), and a fault for each other entry of the root that
    may hold records: a folder that is not a config, a JSON file outside every config, a
    link leading out of the root."""
    found = Discovery()
    inside = root.resolve()
    with os.scandir(root) as listing:
        entries = {entry.name: entry for entry in listing}
    for config in CONFIG_NAMES:
        entry = entries.pop(config, None)
        if entry is None:
            continue
        if entry.is_symlink() and not _inside(Path(entry.path), inside):
            found.faults.append(_outside_link(prefix + config))
        elif config in configs and entry.is_dir():
            found.extend(_walk_config(Path(entry.path), prefix + config, config, inside))
    for name in sorted(entries, key=os.fsencode):
        entry, shown = entries[name], prefix + display_name(name)
        if entry.is_symlink() and not _inside(Path(entry.path), inside):
            found.faults.append(_outside_link(shown))
        elif entry.is_dir():
            found.faults.append(
                _layout_fault(
                    shown + "/",
                    "file.unknown-folder",
                    f"is not a config folder, so its files are not read{_suggestion(name)} "
                    f"(the configs are {', '.join(CONFIG_NAMES)})",
                )
            )
        elif Path(name).suffix.lower() in SOURCE_SUFFIXES:
            found.faults.append(
                _layout_fault(
                    shown, "file.outside-config", "is in no config folder, so it is not read; move it into one"
                )
            )
    return found


def config_sources(root: Path, config: str) -> list[SourceRef]:
    """The files of one config under a source root, reported relative to the root."""
    return scan_config(root, config).refs


def scan_config(root: Path, config: str) -> Discovery:
    """The files of one config under a source root, reported relative to the root, and the folder's faults."""
    folder = root / config
    if not folder.is_dir():
        return Discovery()
    return _walk_config(folder, config, config, root.resolve())


def display_name(path: str) -> str:
    """A path as text that can be printed and stored: bytes that are not UTF-8 (a GBK name
    unpacked on Linux reaches Python as lone surrogates) are shown as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _walk_config(folder: Path, shown: str, config: str, inside: Path) -> Discovery:
    """Every file under one config folder: ``.json``/``.jsonl`` files to read, a fault for the rest.

    Links are followed only while they stay inside ``inside`` (the source root), and each
    folder is walked once, so a loop of links ends. Files are sorted by their path's
    bytes, so the order (and so the shards) never depends on the locale.
    """
    found = Discovery()
    walked: set[Path] = set()
    pending = [(folder, shown)]
    while pending:
        here, here_shown = pending.pop()
        real = here.resolve()
        if real in walked:
            continue
        walked.add(real)
        with os.scandir(here) as listing:
            entries = list(listing)
        for entry in entries:
            path, name = Path(entry.path), f"{here_shown}/{display_name(entry.name)}"
            if entry.is_symlink() and not _inside(path, inside):
                found.faults.append(_outside_link(name))
            elif entry.is_dir():
                pending.append((path, name))
            elif path.suffix in SOURCE_SUFFIXES:
                found.refs.append(SourceRef(path, name, config, display_name(entry.name) == entry.name))
                if display_name(entry.name) != entry.name:
                    found.faults.append(_name_not_utf8(name, entry.name))
            else:
                found.faults.append(_unexpected_suffix(name, path))
    found.refs.sort(key=lambda ref: os.fsencode(ref.path.relative_to(folder)))
    unique: dict[Path, SourceRef] = {}
    for ref in found.refs:  # a file and a link to it inside the root are one file, read once
        unique.setdefault(ref.path.resolve(), ref)
    found.refs = list(unique.values())
    return found


def _plain_files(folder: Path) -> list[Path]:
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix in SOURCE_SUFFIXES]
    return sorted(files, key=lambda p: os.fsencode(p.relative_to(folder)))


def _is_source_root(folder: Path) -> bool:
    """A folder holding a config folder, or one whose name is close to a config's (a typo)."""
    with os.scandir(folder) as entries:
        return any(
            entry.is_dir() and (entry.name in CONFIG_NAMES or bool(_suggestion(entry.name))) for entry in entries
        )


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root)


def _suggestion(name: str) -> str:
    """``; did you mean alpaca-zh?`` for a name close to a config's, else ``""``."""
    normalized = name.strip().lower().replace("_", "-").replace(" ", "-")
    close = difflib.get_close_matches(normalized, CONFIG_NAMES, n=1, cutoff=0.75)
    return f"; did you mean {close[0]}?" if close else ""


def _layout_fault(shown: str, rule: str, message: str) -> Fault:
    return Fault(shown, 0, 0, rule, Severity.ERROR, message)


def _outside_link(shown: str) -> Fault:
    return _layout_fault(
        shown, "file.outside-link", "is a link that leads outside the folder being read; it is not followed"
    )


def _unexpected_suffix(shown: str, path: Path) -> Fault:
    if path.suffix.lower() in SOURCE_SUFFIXES:
        fix = f"rename it to {display_name(path.stem)}{path.suffix.lower()}"
    else:
        fix = "only .json and .jsonl files are read; move it out of the config folder"
    return _layout_fault(shown, "file.unexpected-suffix", f"is not read: {fix}")


def _name_not_utf8(shown: str, name: str) -> Fault:
    raw = os.fsencode(name)
    try:
        hint = f" (read as GBK it says {raw.decode('gb18030')!r})"
    except UnicodeDecodeError:
        hint = ""
    return _layout_fault(
        shown,
        "file.name-not-utf8",
        f"the file name is not UTF-8{hint}; rename it: its records are checked but cannot be published",
    )


def _config_of(folder: Path) -> str | None:
    """The config a folder's files belong to: the nearest enclosing folder named after one,
    as ``build`` reads a config folder with all its subfolders."""
    for candidate in (folder, *folder.parents):
        if candidate.name in CONFIG_NAMES:
            return candidate.name
    return None


#: Byte order marks of the encodings a Windows "Unicode" save produces, longest first.
_WIDE_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
    (b"\xfe\xff", "UTF-16 (big-endian)"),
    (b"\xff\xfe", "UTF-16 (little-endian)"),
)


def wide_encoding(data: bytes) -> str | None:
    """The UTF-16 or UTF-32 flavour ``data`` is written in, with a byte order mark or without, else None.

    Without a mark the zero bytes tell (RFC 4627's rule): JSON text starts with an ASCII
    character, which UTF-16 and UTF-32 pad with zeros, and UTF-8 JSON never holds a zero byte.
    """
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            return name
    head = data[:4]
    if len(head) == 4 and head[:3] == b"\x00\x00\x00" and head[3]:
        return "UTF-32 (big-endian)"
    if len(head) == 4 and head[0] and head[1:] == b"\x00\x00\x00":
        return "UTF-32 (little-endian)"
    if len(head) >= 2 and not head[0] and head[1]:
        return "UTF-16 (big-endian)"
    if len(head) >= 2 and head[0] and not head[1]:
        return "UTF-16 (little-endian)"
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
        source.file_fault(
            "file.unreadable", str(err) if isinstance(err, OSError) else "the file is too large to read into memory"
        )
        return source
    jsonl = ref.path.suffix == ".jsonl"
    wide = wide_encoding(data)
    if wide is not None:
        source = ParsedSource(ref, data, jsonl)
        source.report("encoding.not-utf8", f"this file is {wide}, not UTF-8; save it as UTF-8")
        return source
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
        source.file_fault("file.unreadable", "ran out of memory reading the file; split it into smaller files")
    return source


def reopen(ref: SourceRef, spans: list[tuple[int, int]] | None, separators: np.ndarray | None) -> ParsedSource:
    """A file ``read_source`` has read, again, to place faults found later (``ParsedSource.place``),
    without parsing it: ``spans`` and ``separators`` are its ``ParsedSource.layout``. Its
    records are not read."""
    try:
        data = ref.path.read_bytes()
    except (OSError, MemoryError):  # gone since it was read: the faults are placed at its start
        data, spans = b"", []
    if data.startswith(_BOM):
        data = data[len(_BOM) :]  # as read_source: offsets are relative to the text after the BOM
    return ParsedSource(ref, data, ref.path.suffix == ".jsonl", _spans=spans, _separators=separators)


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
    reported: set[int] = set()
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


def _report(source: ParsedSource, failed: _Failed, subject: str, reported: set[int] | None = None) -> None:
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
    return sum(_colons(data, start, end) for start, end in spans) != _colons(rewritten, 0, len(rewritten))


_COLON = ord(":")


def _colons(data: bytes, start: int, end: int) -> int:
    """``data.count(b":", start, end)``; a long range is counted by NumPy in chunks, several
    times faster than ``bytes.count``'s byte-by-byte loop."""
    if end - start < 1 << 16:
        return data.count(b":", start, end)
    view = np.frombuffer(data, np.uint8, count=end - start, offset=start)
    return sum(int(np.count_nonzero(view[low : low + _CHUNK] == _COLON)) for low in range(0, len(view), _CHUNK))


def _line_spans(data: bytes) -> Iterator[tuple[int, int]]:
    """The lines of a JSONL file, ended as editors end them: ``\n``, ``\r\n`` or a lone ``\r``.

    A raw CR cannot be inside a JSON string, so a lone one only ever separates lines
    (old Mac files); U+2028 inside a string is the line's own.
    """
    if b"\r" not in data:
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end
            yield start, end
            start = end + 1
        return
    start = 0
    for brk in _LINE_BREAK.finditer(data):
        yield start, brk.start()
        start = brk.end()
    if start < len(data):
        yield start, len(data)


def _jsonl_spans(data: bytes) -> list[tuple[int, int]]:
    return [(s, e) for s, e in _line_spans(data) if not _BLANK.fullmatch(data, s, e)]


def _byte_offset(chunk: memoryview, char_pos: int) -> int:
    """orjson reports character positions; turn one into a byte offset into ``chunk``."""
    return len(str(chunk, "utf-8", "replace")[:char_pos].encode("utf-8"))

"""Read contributed JSON-array and JSONL files into records that remember where they came from.

Parsing is done by ``orjson`` over the whole file, the fast path for the common case of
a well-formed file. When a file does not parse, it is split into its elements by
``locate.split_array`` and each element is parsed on its own, so one stray comma costs
a reported fault, not the thousands of good records around it. Positions are computed
only when a fault needs one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import orjson

from chat_dataset_baseline import CONFIGS
from chatcorpus.errors import SourceLayoutError
from chatcorpus.faults import Fault, Problem, Severity
from chatcorpus.locate import LineIndex, pointer_offset, split_array

SOURCE_SUFFIXES = (".json", ".jsonl")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class SourceRef:
    """A file to read, the name it is reported under, and the config it belongs to (if any)."""

    path: Path
    display: str
    config: Optional[str]


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
    _spans: Optional[list[tuple[int, int]]] = None
    _lines: Optional[LineIndex] = None

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

    def fault(self, problem: Problem, severity: Severity, index: Optional[int]) -> Fault:
        """Place a problem found in record ``index`` (or in the file, when None)."""
        line, column = self.locate(index, problem.pointer) if index is not None else (1, 1)
        return Fault(self.ref.display, line, column, problem.rule, severity, problem.message, index, problem.pointer)

    def _element_spans(self) -> list[tuple[int, int]]:
        if self._spans is None:
            self._spans = _jsonl_spans(self.data) if self.jsonl else split_array(self.data).spans
        return self._spans


def discover(paths: list[Path]) -> list[SourceRef]:
    """Source files under the given files and folders, in a stable order.

    A folder named after a config holds that config's files; a folder that holds
    config folders is a source root. Other files are read with no config (the
    config-specific rules are then skipped).
    """
    refs: list[SourceRef] = []
    for path in paths:
        if path.is_file():
            refs.append(SourceRef(path, str(path), _config_of(path.parent)))
        elif path.is_dir():
            config_dirs = [path / name for name in CONFIGS if (path / name).is_dir()]
            for folder in config_dirs or [path]:
                refs.extend(SourceRef(f, str(f), _config_of(folder)) for f in _source_files(folder))
        else:
            raise SourceLayoutError(f"{path}: no such file or folder")
    return refs


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


def _config_of(folder: Path) -> Optional[str]:
    return folder.name if folder.name in CONFIGS else None


def read_source(ref: SourceRef) -> ParsedSource:
    """Parse one file; every fault found on the way is recorded, none is raised."""
    try:
        data = ref.path.read_bytes()
    except OSError as err:
        source = ParsedSource(ref, b"", jsonl=False)
        source.faults.append(Fault(ref.display, 0, 0, "file.unreadable", Severity.ERROR, str(err)))
        return source
    jsonl = ref.path.suffix == ".jsonl"
    if data.startswith(_BOM):
        data = data[len(_BOM) :]  # offsets below are relative to the text after the BOM
        source = ParsedSource(ref, data, jsonl)
        source.faults.append(
            Fault(ref.display, 1, 1, "encoding.bom", Severity.WARNING, "the file starts with a UTF-8 byte order mark")
        )
    else:
        source = ParsedSource(ref, data, jsonl)
    if jsonl:
        _read_jsonl(source)
    else:
        _read_array(source)
    return source


def _read_array(source: ParsedSource) -> None:
    try:
        value = orjson.loads(source.data)
    except orjson.JSONDecodeError as err:
        _salvage_array(source, err)
        return
    if not isinstance(value, list):
        what = "an object" if isinstance(value, dict) else f"a {type(value).__name__}"
        source.faults.append(
            Fault(source.ref.display, 1, 1, "json.not-array", Severity.ERROR, f"expected a JSON array of records, found {what}")
        )
        return
    source.records = list(enumerate(value))


def _salvage_array(source: ParsedSource, err: orjson.JSONDecodeError) -> None:
    """Report where the file stops being JSON, then read every element that parses alone."""
    display = source.ref.display
    if not source.data.strip():
        source.faults.append(Fault(display, 1, 1, "json.empty", Severity.ERROR, "the file is empty; expected a JSON array"))
        return
    source.faults.append(
        Fault(display, err.lineno, err.colno, "json.syntax", Severity.ERROR, f"the file is not valid JSON: {err.msg}")
    )
    scan = split_array(source.data)
    source._spans = scan.spans
    reported = {(err.lineno, err.colno)}
    for offset, message in scan.problems:
        line, column = source.position(offset)
        if (line, column) not in reported:
            reported.add((line, column))
            source.faults.append(Fault(display, line, column, "json.syntax", Severity.ERROR, message))
    for index, (start, end) in enumerate(scan.spans):
        try:
            source.records.append((index, orjson.loads(source.data[start:end])))
        except orjson.JSONDecodeError as element_err:
            source.unparsed += 1
            line, column = source.position(start + _byte_offset(source.data[start:end], element_err.pos))
            if (line, column) not in reported:
                source.faults.append(
                    Fault(display, line, column, "json.syntax", Severity.ERROR, f"record is not valid JSON: {element_err.msg}", index)
                )


def _read_jsonl(source: ParsedSource) -> None:
    display = source.ref.display
    index = 0
    spans: list[tuple[int, int]] = []
    for start, end in _line_spans(source.data):
        line = source.data[start:end]
        if not line.strip():
            continue
        spans.append((start, end))
        try:
            source.records.append((index, orjson.loads(line)))
        except orjson.JSONDecodeError as err:
            source.unparsed += 1
            line_no, column = source.position(start + _byte_offset(line, err.pos))
            source.faults.append(
                Fault(display, line_no, column, "json.syntax", Severity.ERROR, f"line is not valid JSON: {err.msg}", index)
            )
        index += 1
    source._spans = spans


def _line_spans(data: bytes) -> Iterator[tuple[int, int]]:
    # only "\n" ends a JSONL record; U+2028 and "\r" inside a line are the line's own
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        yield start, end
        start = end + 1


def _jsonl_spans(data: bytes) -> list[tuple[int, int]]:
    return [(s, e) for s, e in _line_spans(data) if data[s:e].strip()]


def _byte_offset(chunk: bytes, char_pos: int) -> int:
    """orjson reports character positions; turn one into a byte offset into ``chunk``."""
    return len(chunk.decode("utf-8", "replace")[:char_pos].encode("utf-8"))

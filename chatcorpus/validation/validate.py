"""Validate contributed files: schema, lint rules and duplicates, every fault located.

This is the one place records are judged. ``chat-dataset-baseline validate`` reports
what it finds; ``build`` takes the accepted records of the same check, so what CI
accepts and what a release publishes can never differ.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

from chatcorpus.validation import schema_check
from chatcorpus.validation.faults import Fault, Problem, Severity
from chatcorpus.validation.normalize import duplicate_keys
from chatcorpus.validation.records import LANGUAGE_FIELDS, content_id, languages_of
from chatcorpus.validation.rules import (
    MANDATORY_PREFIXES,
    RULES,
    TEXT_FIELDS,
    THOROUGH_RULES,
    RecordContext,
    Rule,
    TextFrame,
)
from chatcorpus.validation.sources import ParsedSource, SourceRef, discover, read_source
from chatcorpus.validation.textstats import string_array, string_scalar


@dataclass
class AcceptedRecord:
    index: int
    record: dict[str, Any]
    id: str
    language: str
    #: what near-duplicates are compared by (``near_duplicate_key``); a release's duplicate index holds its hash
    near_key: str = ""


@dataclass
class FileResult:
    """One file's verdict: the records a build may publish and every fault found."""

    source: ParsedSource
    accepted: list[AcceptedRecord] = field(default_factory=list)
    rejected: int = 0
    faults: list[Fault] = field(default_factory=list)

    @property
    def records_read(self) -> int:
        return self.source.records_read


@dataclass
class ValidationReport:
    """All faults of a run, sorted by file, line and column, with the counts they came from."""

    faults: list[Fault]
    files: int
    records: int
    rejected: int

    @property
    def errors(self) -> int:
        return sum(fault.is_error for fault in self.faults)

    @property
    def warnings(self) -> int:
        return len(self.faults) - self.errors


_INDEX_BITS = 32  # a place is one int: (file number << 32) | record index


class Validator:
    """Checks files one at a time, remembering records across files to find duplicates.

    Memory grows with the number of distinct records (two int-to-int dict entries each,
    about 200 bytes), never with the text of files already checked.
    """

    def __init__(self, disabled: Iterable[str] = (), *, thorough: bool = False) -> None:
        self.disabled = frozenset(disabled)
        unknown = self.disabled - RULES.keys()
        if unknown:
            raise _usage_error(f"unknown rule id(s): {', '.join(sorted(unknown))}; see `validate --list-rules`")
        mandatory = sorted(rule for rule in self.disabled if rule.startswith(MANDATORY_PREFIXES))
        if mandatory:
            raise _usage_error(
                f"{', '.join(mandatory)} cannot be switched off: a record it rejects would have no reason"
            )
        self._lint: list[Rule] = [
            rule
            for rule in RULES.values()
            if rule.check is not None and rule.id not in self.disabled and (thorough or rule.id not in THOROUGH_RULES)
        ]
        self._files: list[SourceRef] = []
        self._exact: dict[int, int] = {}  # record id -> place of its first occurrence
        self._normalized: dict[int, int] = {}  # hash of the near-duplicate key -> place

    def check(self, ref: SourceRef) -> FileResult:
        source = read_source(ref)
        self._files.append(ref)
        result = FileResult(source, rejected=source.unparsed)
        result.faults.extend(f for f in source.faults if f.rule not in self.disabled)
        records = [record if isinstance(record, dict) else {} for _, record in source.records]
        frame = _text_frame(records, ref.config)
        problems = [schema_check.schema_problems(record) for _, record in source.records]
        self._lint_frame(frame, records, problems)
        normalized = _normalized_texts(frame)
        for position, (index, record) in enumerate(source.records):
            found = problems[position]
            record_id = None
            near_key = ""
            if not any(_severity(p) is Severity.ERROR for p in found):
                near_key = near_duplicate_key(record, normalized[position])
                record_id, duplicate = self._deduplicate(record, near_key, ref, index)
                found.extend(duplicate)
            found = [p for p in found if p.rule not in self.disabled]
            result.faults.extend(source.fault(p, _severity(p), index) for p in found)
            if record_id is None or any(_severity(p) is Severity.ERROR for p in found):
                result.rejected += 1
            else:
                result.accepted.append(AcceptedRecord(index, record, record_id, frame.languages[position], near_key))
        return result

    def _lint_frame(self, frame: TextFrame, records: list[dict[str, Any]], problems: list[list[Problem]]) -> None:
        """Run each lint rule on the records its pre-filter selects."""
        for rule in self._lint:
            check, prefilter = rule.check, rule.prefilter
            if check is None:  # applied elsewhere
                continue
            candidates = prefilter(frame) if prefilter is not None else np.ones(len(frame), dtype=bool)
            for position in np.flatnonzero(candidates):
                if records[position]:
                    ctx = RecordContext(frame.config, frame.languages[position])
                    problems[position].extend(check(records[position], ctx))

    def _deduplicate(
        self, record: dict[str, Any], near_key: str, ref: SourceRef, index: int
    ) -> tuple[str, list[Problem]]:
        """The record's id, and a duplicate problem when an equal record was seen before."""
        record_id = content_id(record)
        here = (len(self._files) - 1) << _INDEX_BITS | index
        earlier = self._exact.setdefault(int(record_id, 16), here)
        if earlier != here:
            first, first_index = self._place(earlier)
            if first.config == ref.config:
                return record_id, [
                    Problem("duplicate.exact", f"the same record as {first.display} record {first_index}")
                ]
            return record_id, [
                Problem(
                    "duplicate.cross-config",
                    f"the same record is in {first.config} ({first.display} record {first_index})",
                )
            ]
        # keys live for one run only, so Python's own string hash serves (64 bits)
        earlier = self._normalized.setdefault(hash(near_key), here)
        if earlier != here:
            first, first_index = self._place(earlier)
            return record_id, [
                Problem(
                    "duplicate.normalized",
                    f"equal, up to case, spacing, punctuation, Unicode and full-width forms and Traditional "
                    f"script, to {first.display} record {first_index}",
                )
            ]
        return record_id, []

    def _place(self, place: int) -> tuple[SourceRef, int]:
        return self._files[place >> _INDEX_BITS], place & ((1 << _INDEX_BITS) - 1)


def _usage_error(message: str) -> Exception:
    from chatcorpus.errors import UsageError  # imports the builder, and so datasets: only on this error path

    return UsageError(message)


def _text_frame(records: list[dict[str, Any]], config: str | None) -> TextFrame:
    columns = {
        name: string_array([value if isinstance(value := record.get(name), str) else "" for record in records])
        for name in TEXT_FIELDS
    }
    has_history = np.array([bool(record.get("history")) for record in records], dtype=bool)
    texts = pc.binary_join_element_wise(*(columns[name] for name in LANGUAGE_FIELDS), string_scalar("\n"))
    return TextFrame(columns, has_history, languages_of(texts), config)


def near_duplicate_key(record: dict[str, Any], normalized: str) -> str:
    """What near-duplicates are compared by: the text without case, spacing and punctuation, then the turns."""
    history = record.get("history")
    return normalized + repr(history) if history else normalized


def _normalized_texts(frame: TextFrame) -> list[str]:
    """Each record's duplicate key (``normalize.duplicate_keys``) over all its text fields."""
    joined = pc.binary_join_element_wise(*(frame.columns[name] for name in TEXT_FIELDS), string_scalar("\x1f"))
    return duplicate_keys(joined)


def _severity(problem: Problem) -> Severity:
    rule = RULES.get(problem.rule)
    return rule.severity if rule is not None else Severity.ERROR


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a long validation run.

    The run allocates nothing cyclic, but the collector still re-walks the ever larger
    dedup maps on every collection, which made a corpus ten times larger cost more than
    ten times the time. Reference counting frees everything as usual meanwhile.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate_paths(paths: list[Path], *, disabled: Iterable[str] = (), thorough: bool = False) -> ValidationReport:
    """Check every source file under ``paths`` and gather all their faults, sorted.

    Args:
        paths: files (``.json``/``.jsonl``) and folders (a source root or a config folder).
        disabled: lint rule ids to switch off for this run.
        thorough: also run the slower rules of ``THOROUGH_RULES``.

    Returns:
        Every fault, located, with the counts of files, records read and records rejected.
        Faults in the data are in the report, never raised.

    Raises:
        SourceLayoutError: a path does not exist.
        UsageError: a file named on its own is not ``.json``/``.jsonl``, or a rule that
            explains a rejection is switched off.
    """
    validator = Validator(disabled, thorough=thorough)
    faults: list[Fault] = []
    files = records = rejected = 0
    with without_cycle_collection():
        for ref in discover(paths):
            result = validator.check(ref)
            files += 1
            records += result.records_read
            rejected += result.rejected
            faults.extend(result.faults)
    faults.sort()
    return ValidationReport(faults, files, records, rejected)

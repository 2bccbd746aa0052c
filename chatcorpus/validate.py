"""Validate contributed files: schema, lint rules and duplicates, every fault located.

This is the one place records are judged. ``chat-dataset-baseline validate`` reports
what it finds; ``build`` takes the accepted records of the same check, so what CI
accepts and what a release publishes can never differ.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from chatcorpus.errors import UsageError
from chatcorpus.faults import Fault, Problem, Severity
from chatcorpus.records import content_key, ID_HEX_DIGITS
from chatcorpus.rules import RULES, LintCheck
from chatcorpus import schema_check
from chatcorpus.sources import ParsedSource, SourceRef, discover, read_source

_NOT_WORD = re.compile(r"[\W_]+")


@dataclass
class AcceptedRecord:
    index: int
    record: dict[str, Any]
    id: str


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


@dataclass(frozen=True)
class _Seen:
    config: Optional[str]
    path: str
    index: int


class Validator:
    """Checks files one at a time, remembering records across files to find duplicates.

    Memory grows with the number of distinct records (two small dict entries each),
    never with the text of files already checked.
    """

    def __init__(self, disabled: Iterable[str] = ()) -> None:
        self.disabled = frozenset(disabled)
        unknown = self.disabled - RULES.keys()
        if unknown:
            raise UsageError(f"unknown rule id(s): {', '.join(sorted(unknown))}; see `validate --list-rules`")
        self._lint: list[LintCheck] = [
            rule.check for rule in RULES.values() if rule.check is not None and rule.id not in self.disabled
        ]
        self._exact: dict[str, _Seen] = {}
        self._normalized: dict[bytes, _Seen] = {}

    def check(self, ref: SourceRef) -> FileResult:
        source = read_source(ref)
        result = FileResult(source, rejected=source.unparsed)
        result.faults.extend(f for f in source.faults if f.rule not in self.disabled)
        for index, record in source.records:
            problems = self._problems(record, ref.config)
            record_id = None
            if not any(_severity(p) is Severity.ERROR for p in problems):
                record_id, duplicates = self._deduplicate(record, ref, index)
                problems.extend(duplicates)
            problems = [p for p in problems if p.rule not in self.disabled]
            result.faults.extend(source.fault(p, _severity(p), index) for p in problems)
            if record_id is None or any(_severity(p) is Severity.ERROR for p in problems):
                result.rejected += 1
            else:
                result.accepted.append(AcceptedRecord(index, record, record_id))
        return result

    def _problems(self, record: Any, config: Optional[str]) -> list[Problem]:
        problems = schema_check.schema_problems(record)
        if isinstance(record, dict):
            for check in self._lint:
                problems.extend(check(record, config))
        return problems

    def _deduplicate(self, record: dict[str, Any], ref: SourceRef, index: int) -> tuple[str, list[Problem]]:
        """The record's id, and a duplicate problem when an equal record was seen before."""
        key = content_key(record)
        record_id = hashlib.sha256(key).hexdigest()[:ID_HEX_DIGITS]
        here = _Seen(ref.config, ref.display, index)
        earlier = self._exact.setdefault(record_id, here)
        if earlier is not here:
            if earlier.config == ref.config:
                return record_id, [Problem("duplicate.exact", f"the same record as {earlier.path} record {earlier.index}")]
            return record_id, [
                Problem("duplicate.cross-config", f"the same record is in {earlier.config} ({earlier.path} record {earlier.index})")
            ]
        normalized = hashlib.sha256(_NOT_WORD.sub("", key.decode("utf-8", "replace").casefold()).encode()).digest()[:12]
        earlier = self._normalized.setdefault(normalized, here)
        if earlier is not here:
            return record_id, [
                Problem("duplicate.normalized", f"equal, up to case, spacing and punctuation, to {earlier.path} record {earlier.index}")
            ]
        return record_id, []


def _severity(problem: Problem) -> Severity:
    rule = RULES.get(problem.rule)
    return rule.severity if rule is not None else Severity.ERROR


def validate_paths(paths: list[Path], disabled: Iterable[str] = ()) -> ValidationReport:
    """Check every source file under ``paths`` and gather all their faults, sorted."""
    validator = Validator(disabled)
    faults: list[Fault] = []
    files = records = rejected = 0
    for ref in discover(paths):
        result = validator.check(ref)
        files += 1
        records += result.records_read
        rejected += result.rejected
        faults.extend(result.faults)
    faults.sort()
    return ValidationReport(faults, files, records, rejected)

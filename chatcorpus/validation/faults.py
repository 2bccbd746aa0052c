"""A fault: one located problem in the input, the unit every report is made of.

Faults are collected, never raised: a run gathers all of them, sorts them by place and
reports them together (the ``mlcroissant`` issues-collector habit), so a contributor
fixes a pull request in one round.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"  # the record (or file) cannot be published as it is
    WARNING = "warning"  # worth a look; the record is still published


@dataclass(frozen=True)
class Problem:
    """A fault before it is placed in a file: what is wrong and where inside the record."""

    rule: str
    message: str
    pointer: str = ""  # RFC 6901 JSON pointer inside the record; "" is the record itself


@dataclass(frozen=True)
class Finding:
    """What a lint rule yields: a message and where in the record. The ``lint_rule``
    decorator stamps the rule's id onto it, making it a ``Problem`` (as ``jsonschema``
    stamps the keyword onto the errors a keyword function yields), so no rule spells its
    own id twice."""

    message: str
    pointer: str = ""

    def stamped(self, rule: str) -> Problem:
        return Problem(rule, self.message, self.pointer)


@dataclass(frozen=True, order=True)
class Fault:
    """A located fault. Ordered by file, line and column, the order reports use."""

    path: str
    line: int  # 1-based; 0 when the file itself is at fault (unreadable, missing)
    column: int  # 1-based, in characters, as editors and GitHub count them
    rule: str
    severity: Severity
    message: str
    index: int | None = None  # the record's 0-based index in its file
    pointer: str = ""

    def sort_key(self) -> tuple[str, int, int, str, str, str, int, str]:
        """The order ``order=True`` gives, as one tuple: sorting by it compares in C, not by a
        Python ``__lt__`` per pair (a third of the time of a run with 100,000 faults)."""
        index = -1 if self.index is None else self.index
        return (self.path, self.line, self.column, self.rule, self.severity.value, self.message, index, self.pointer)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, Any]:
        """The fault as a JSON object, fields in declaration order (what ``asdict`` gives, at a
        tenth of its cost: reports of the seed corpus hold 10,000 faults)."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "index": self.index,
            "pointer": self.pointer,
        }

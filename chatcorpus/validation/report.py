"""Print faults the way their readers want them: people, GitHub Actions, code scanning, programs.

All formats keep Chinese text as it is (never ``\\uXXXX``), since the people fixing the
data read it, and none prints input raw: file names and record text go through
``inert`` first, so a pull request cannot inject workflow commands or terminal escapes.
The text and GitHub formats can be shortened for reading (``max_faults``, GitHub's caps);
the JSON and SARIF reports and the exit code always hold every fault.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring  # the C string encoder json.dumps(ensure_ascii=False) uses
from pathlib import Path
from typing import TextIO

from chatcorpus.validation import inert
from chatcorpus.validation.faults import Fault, Severity
from chatcorpus.validation.validate import ValidationReport

#: GitHub shows at most 10 error and 10 warning annotations from one step (and 50 from a
#: job); the rest are dropped silently, so only the most useful ones are printed as such.
ANNOTATIONS_PER_STEP = {Severity.ERROR: 10, Severity.WARNING: 10}
#: GitHub's annotations keep a message readable only when short; the log line keeps it all.
_ANNOTATION_CHARS = 1_000
SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"


@dataclass(frozen=True)
class ReportOptions:
    """How much of a report to print: ``max_faults`` caps the fault lines of text and github."""

    max_faults: int | None = None
    #: where GitHub reads the job summary from (``$GITHUB_STEP_SUMMARY``), or None
    step_summary: Path | None = field(default=None)

    @classmethod
    def from_environment(cls, max_faults: int | None = None) -> ReportOptions:
        summary = os.environ.get(SUMMARY_VARIABLE)
        return cls(max_faults, Path(summary) if summary else None)


def _text_line(fault: Fault) -> str:
    severity = "" if fault.is_error else "[warning] "
    line = f"{inert.escape(fault.path)}:{fault.line}:{fault.column}: {inert.escape(fault.rule)} {severity}"
    return inert.line_start(line + inert.escape(fault.message))


def _escape_data(value: str) -> str:
    """GitHub's own escaping of a workflow command's message (it decodes these back)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _github_line(fault: Fault) -> str:
    """A workflow command: GitHub shows it as an annotation on the pull request's diff."""
    level = "error" if fault.severity is Severity.ERROR else "warning"
    props = [f"file={_escape_property(inert.escape(fault.path))}"]
    if fault.line:
        props += [f"line={fault.line}", f"col={fault.column}"]
    props.append(f"title={_escape_property(inert.escape(fault.rule))}")
    message = inert.truncate(inert.escape(fault.message), _ANNOTATION_CHARS)
    return f"::{level} {','.join(props)}::{_escape_data(message)}"


def summary_line(report: ValidationReport) -> str:
    return (
        f"{report.errors:,} error(s), {report.warnings:,} warning(s) in {report.files:,} file(s), "
        f"{report.records:,} record(s) read, {report.rejected:,} rejected"
    )


@dataclass(frozen=True)
class RuleCount:
    rule: str
    severity: Severity
    faults: int
    files: int


def rule_counts(faults: Iterable[Fault]) -> list[RuleCount]:
    """Faults and files per rule: errors first, then the most frequent."""
    faults_per_rule: Counter[tuple[str, Severity]] = Counter()
    files_per_rule: dict[tuple[str, Severity], set[str]] = {}
    for fault in faults:
        key = (fault.rule, fault.severity)
        faults_per_rule[key] += 1
        files_per_rule.setdefault(key, set()).add(fault.path)
    counts = [RuleCount(rule, sev, n, len(files_per_rule[rule, sev])) for (rule, sev), n in faults_per_rule.items()]
    return sorted(counts, key=lambda c: (c.severity is not Severity.ERROR, -c.faults, c.rule))


def _rule_table(report: ValidationReport) -> Iterator[str]:
    counts = rule_counts(report.faults)
    if not counts:
        return
    width = max(len("rule"), *(len(c.rule) for c in counts)) + 2
    yield f"{'rule':<{width}}{'severity':<10}{'faults':>8}{'files':>7}"
    for c in counts:
        yield f"{inert.escape(c.rule):<{width}}{c.severity.value:<10}{c.faults:>8,}{c.files:>7,}"


def _capped_lines(faults: list[Fault], max_faults: int | None) -> Iterator[str]:
    shown = faults if max_faults is None else faults[:max_faults]
    for fault in shown:
        yield _text_line(fault)
    if len(shown) < len(faults):
        yield f"... {len(faults) - len(shown):,} more fault(s) not shown (--max-faults {max_faults}); counted below"


def write_text(report: ValidationReport, out: TextIO, options: ReportOptions | None = None) -> None:
    """Every fault as ``file:line:col: rule message`` (up to ``max_faults``), then counts per rule."""
    options = options or ReportOptions()
    for line in _capped_lines(report.faults, options.max_faults):
        out.write(line + "\n")
    for line in _rule_table(report):
        out.write(line + "\n")
    out.write(summary_line(report) + "\n")


def select_annotations(faults: list[Fault]) -> list[Fault]:
    """The faults worth GitHub's few annotations: errors, then warnings, spread over files.

    Within a severity, each file's first fault comes before any file's second, so ten
    broken files get one annotation each instead of the first file getting all ten.
    """
    chosen: list[Fault] = []
    for severity, limit in ANNOTATIONS_PER_STEP.items():
        chosen.extend(_spread_over_files([f for f in faults if f.severity is severity], limit))
    return chosen


def _spread_over_files(faults: list[Fault], limit: int) -> list[Fault]:
    per_file: dict[str, list[Fault]] = {}
    for fault in faults:
        per_file.setdefault(fault.path, []).append(fault)
    chosen: list[Fault] = []
    depth = 0
    while len(chosen) < limit and len(chosen) < len(faults):
        for file_faults in per_file.values():
            if depth < len(file_faults):
                chosen.append(file_faults[depth])
                if len(chosen) == limit:
                    break
        depth += 1
    return chosen


def write_github(report: ValidationReport, out: TextIO, options: ReportOptions | None = None) -> None:
    """The chosen annotations, a notice for the rest, every fault as a log line, and the job summary."""
    from chatcorpus.validation.job_summary import append_job_summary

    options = options or ReportOptions()
    annotated = select_annotations(report.faults)
    for fault in annotated:
        out.write(_github_line(fault) + "\n")
    rest = len(report.faults) - len(annotated)
    if rest:
        where = "the job summary and the log list" if options.step_summary else "the log lists"
        out.write(
            f"::notice title=chat-dataset-baseline::{rest:,} more fault(s) are not annotated "
            f"(GitHub shows 10 errors and 10 warnings a step); {where} every fault\n"
        )
    chosen = set(map(id, annotated))
    for line in _capped_lines([f for f in report.faults if id(f) not in chosen], options.max_faults):
        out.write(line + "\n")
    for line in _rule_table(report):
        out.write(line + "\n")
    out.write(summary_line(report) + "\n")
    if options.step_summary is not None:
        append_job_summary(report, options.step_summary)


def write_json(report: ValidationReport, out: TextIO, options: ReportOptions | None = None) -> None:
    """One document with every fault, whatever ``options`` say: ``json.dumps(..., indent=1)``'s text.

    ``json`` indents in pure Python (its C encoder serves ``indent=None`` only), 0.3 s for
    the seed corpus's 10,000 faults. A fault is a flat object, so each is written here
    from the C string encoder in the same layout; a test holds the two texts equal.
    """
    counts = {
        "files": report.files,
        "records": report.records,
        "rejected": report.rejected,
        "errors": report.errors,
        "warnings": report.warnings,
    }
    head = json.dumps(counts, ensure_ascii=False, indent=1)[: -len("\n}")]
    faults = [_json_fault_text(fault) for fault in report.faults]
    listed = "[\n" + ",\n".join(faults) + "\n ]" if faults else "[]"
    out.write(inert.json_bytes_safe(f'{head},\n "faults": {listed}\n}}') + "\n")


def _json_fault_text(fault: Fault) -> str:
    """One fault as ``json.dumps`` writes ``Fault.to_json`` (members in its order) at the second
    level of an ``indent=1`` document; texts that came from the input made ``inert.json_safe``."""
    path, message, pointer = (
        encode_basestring(inert.json_safe(text)) for text in (fault.path, fault.message, fault.pointer)
    )
    index = "null" if fault.index is None else int.__repr__(fault.index)
    return (
        f'  {{\n   "path": {path},\n   "line": {int.__repr__(fault.line)},\n'
        f'   "column": {int.__repr__(fault.column)},\n   "rule": {encode_basestring(fault.rule)},\n'
        f'   "severity": {encode_basestring(fault.severity.value)},\n'
        f'   "message": {message},\n   "index": {index},\n   "pointer": {pointer}\n  }}'
    )


def write_json_document(document: object, out: TextIO, indent: int | None = None) -> None:
    """JSON with Chinese kept readable and no raw control character (``inert.json_bytes_safe``)."""
    out.write(inert.json_bytes_safe(json.dumps(document, ensure_ascii=False, indent=indent)) + "\n")


def _write_sarif(report: ValidationReport, out: TextIO, options: ReportOptions | None = None) -> None:
    from chatcorpus.validation.sarif import write_sarif

    write_sarif(report, out)


Writer = Callable[[ValidationReport, TextIO, ReportOptions | None], None]
FORMATS: dict[str, Writer] = {
    "text": write_text,
    "github": write_github,
    "json": write_json,
    "sarif": _write_sarif,
}


def format_fault(fault: Fault) -> str:
    """One fault as the text format prints it, for other commands' reports."""
    return _text_line(fault)

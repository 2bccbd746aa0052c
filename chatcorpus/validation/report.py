"""Print faults the way their readers want them: people, GitHub Actions, or programs.

All formats keep Chinese text as it is (never ``\\uXXXX``), since the people fixing the
data read it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TextIO

from chatcorpus.validation.faults import Fault, Severity
from chatcorpus.validation.validate import ValidationReport


def _text_line(fault: Fault) -> str:
    severity = "" if fault.is_error else "[warning] "
    return f"{fault.path}:{fault.line}:{fault.column}: {fault.rule} {severity}{fault.message}"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _github_line(fault: Fault) -> str:
    """A workflow command: GitHub shows it as an annotation on the pull request's diff."""
    level = "error" if fault.severity is Severity.ERROR else "warning"
    props = [f"file={_escape_property(fault.path)}"]
    if fault.line:
        props += [f"line={fault.line}", f"col={fault.column}"]
    props.append(f"title={_escape_property(fault.rule)}")
    return f"::{level} {','.join(props)}::{_escape_data(fault.message)}"


def summary_line(report: ValidationReport) -> str:
    return (
        f"{report.errors:,} error(s), {report.warnings:,} warning(s) in {report.files:,} file(s), "
        f"{report.records:,} record(s) read, {report.rejected:,} rejected"
    )


def write_text(report: ValidationReport, out: TextIO) -> None:
    for fault in report.faults:
        out.write(_text_line(fault) + "\n")
    out.write(summary_line(report) + "\n")


def write_github(report: ValidationReport, out: TextIO) -> None:
    for fault in report.faults:
        out.write(_github_line(fault) + "\n")
    out.write(summary_line(report) + "\n")


def write_json(report: ValidationReport, out: TextIO) -> None:
    document = {
        "files": report.files,
        "records": report.records,
        "rejected": report.rejected,
        "errors": report.errors,
        "warnings": report.warnings,
        "faults": [fault.to_json() for fault in report.faults],
    }
    json.dump(document, out, ensure_ascii=False, indent=1)
    out.write("\n")


FORMATS: dict[str, Callable[[ValidationReport, TextIO], None]] = {
    "text": write_text,
    "github": write_github,
    "json": write_json,
}


def format_fault(fault: Fault) -> str:
    """One fault as the text format prints it, for other commands' reports."""
    return _text_line(fault)

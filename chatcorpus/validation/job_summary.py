"""The Markdown job summary GitHub shows on a workflow run's page.

Annotations stop at ten errors and ten warnings a step; the summary is where a maintainer
sees the whole run at a glance: counts per rule and per file, and the first faults in a
table. GitHub refuses a step summary over 1 MiB, so the tables are capped (with "and N
more") and every cell is cut short. Cells that hold input (file names, messages) are code
spans: inside one, no Markdown, HTML, link or mention is active, so a file named
``<img src=...>`` or ``@someone`` shows as text.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from chatcorpus.validation import inert
from chatcorpus.validation.faults import Fault, Severity
from chatcorpus.validation.report import rule_counts, summary_line
from chatcorpus.validation.validate import ValidationReport

MAX_FILE_ROWS = 50
MAX_FAULT_ROWS = 100
_CELL_CHARS = 300
_BACKTICKS = re.compile("`+")


def code_cell(text: str) -> str:
    """``text`` as a code span that is safe in a table cell.

    The fence is one backtick longer than the longest run inside; a pipe is written
    ``\\|``, which GitHub's table parser turns back into ``|`` even inside code.
    """
    text = inert.truncate(inert.escape(text), _CELL_CHARS).replace("|", "\\|")
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") or text.startswith(" ") else text
    return f"{fence}{padded}{fence}"


def _rows(header: list[str], align: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _more(count: int, what: str) -> list[str]:
    return [f"and {count:,} more {what}", ""] if count > 0 else [""]


def render_job_summary(report: ValidationReport) -> str:
    lines = ["### chat-dataset-baseline validate", "", summary_line(report), ""]
    counts = rule_counts(report.faults)
    if counts:
        rows = [[code_cell(c.rule), c.severity.value, f"{c.faults:,}", f"{c.files:,}"] for c in counts]
        lines += _rows(["rule", "severity", "faults", "files"], ["---", "---", "---:", "---:"], rows) + [""]
        lines += _file_table(report.faults)
        lines += _fault_table(report.faults)
    return "\n".join(lines) + "\n"


def _file_table(faults: list[Fault]) -> list[str]:
    errors: Counter[str] = Counter(f.path for f in faults if f.is_error)
    warnings: Counter[str] = Counter(f.path for f in faults if not f.is_error)
    files = sorted(errors.keys() | warnings.keys(), key=lambda p: (-errors[p], -warnings[p], p))
    rows = [[code_cell(p), f"{errors[p]:,}", f"{warnings[p]:,}"] for p in files[:MAX_FILE_ROWS]]
    table = _rows(["file", "errors", "warnings"], ["---", "---:", "---:"], rows)
    return table + _more(len(files) - MAX_FILE_ROWS, "file(s)")


def _fault_table(faults: list[Fault]) -> list[str]:
    ordered = [f for f in faults if f.severity is Severity.ERROR] + [
        f for f in faults if f.severity is not Severity.ERROR
    ]
    rows = [
        [code_cell(f.path), str(f.line), str(f.column), code_cell(f.rule), f.severity.value, code_cell(f.message)]
        for f in ordered[:MAX_FAULT_ROWS]
    ]
    table = _rows(
        ["file", "line", "col", "rule", "severity", "message"], ["---", "---:", "---:", "---", "---", "---"], rows
    )
    return table + _more(len(ordered) - MAX_FAULT_ROWS, "fault(s): the log and `--format json` list every one")


def append_job_summary(report: ValidationReport, path: Path) -> None:
    """Append (GitHub gives each step one file; earlier output in it stays)."""
    with path.open("a", encoding="utf-8") as f:
        f.write(render_job_summary(report))

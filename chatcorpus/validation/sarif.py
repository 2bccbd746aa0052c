"""SARIF 2.1.0, the format GitHub code scanning reads: every fault a result on its line.

One run, one result per fault, the tool's rules with their help text and default level
(from ``RULES``), and locations relative to the repository root (the working directory,
where CI runs ``validate``) with line and column regions. A file-level fault (line 0:
unreadable, missing) has no region. The document is built by hand because the SARIF
object-model packages on PyPI add a dependency for a few dictionaries; the tests validate
it against the official SARIF 2.1.0 JSON schema.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from chatcorpus import __version__
from chatcorpus.validation import inert
from chatcorpus.validation.faults import Fault
from chatcorpus.validation.rules import RULES
from chatcorpus.validation.validate import ValidationReport

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "chat-dataset-baseline"
TOOL_URI = "https://github.com/hikariming/chat-dataset-baseline"
#: the base a relative location is resolved against; left undefined in the log, so code
#: scanning takes the repository root (and the log names no path of the machine)
SOURCE_ROOT = "%SRCROOT%"


def artifact_location(path: str, root: Path) -> dict[str, str]:
    """A fault's file as a SARIF artifact location: repository-relative where it can be.

    A path inside ``root`` becomes a relative, percent-encoded URI (non-ASCII names and
    names that are not UTF-8 keep their exact bytes); one outside it an absolute ``file:``
    URI, which code scanning then does not place, rather than placing it wrongly.
    """
    absolute = os.path.normpath(os.path.join(os.fsencode(root), os.fsencode(path)))
    base = os.fsencode(root)
    if absolute == base or absolute.startswith(base.rstrip(b"/") + b"/"):
        relative = os.path.relpath(absolute, base).replace(os.sep.encode(), b"/")
        return {"uri": quote(relative, safe="/"), "uriBaseId": SOURCE_ROOT}
    return {"uri": "file://" + quote(absolute.replace(os.sep.encode(), b"/"), safe="/")}


def _rule_descriptor(rule_id: str) -> dict[str, Any]:
    rule = RULES[rule_id]
    return {
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.summary},
        "help": {
            "text": f"{rule.summary}. `chat-dataset-baseline validate --list-rules` lists every rule; "
            "the README's 'Validating contributions' section says what each family checks.",
        },
        "defaultConfiguration": {"level": rule.severity.value},
        "properties": {"tags": [rule.id.split(".")[0]]},
    }


def _result(fault: Fault, rule_index: dict[str, int], root: Path) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": artifact_location(fault.path, root)}
    if fault.line:
        location["region"] = {"startLine": fault.line, "startColumn": max(fault.column, 1)}
    result: dict[str, Any] = {
        "ruleId": fault.rule,
        "level": fault.severity.value,
        "message": {"text": inert.json_safe(fault.message)},
        "locations": [{"physicalLocation": location}],
    }
    if fault.rule in rule_index:
        result["ruleIndex"] = rule_index[fault.rule]
    if fault.index is not None or fault.pointer:
        result["properties"] = {"recordIndex": fault.index, "pointer": inert.json_safe(fault.pointer)}
    return result


def sarif_document(report: ValidationReport, root: Path | None = None) -> dict[str, Any]:
    """The SARIF log of a run: every fault, never shortened."""
    root = root or Path.cwd()
    rule_ids = list(RULES)
    rule_index = {rule_id: n for n, rule_id in enumerate(rule_ids)}
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "informationUri": TOOL_URI,
                        "rules": [_rule_descriptor(rule_id) for rule_id in rule_ids],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_result(fault, rule_index, root) for fault in report.faults],
            }
        ],
    }


def write_sarif(report: ValidationReport, out: TextIO) -> None:
    from chatcorpus.validation.report import write_json_document

    write_json_document(sarif_document(report), out, indent=1)

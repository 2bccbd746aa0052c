"""The rules a record is checked against, each with a stable id and a severity.

Schema rules come from the JSON Schema (``schema.*``), file rules from reading
(``json.*``, ``encoding.*``, ``file.*``), lint rules are the small functions below, one
per rule, each yielding ``Problem``s (the ``jsonschema._keywords`` habit). Errors keep a
record out of a build; warnings are reported and the record is published.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

from chatcorpus.faults import Problem, Severity
from chatcorpus.records import language_of, record_text

TEXT_FIELDS = ("instruction", "input", "output", "system")
LintCheck = Callable[[dict[str, Any], Optional[str]], Iterator[Problem]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    check: Optional[LintCheck] = None  # None: the rule is applied elsewhere (reading, schema, dedup)


RULES: dict[str, Rule] = {}


def _register(rule_id: str, severity: Severity, summary: str, check: Optional[LintCheck] = None) -> None:
    RULES[rule_id] = Rule(rule_id, severity, summary, check)


def lint_rule(rule_id: str, severity: Severity, summary: str) -> Callable[[LintCheck], LintCheck]:
    def register(check: LintCheck) -> LintCheck:
        _register(rule_id, severity, summary, check)
        return check

    return register


E, W = Severity.ERROR, Severity.WARNING
_register("file.unreadable", E, "the file cannot be read")
_register("encoding.bom", W, "the file starts with a UTF-8 byte order mark")
_register("json.empty", E, "the file is empty")
_register("json.syntax", E, "the file or a record is not valid JSON (located at the first bad character)")
_register("json.not-array", E, "a .json file must hold an array of records")
_register("schema.type", E, "a value has the wrong JSON type (fields are strings, history a list of pairs)")
_register("schema.required", E, "instruction or output is missing")
_register("schema.additionalProperties", E, "a field beyond the Alpaca format (instruction, input, output, system, history)")
_register("schema.minItems", E, "a history turn has fewer than two items: [user, assistant]")
_register("schema.maxItems", E, "a history turn has more than two items: [user, assistant]")
_register("schema.items", E, "a history turn has items beyond [user, assistant]")
_register("duplicate.exact", E, "the same record (same content) appears earlier in the same config")
_register("duplicate.cross-config", W, "the same record appears in another config")
_register("duplicate.normalized", W, "a record equal to an earlier one up to case, spacing and punctuation")


def _strings(record: dict[str, Any], fields: tuple[str, ...] = TEXT_FIELDS) -> Iterator[tuple[str, str]]:
    for name in fields:
        value = record.get(name)
        if isinstance(value, str):
            yield name, value
    history = record.get("history")
    if fields == TEXT_FIELDS and isinstance(history, list):
        for turn_index, turn in enumerate(history):
            if isinstance(turn, list):
                for item_index, item in enumerate(turn):
                    if isinstance(item, str):
                        yield f"history/{turn_index}/{item_index}", item


@lint_rule("text.empty", E, "instruction or output is empty or only whitespace")
def _empty_text(record: dict[str, Any], config: Optional[str]) -> Iterator[Problem]:
    for name, value in _strings(record, ("instruction", "output")):
        if not value.strip():
            yield Problem("text.empty", f"{name} is {'empty' if not value else 'only whitespace'}", f"/{name}")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


@lint_rule("text.control-character", E, "a control character or a lone surrogate inside the text")
def _control_characters(record: dict[str, Any], config: Optional[str]) -> Iterator[Problem]:
    for name, value in _strings(record):
        match = _CONTROL.search(value)
        if match:
            char = match.group()
            yield Problem(
                "text.control-character",
                f"{name} contains U+{ord(char):04X} ({unicodedata.name(char, 'control or surrogate')}) at character {match.start() + 1}",
                f"/{name}",
            )


_PLACEHOLDER = re.compile(r"\b(NAME|AUTHOR)\b")


@lint_rule("placeholder.outside-prompts", W, "NAME/AUTHOR placeholders in a config other than prompts")
def _placeholder_outside(record: dict[str, Any], config: Optional[str]) -> Iterator[Problem]:
    if config in (None, "prompts"):
        return
    for name, value in _strings(record):
        match = _PLACEHOLDER.search(value)
        if match:
            yield Problem(
                "placeholder.outside-prompts", f"{name} holds the placeholder {match.group()} outside the prompts config", f"/{name}"
            )


@lint_rule("placeholder.missing", W, "an identity prompt whose output has neither NAME nor AUTHOR")
def _placeholder_missing(record: dict[str, Any], config: Optional[str]) -> Iterator[Problem]:
    output = record.get("output")
    if config == "prompts" and isinstance(output, str) and not _PLACEHOLDER.search(output):
        yield Problem("placeholder.missing", "an identity answer should name the model (NAME) or its author (AUTHOR)", "/output")


_EXPECTED_LANGUAGE = {"alpaca-zh": "zh", "chatglm-issues": "zh", "alpaca-en": "en"}


@lint_rule("language.mismatch", W, "the output's language does not match the config (no Chinese in alpaca-zh, Chinese in alpaca-en)")
def _language_mismatch(record: dict[str, Any], config: Optional[str]) -> Iterator[Problem]:
    expected = _EXPECTED_LANGUAGE.get(config or "")
    if expected is None:
        return
    # judged on the whole record, so translation tasks (instruction in one language,
    # output in the other) are not flagged
    if expected == "zh" and language_of(record_text(record)) == "en":
        yield Problem("language.mismatch", f"a {config} record with no Chinese in it", "/output")
    elif expected == "en" and language_of(record_text(record)) == "zh":
        yield Problem("language.mismatch", "an alpaca-en record written in Chinese", "/output")


_MARKER = re.compile(r"<\s*(noinput|nooutput|no input|no output)\s*>", re.IGNORECASE)


@lint_rule("text.leftover-marker", W, "a leftover marker such as <noinput> or <nooutput>")
def _leftover_marker(record: dict[str, Any], config: Optional[str]) -> Iterator[Problem]:
    for name, value in _strings(record):
        match = _MARKER.search(value)
        if match:
            yield Problem("text.leftover-marker", f"{name} holds the leftover marker {match.group()}", f"/{name}")


LINT_CHECKS: tuple[LintCheck, ...] = tuple(rule.check for rule in RULES.values() if rule.check is not None)

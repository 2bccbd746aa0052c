"""The rules a record is checked against, each with a stable id and a severity.

Schema rules come from the JSON Schema (``schema.*``), file rules from reading
(``json.*``, ``encoding.*``, ``file.*``), lint rules are the small functions below, one
per rule, each yielding ``Problem``s (the ``jsonschema._keywords`` habit). Errors keep a
record out of a build; warnings are reported and the record is published.

A lint rule may also have a *pre-filter*: a vectorised test over a whole file's text
columns (Arrow kernels) that selects the records the rule could flag. The rule's own
function still decides, so the pre-filter only has to be a superset; it exists because
running every rule's regexes record by record in Python dominated validation time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chatcorpus.validation import multiscan, near_duplicates
from chatcorpus.validation.corpus_shape import CONFIG_LANGUAGES, IDENTITY_CONFIG, PLACEHOLDER_PATTERN, TEXT_COLUMNS
from chatcorpus.validation.faults import Finding, Problem, Severity
from chatcorpus.validation.textstats import from_mask, string_scalar, to_mask

#: The record fields whose strings the lint rules read (the shared schema's text columns).
TEXT_FIELDS = TEXT_COLUMNS


@dataclass(frozen=True)
class RecordContext:
    config: str | None
    language: str


#: Every character ``str.strip()`` removes (``str.isspace``), for pre-filters of checks run on stripped text.
UNICODE_SPACE = r"[\t-\r\x1c-\x20\x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
#: RE2 spellings, usable inside a character class, of what Python's Unicode classes match, or more:
#: RE2's ``\s`` lacks ``\v`` and every space beyond ASCII, its ``\d`` and ``\w`` are ASCII.
_WIDER_INSIDE_CLASS = {"s": r"\s\p{Z}\x0b\x1c-\x1f\x85", "d": r"\p{Nd}", "w": r"\p{L}\p{N}\p{M}_"}
#: the letters Python's ``re.IGNORECASE`` matches beyond the ones RE2's ``(?i)`` folds (``ı``, ``İ`` for ``i``)
_WIDER_LETTERS = {"i": "iIıİ", "I": "iIıİ"}


def re2_twin(pattern: str) -> str:
    r"""The RE2 pre-filter of a check written for Python's ``re`` (Unicode, ``re.IGNORECASE``):
    the same pattern with each atom widened to match at least what Python's does, so the
    pre-filter matches every text the check does (it may match more: the check decides).

    ``\s``, ``\d``, ``\w`` become their Unicode extent, ``\b`` and ``\B`` are dropped (an
    assertion that always holds is wider), and the letter ``i`` also takes ``ı`` and ``İ``,
    which Python's case folding gives it and RE2's does not (RE2 folds ``ſ`` and the Kelvin
    sign as Python does). The negated classes ``\S``, ``\D``, ``\W`` and ``[^...]`` are
    ASCII in RE2, so already wider, and are copied as they are, as are flag groups
    (``(?i:``). Written by hand: neither engine translates the other's patterns.
    """
    out: list[str] = []
    in_class = negated = False  # inside [^...] nothing is widened: there, a wider atom matches less
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\" and position + 1 < len(pattern):
            escaped = pattern[position + 1]
            position += 2
            if negated:
                out.append(char + escaped)
            elif escaped in _WIDER_INSIDE_CLASS:
                wider = _WIDER_INSIDE_CLASS[escaped]
                out.append(wider if in_class else f"[{wider}]")
            elif escaped in "bB" and not in_class:
                pass
            else:
                out.append(char + escaped)
            continue
        if char == "(" and pattern.startswith("(?", position):
            flags_end = min(i for i in (pattern.find(":", position), pattern.find(")", position)) if i >= 0)
            out.append(pattern[position : flags_end + 1])
            position = flags_end + 1
            continue
        if char == "[" and not in_class:
            in_class, negated = True, pattern.startswith("[^", position)
        elif char == "]" and in_class:
            in_class = negated = False
        letters = None if negated else _WIDER_LETTERS.get(char)
        out.append(char if letters is None else letters if in_class else f"[{letters}]")
        position += 1
    return "".join(out)


def python_twin(pattern: str) -> re.Pattern[str]:
    r"""The per-record check of a pre-filter pattern: one pattern, two engines.

    The patterns scope case-insensitivity with ``(?i:...)`` groups around their only
    letters, so the same pattern with plain groups and ``re.IGNORECASE`` matches the same
    texts in Python, with Python's Unicode classes and case folding (U+3000 is a space,
    ``１`` a digit, ``é`` a word character); ``re2_twin`` widens the RE2 side to match.
    """
    return re.compile(pattern.replace("(?i:", "(?:"), re.IGNORECASE)


@dataclass
class Screen:
    """Pre-filter patterns that look in one text of every record (each text field, or one
    field) for something rare: a control character, a placeholder, a leftover marker, a
    word a request for an image needs. Each is an RE2 pattern that composes in an
    alternation (flags scoped as ``(?i:...)``). One pass over a file's texts finds the
    rows each may match, and each then runs on those rows only: one pass instead of one
    per pattern (``TextFrame.rare_matches``). The pass is Hyperscan's over the patterns'
    triggers where it is installed (``multiscan``), else RE2's over their alternation.
    """

    field: str | None  # None: every text field, stacked one after the other
    patterns: list[str] = dataclass_field(default_factory=list)
    #: each pattern's trigger, in the same order: a Hyperscan pattern that matches, inside
    #: any text the pattern matches, a part of that match (a factor every match holds)
    triggers: list[str] = dataclass_field(default_factory=list)

    def candidates(self, texts: pa.Array) -> list[np.ndarray]:
        """Per pattern, rows of ``texts`` that hold every row it matches.

        With Hyperscan, the rows its trigger matches in (one pass for all triggers): a few
        more than the pattern's own, which its rule's check then reads, at less cost than
        running the pattern's RE2 on them (compiling a ``\\p{L}`` class costs more than
        checking a few hundred records). Without, exactly its rows: the alternation of all
        the patterns finds the rows any may match (one RE2 pass), then each runs on those.
        """
        scan = multiscan.trigger_scan(tuple(self.triggers))
        found = scan.rows(texts) if scan is not None else None
        if found is not None:
            return found
        screen = "|".join(f"(?:{pattern})" for pattern in self.patterns)
        selected = to_mask(pc.match_substring_regex(texts, screen))
        rows = np.flatnonzero(selected)
        if not len(rows):
            return [rows] * len(self.patterns)
        candidates = texts.filter(from_mask(selected))
        return [rows[to_mask(pc.match_substring_regex(candidates, pattern))] for pattern in self.patterns]


#: The screens, by the field they read (None: every text field).
SCREENS: dict[str | None, Screen] = {None: Screen(None)}
SCREENED_PATTERNS = SCREENS[None].patterns
SCREENED_TRIGGERS = SCREENS[None].triggers


def screened(pattern: str, trigger: str | None = None, field: str | None = None) -> str:
    """Register ``pattern`` for ``TextFrame.rare_matches`` in every text field, or in ``field``; returns it.

    ``trigger`` (Hyperscan syntax; ``pattern`` itself by default, which then must be
    Hyperscan's too, without ``^`` or ``\\b``; a final ``$`` is the end of the text, see
    ``multiscan``) must match, in every text ``pattern`` matches, a stretch of that match:
    a factor every match holds, such as the literal ``https?://`` of a URL-only text. Hyperscan's triggers should be rare and end on a
    fixed character, since each place one matches costs a call; the test of the screened
    pre-filters holds every trigger to its pattern on hostile texts.
    """
    assert all(pattern not in screen.patterns for screen in SCREENS.values()), "a pattern is screened once"
    screen = SCREENS.setdefault(field, Screen(field))
    screen.patterns.append(pattern)
    screen.triggers.append(pattern if trigger is None else trigger)
    return pattern


@dataclass
class TextFrame:
    """One file's records as Arrow string columns ("" where a field is absent or not a string)."""

    columns: dict[str, pa.Array]
    has_history: np.ndarray  # records whose history the columns do not show
    languages: list[str]
    config: str | None
    #: per screen (by field), per pattern, the rows (stacked, for every text field) it may match
    _screened: dict[str | None, list[np.ndarray]] = dataclass_field(default_factory=dict)

    def rare_matches(self, pattern: str) -> np.ndarray:
        """Rows where ``pattern`` (registered by ``screened``) may match in any text field, or
        in the one field it was registered for: every row where it does (``any_column`` with
        ``match_substring_regex``), and with Hyperscan the rows its trigger matches in
        (``Screen.candidates``). The text fields are stacked into one array, so that the
        screen runs once per file, not per field.
        """
        screen = next((screen for screen in SCREENS.values() if pattern in screen.patterns), None)
        assert screen is not None, "rare_matches runs the patterns registered with screened() only"
        if screen.field not in self._screened:
            if screen.field is None:
                texts = pa.concat_arrays([self.columns[name].cast(pa.large_string()) for name in TEXT_FIELDS])
            else:
                texts = self.columns[screen.field]
            self._screened[screen.field] = screen.candidates(texts)
        mask = self.nothing()
        mask[self._screened[screen.field][screen.patterns.index(pattern)] % len(self)] = True  # a stacked row's record
        return mask

    def __len__(self) -> int:
        return len(self.languages)

    def any_column(self, test: Callable[[pa.Array], pa.Array], fields: tuple[str, ...] = TEXT_FIELDS) -> np.ndarray:
        mask = np.zeros(len(self), dtype=bool)
        for name in fields:
            mask |= to_mask(test(self.columns[name]))
        return mask

    def nothing(self) -> np.ndarray:
        return np.zeros(len(self), dtype=bool)


LintCheck = Callable[[dict[str, Any], RecordContext], Iterator[Problem]]
#: A lint rule as written: it yields findings, and ``lint_rule`` stamps its id on them.
LintFinder = Callable[[dict[str, Any], RecordContext], Iterator[Finding]]
Prefilter = Callable[[TextFrame], np.ndarray]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    check: LintCheck | None = None  # None: applied elsewhere (reading, schema, dedup)
    prefilter: Prefilter | None = None  # None: every record is checked


RULES: dict[str, Rule] = {}
#: Rules too costly for every ``validate`` run (a sort of every text's windows, a pass
#: over the whole corpus): ``validate --thorough`` and every ``build`` run them.
THOROUGH_RULES: set[str] = set()
#: Rule families that say why a file or record could not be read or has no valid
#: shape: they cannot be switched off, or a rejected record would have no reason.
MANDATORY_PREFIXES = ("file.", "json.", "encoding.", "schema.")


def _register(rule_id: str, severity: Severity, summary: str) -> None:
    RULES[rule_id] = Rule(rule_id, severity, summary)


def lint_rule(
    rule_id: str, severity: Severity, summary: str, prefilter: Prefilter | None = None
) -> Callable[[LintFinder], LintCheck]:
    """Register a lint rule under ``rule_id``; the check it returns yields ``Problem``s with that id."""

    def register(find: LintFinder) -> LintCheck:
        def check(record: dict[str, Any], ctx: RecordContext) -> Iterator[Problem]:
            return (finding.stamped(rule_id) for finding in find(record, ctx))

        check.__doc__, check.__name__ = find.__doc__, find.__name__
        RULES[rule_id] = Rule(rule_id, severity, summary, check, prefilter)
        return check

    return register


E, W = Severity.ERROR, Severity.WARNING
_register("file.unreadable", E, "the file cannot be read")
_register("file.unknown-folder", E, "a folder under the source root that is not a config (alpaca_zh/?): not read")
_register("file.outside-config", E, "a JSON file directly under the source root, in no config folder: not read")
_register("file.unexpected-suffix", E, "a file in a config folder that is not .json or .jsonl (a.JSON?): not read")
_register("file.outside-link", E, "a link that leads outside the folder being read: not followed")
_register("file.name-not-utf8", E, "a file name that is not UTF-8 (a GBK name unpacked on Linux): not publishable")
_register("encoding.not-utf8", E, "a file saved as UTF-16 or UTF-32 (with or without a byte order mark)")
_register("encoding.bom", W, "the file starts with a UTF-8 byte order mark")
_register("json.empty", E, "the file is empty")
_register("json.syntax", E, "the file or a record is not valid JSON (located at the first bad character)")
_register("json.not-array", E, "a .json file must hold an array of records")
_register(
    "json.duplicate-key",
    E,
    "a key appears twice in one object; readers disagree on which value wins, so the record is rejected",
)
_register("json.too-deep", E, "a value nested deeper than 1024 levels, beyond what JSON readers accept")
_register(
    "encoding.invalid-utf8",
    E,
    "bytes that are not UTF-8 (a file saved as GBK or Latin-1?), located at the first bad byte",
)
_register(
    "encoding.lone-surrogate",
    E,
    "an escape like \\ud800 with no partner: half a UTF-16 pair, which UTF-8 text cannot hold",
)
_register("schema.type", E, "a value has the wrong JSON type (fields are strings, history a list of pairs)")
_register("schema.required", E, "instruction or output is missing")
_register(
    "schema.additionalProperties", E, "a field beyond the Alpaca format (instruction, input, output, system, history)"
)
_register("schema.minItems", E, "a history turn has fewer than two items: [user, assistant]")
_register("schema.maxItems", E, "a history turn has more than two items: [user, assistant]")
_register("schema.items", E, "a history turn has items beyond [user, assistant]")
_register("duplicate.exact", E, "the same record (same content) appears earlier in the same config")
_register("duplicate.cross-config", W, "the same record appears in another config")
_register(
    "duplicate.normalized",
    W,
    "a record equal to an earlier one up to case, spacing, punctuation, NFC/NFD, full-width forms and "
    "Traditional/Simplified script",
)
_register(near_duplicates.RULE, W, near_duplicates.SUMMARY)
# about +2.5 s of CPU on the seed's validate (bench/quality.py), over the 3 s budget in wall time on a
# loaded 2-core machine: validate --thorough and every build run it
THOROUGH_RULES.add(near_duplicates.RULE)
# the translation link's (``chatcorpus.alignment.ranges``, run by ``align``, ``coverage`` and ``build``): a file
# pairing the alignment cannot trust, so the records concerned get no link rather than a guess
_register(
    "align.no-range",
    W,
    "an alpaca-zh or alpaca-en file name gives no Alpaca index range (alpaca_data-0-3252-...): "
    "its records are not aligned",
)
_register(
    "align.missing-original",
    W,
    "no alpaca-en file has the index range of an alpaca-zh file's name: its records get no translation link",
)
_register(
    "align.overlapping-range",
    W,
    "a file's index range overlaps another file's of the same config: its records get no translation link",
)


def _strings(record: dict[str, Any], fields: tuple[str, ...] = TEXT_FIELDS) -> Iterator[tuple[str, str]]:
    """(pointer, text) of every string the fields hold, history turns included."""
    for name in fields:
        value = record.get(name)
        if isinstance(value, str):
            yield f"/{name}", value
    history = record.get("history")
    if fields == TEXT_FIELDS and isinstance(history, list):
        for turn_index, turn in enumerate(history):
            if isinstance(turn, list):
                for item_index, item in enumerate(turn):
                    if isinstance(item, str):
                        yield f"/history/{turn_index}/{item_index}", item


_EMPTY = string_scalar("")


def _blank(frame: TextFrame) -> np.ndarray:
    return frame.any_column(lambda col: pc.equal(pc.utf8_trim_whitespace(col), _EMPTY), ("instruction", "output"))


@lint_rule("text.empty", E, "instruction or output is empty or only whitespace", _blank)
def _empty_text(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    for pointer, value in _strings(record, ("instruction", "output")):
        if not value.strip():
            yield Finding(f"{pointer[1:]} is {'empty' if not value else 'only whitespace'}", pointer)


_CONTROL = screened("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_SURROGATE = re.compile(_CONTROL[:-1] + "\ud800-\udfff]")


def _has_control(frame: TextFrame) -> np.ndarray:
    return frame.rare_matches(_CONTROL) | frame.has_history


@lint_rule("text.control-character", E, "a control character inside the text", _has_control)
def _control_characters(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    for pointer, value in _strings(record):
        match = _CONTROL_OR_SURROGATE.search(value)
        if match:
            char = match.group()
            name = unicodedata.name(char, "a control character or lone surrogate")
            yield Finding(
                f"{pointer[1:]} contains U+{ord(char):04X} ({name}) at character {match.start() + 1}", pointer
            )


_PLACEHOLDER_RE2 = screened(PLACEHOLDER_PATTERN.pattern, "NAME|AUTHOR")  # Hyperscan's \b is Unicode: dropped


def _mentions_placeholder(frame: TextFrame) -> np.ndarray:
    if frame.config in (None, IDENTITY_CONFIG):
        return frame.nothing()
    # the builder's pattern, run by RE2 (its \b is ASCII, as the pattern's re.ASCII is)
    return frame.rare_matches(_PLACEHOLDER_RE2) | frame.has_history


@lint_rule(
    "placeholder.outside-prompts", W, "NAME/AUTHOR placeholders in a config other than prompts", _mentions_placeholder
)
def _placeholder_outside(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    if ctx.config in (None, IDENTITY_CONFIG):
        return
    for pointer, value in _strings(record):
        match = PLACEHOLDER_PATTERN.search(value)
        if match:
            yield Finding(f"{pointer[1:]} holds the placeholder {match.group()} outside the prompts config", pointer)


def _identity_prompts(frame: TextFrame) -> np.ndarray:
    return np.full(len(frame), frame.config == IDENTITY_CONFIG)


@lint_rule("placeholder.missing", W, "an identity prompt whose output has neither NAME nor AUTHOR", _identity_prompts)
def _placeholder_missing(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    output = record.get("output")
    if ctx.config == IDENTITY_CONFIG and isinstance(output, str) and not PLACEHOLDER_PATTERN.search(output):
        yield Finding("an identity answer should name the model (NAME) or its author (AUTHOR)", "/output")


# the configs written in one language (prompts are both) and what that language is
_EXPECTED_LANGUAGE = {name: language for name, language in CONFIG_LANGUAGES.items() if language in ("zh", "en")}
_WRONG_LANGUAGE = {"zh": "en", "en": "zh"}


def _in_wrong_language(frame: TextFrame) -> np.ndarray:
    wrong = _WRONG_LANGUAGE.get(_EXPECTED_LANGUAGE.get(frame.config or "", ""))
    if wrong is None:
        return frame.nothing()
    return np.array([language == wrong for language in frame.languages], dtype=bool)


@lint_rule(
    "language.mismatch",
    W,
    "the record's language does not match the config (no Chinese in alpaca-zh or chatglm-issues, all Chinese in alpaca-en)",
    _in_wrong_language,
)
def _language_mismatch(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    # judged on the whole record, so translation tasks (instruction in one language,
    # output in the other) are not flagged
    expected = _EXPECTED_LANGUAGE.get(ctx.config or "")
    if expected is not None and ctx.language == _WRONG_LANGUAGE[expected]:
        found = "has no Chinese in it" if expected == "zh" else "is written in Chinese"
        yield Finding(f"this {ctx.config} record {found}", "/output")


_MARKER = re.compile(r"<\s*(noinput|nooutput|no input|no output)\s*>", re.IGNORECASE)


_MARKER_RE2 = screened(re2_twin(r"(?i:<\s*no)"))


def _may_hold_marker(frame: TextFrame) -> np.ndarray:
    return frame.rare_matches(_MARKER_RE2) | frame.has_history


@lint_rule("text.leftover-marker", W, "a leftover marker such as <noinput> or <nooutput>", _may_hold_marker)
def _leftover_marker(record: dict[str, Any], ctx: RecordContext) -> Iterator[Finding]:
    for pointer, value in _strings(record):
        match = _MARKER.search(value)
        if match:
            yield Finding(f"{pointer[1:]} holds the leftover marker {match.group()}", pointer)


# rule families defined in their own modules register themselves on import
from chatcorpus.validation import cleaning, script, untranslated  # noqa: E402,F401

_register(untranslated.RULE, W, untranslated.SUMMARY)

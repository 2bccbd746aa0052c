"""What an alpaca file's name says: the Alpaca index range it covers, and for a translation its status and translator.

The seed files are named like ``alpaca_data-0-3252-中文-已完成.json`` (records 0 to
3251 of Stanford Alpaca, translated, finished) and ``alpaca_data-0-3252-英文.json`` (the
English original of the same range); ``wys未完成`` or ``（jlh）`` carry the translator's
initials. The range is the search window of the alignment; a name without one, a range
with no English file, or ranges that overlap give a located warning and no link.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from chatcorpus.validation.faults import Fault
from chatcorpus.validation.rules import RULES
from chatcorpus.validation.sources import SourceRef

# the first "<start>-<end>" of ASCII digits in the file name (not \d: any Unicode digit would match)
_RANGE = re.compile(r"(?<![0-9])([0-9]{1,9})-([0-9]{1,9})(?![0-9])")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_NOT_INITIALS = {"alpaca", "data", "json", "jsonl"}


class Status(StrEnum):
    """How far the translation of a file has come, as its name says."""

    DONE = "done"  # 已完成
    UNFINISHED = "unfinished"  # 未完成
    UNKNOWN = ""  # the name says neither


@dataclass(frozen=True)
class NamedRange:
    """A source file with the Alpaca index range its name gives: records ``start`` to ``end - 1``."""

    ref: SourceRef
    start: int
    end: int
    status: Status
    initials: str

    def overlaps(self, other: NamedRange) -> bool:
        return self.start < other.end and other.start < self.end

    @property
    def label(self) -> str:
        return f"{self.start}-{self.end}"


def name_range(ref: SourceRef) -> NamedRange | None:
    """The range, status and initials in the file's name, or None when the name gives no (valid) range."""
    name = ref.display.rsplit("/", 1)[-1]
    found = _RANGE.search(name)
    if found is None or int(found[1]) >= int(found[2]):
        return None
    status = Status.UNFINISHED if "未完成" in name else Status.DONE if "已完成" in name else Status.UNKNOWN
    words = [w for w in _LATIN_WORD.findall(name[found.end() :].rsplit(".", 1)[0]) if w.lower() not in _NOT_INITIALS]
    return NamedRange(ref, int(found[1]), int(found[2]), status, " ".join(words))


@dataclass(frozen=True)
class FilePair:
    """A Chinese file and the English file of the same range (None when there is none to align with)."""

    zh: NamedRange
    en: NamedRange | None


def _warning(ref: SourceRef, rule: str, message: str) -> Fault:
    """A fault of one of the ``align.*`` rules, with the severity the rule is registered with (``rules``)."""
    return Fault(ref.display, 0, 0, rule, RULES[rule].severity, message)


def pair_files(zh_refs: Iterable[SourceRef], en_refs: Iterable[SourceRef]) -> tuple[list[FilePair], list[Fault]]:
    """Every zh file with a range, paired with the en file of exactly that range; warnings for the rest.

    A zh file gets ``en=None`` (its records no link) when its name gives no range, when
    no en file has its range, or when its range overlaps another zh file's or its en
    file's range overlaps another en file's: guessing which file holds the original
    would publish wrong links.
    """
    faults: list[Fault] = []
    en_ranges = _named(en_refs, faults, "its records cannot be linked as originals")
    zh_ranges = _named(zh_refs, faults, "its records get no link")
    overlapping = _overlapping(zh_ranges, faults) | _overlapping(en_ranges, faults)
    by_range = {(r.start, r.end): r for r in en_ranges}
    pairs = []
    for zh in zh_ranges:
        en = by_range.get((zh.start, zh.end))
        if en is None:
            faults.append(
                _warning(
                    zh.ref,
                    "align.missing-original",
                    f"no alpaca-en file covers the range {zh.label} this file's name gives; its records get no link",
                )
            )
        elif zh.ref.display in overlapping or en.ref.display in overlapping:
            en = None
        pairs.append(FilePair(zh, en))
    return pairs, faults


def _named(refs: Iterable[SourceRef], faults: list[Fault], consequence: str) -> list[NamedRange]:
    named = []
    for ref in refs:
        found = name_range(ref)
        if found is None:
            faults.append(
                _warning(
                    ref,
                    "align.no-range",
                    f"the file name gives no Alpaca index range like alpaca_data-0-3252-...; {consequence}",
                )
            )
        else:
            named.append(found)
    return named


def _overlapping(ranges: list[NamedRange], faults: list[Fault]) -> set[str]:
    """Files whose range overlaps another file's of the same config, each warned about once.

    Sorted by start, a range overlaps an earlier one exactly when it starts before the
    furthest end seen so far: one pass, no comparison of every pair.
    """
    ordered = sorted(ranges, key=lambda r: (r.start, r.end, r.ref.display))
    bad: set[str] = set()
    reach: NamedRange | None = None
    for current in ordered:
        if reach is not None and current.start < reach.end:
            for r in (reach, current):
                if r.ref.display not in bad:
                    bad.add(r.ref.display)
                    other = current if r is reach else reach
                    faults.append(
                        _warning(
                            r.ref,
                            "align.overlapping-range",
                            f"the range {r.label} overlaps {other.ref.display} ({other.label}); its records get no link",
                        )
                    )
        if reach is None or current.end > reach.end:
            reach = current
    return bad

"""Untranslated copies: alpaca-zh records that are their alpaca-en original, copied rather than translated.

Each one is also the same record as its original in the other config, so the duplicate
rules would report it as a ``duplicate.cross-config`` warning: thousands of them on the
seed, one per copied record, burying the real cross-config duplicates. They are reported
here instead, once per alpaca-zh file (``translation.untranslated``): how many, of which
English file, and which records, as index runs, located at the first of them.

The evidence is the duplicate itself, without running the aligner (``chatcorpus.alignment``,
about 2 s over the seed): an alpaca-zh record equal to a record of the alpaca-en file
whose name gives the same Alpaca index range. That is where the aligner looks for the
original, and on the 2024-05-06 snapshot all 3,398 such pairs are exactly the links the
aligner makes (kind ``untranslated``). A copy of an English record of another range, or
of another config, is no untranslated copy and stays a duplicate warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from chatcorpus.validation.corpus_shape import CONFIG_CATEGORIES, CONFIG_LANGUAGES, CONFIG_NAMES
from chatcorpus.validation.faults import Problem
from chatcorpus.validation.sources import SourceRef

RULE = "translation.untranslated"
SUMMARY = (
    "alpaca-zh records that are their alpaca-en original copied, not translated (equal to a record of the "
    "alpaca-en file of the same range): one warning per file with the count and the records, instead of a "
    "duplicate.cross-config and a language.mismatch warning for each"
)
_ALPACA = [name for name in CONFIG_NAMES if CONFIG_CATEGORIES[name] == "alpaca"]
ZH_CONFIG = next(name for name in _ALPACA if CONFIG_LANGUAGES[name] == "zh")
EN_CONFIG = next(name for name in _ALPACA if CONFIG_LANGUAGES[name] == "en")
_SHOWN_RUNS = 8
#: the per-record warning every copy also raises, which the file's summary replaces
SUPERSEDED = "language.mismatch"


def same_range_pair(first: SourceRef, second: SourceRef) -> tuple[SourceRef, SourceRef] | None:
    """(zh file, en file) when the two files are an alpaca-zh and an alpaca-en file of the same named range."""
    by_config = {first.config: first, second.config: second}
    zh, en = by_config.get(ZH_CONFIG), by_config.get(EN_CONFIG)
    if zh is None or en is None:
        return None
    zh_range = _range_of(zh)
    if zh_range is None or zh_range != _range_of(en):
        return None
    return zh, en


@lru_cache(maxsize=4096)  # asked once per cross-config duplicate, of the same few files
def _range_of(ref: SourceRef) -> tuple[int, int] | None:
    """(start, end) of the Alpaca index range the file's name gives, if it gives one."""
    # imported here: chatcorpus.alignment.ranges needs the rules registry, which imports this module
    from chatcorpus.alignment.ranges import name_range

    found = name_range(ref)
    return None if found is None else (found.start, found.end)


@dataclass
class _Copies:
    en: SourceRef
    indexes: list[int] = field(default_factory=list)


class UntranslatedCopies:
    """The untranslated copies found so far, by alpaca-zh file number."""

    def __init__(self) -> None:
        self._by_file: dict[int, _Copies] = {}

    def add(self, zh_file: int, zh_index: int, en: SourceRef) -> None:
        self._by_file.setdefault(zh_file, _Copies(en)).indexes.append(zh_index)

    def __len__(self) -> int:
        return sum(len(copies.indexes) for copies in self._by_file.values())

    def places(self) -> set[tuple[int, int]]:
        """(zh file number, record index) of every copy."""
        return {(number, index) for number, copies in self._by_file.items() for index in copies.indexes}

    def summaries(self) -> list[tuple[int, int, Problem]]:
        """(zh file number, index of its first copy, the file's warning), one per file with copies."""
        found = []
        for number, copies in sorted(self._by_file.items()):
            indexes = sorted(set(copies.indexes))
            runs = index_runs(indexes)
            shown = ", ".join(runs[:_SHOWN_RUNS]) + (
                f", … ({len(runs)} runs in all)" if len(runs) > _SHOWN_RUNS else ""
            )
            message = (
                f"{len(indexes):,} record(s) of this file are untranslated copies of their originals in "
                f"{copies.en.display} (the {EN_CONFIG} file of the same range), so they have no Chinese either "
                f"({SUPERSEDED} is not reported for them one by one): records {shown}"
            )
            found.append((number, indexes[0], Problem(RULE, message)))
        return found


def index_runs(indexes: list[int]) -> list[str]:
    """Sorted indexes as runs: ``[3, 4, 5, 9]`` is ``["3-5", "9"]``."""
    runs: list[str] = []
    start = previous = None
    for index in [*indexes, None]:
        if previous is not None and index == previous + 1:
            previous = index
            continue
        if start is not None:
            runs.append(f"{start}-{previous}" if previous != start else f"{start}")
        start = previous = index
    return runs

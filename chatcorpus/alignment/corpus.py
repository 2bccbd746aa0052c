"""Align a source tree: every alpaca-zh record with its alpaca-en original, or none.

Reads both configs' files with the validator's own reader (so a file with a syntax
fault still gives the records that parse, at the indices ``validate`` and ``build``
use), pairs the files by the index range in their names, and aligns each pair
(``monotone``). A record is only ever linked inside its file's range: records of a
file without a usable range get no link, and the reasons are located warnings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chatcorpus.alignment.lexicon import (
    InstructionWords,
    Lexicon,
    Vocabulary,
    english_signatures,
)
from chatcorpus.alignment.monotone import Band, Pairing, Problem, align_many
from chatcorpus.alignment.ranges import FilePair, NamedRange, pair_files
from chatcorpus.alignment.signals import FileSignals, pair_signals
from chatcorpus.validation.corpus_shape import TRANSLATION_KINDS
from chatcorpus.validation.faults import Fault
from chatcorpus.validation.records import content_id
from chatcorpus.validation.sources import SourceRef, config_sources, read_source

ZH_CONFIG, EN_CONFIG = "alpaca-zh", "alpaca-en"
# the builder's names, from the module generated from it: importing the builder imports datasets
# and pandas (1.5 s), which aligning never uses
TRANSLATED, UNTRANSLATED = TRANSLATION_KINDS


@dataclass(frozen=True)
class Link:
    """One alpaca-zh record and its English original (``en`` None: no original found)."""

    zh: str  # as in the ``source`` column: alpaca-zh/<file>#<index>
    en: str | None
    score: float  # 0..1, the pair's log-odds through a logistic; 0 without a pair
    kind: str  # TRANSLATED or UNTRANSLATED with a pair, "" without
    en_id: str  # the English record's ``id``, "" without a pair
    # the two instructions, for a person checking the pair (``align --format text``)
    zh_instruction: str = field(default="", compare=False, repr=False)
    en_instruction: str = field(default="", compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"zh": self.zh, "en": self.en, "score": round(self.score, 4)}


@dataclass
class FileAlignment:
    """One zh file's part: its range and name's facts, its English file, and its records' links."""

    zh: NamedRange | None  # None: the name gives no range
    zh_ref: SourceRef
    en: NamedRange | None
    en_records: int  # records read from the English file, aligned with or not
    links: list[Link] = field(default_factory=list)


@dataclass
class Alignment:
    """Every alpaca-zh record's link, file by file, and the warnings on the way."""

    files: list[FileAlignment]
    faults: list[Fault]

    @property
    def links(self) -> Iterator[Link]:
        for part in self.files:
            yield from part.links

    def by_source(self) -> dict[str, Link]:
        return {link.zh: link for link in self.links}


def _readable(records: Iterable[tuple[int, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Records with the two fields the alignment reads as strings; the others cannot be published anyway."""
    return [
        (index, record)
        for index, record in records
        if isinstance(record, dict)
        and isinstance(record.get("instruction"), str)
        and isinstance(record.get("output"), str)
        and isinstance(record.get("input", ""), str)
        and isinstance(record.get("system", ""), str)
        and _is_history(record.get("history") or [])
    ]


def _is_history(history: Any) -> bool:
    """A list of [user, assistant] string pairs, as the schema has it: a history nested 300 deep
    is no record, and serializing it for the copy key ended ``align`` in a RecursionError."""
    return isinstance(history, list) and all(
        isinstance(turn, list) and len(turn) == 2 and all(isinstance(text, str) for text in turn) for turn in history
    )


def _logistic(log_odds: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, log_odds))))


#: Which records of an English file may be originals (by index); None: every readable record.
EnglishFilter = Callable[[SourceRef], set[int]]


def align_tree(root: Path, english: EnglishFilter | None = None) -> Alignment:
    """The alignment of ``root``'s ``alpaca-zh`` files with its ``alpaca-en`` files.

    Two passes: the first without the lexical signal, whose confident pairs teach the
    lexicon (``lexicon``) the second pass scores meaning with. ``english`` limits the
    originals, as ``build`` does to the English records it publishes, so a link never
    names a row the release does not hold.
    """
    pairs, faults = pair_files(config_sources(root, ZH_CONFIG), config_sources(root, EN_CONFIG))
    named = {pair.zh.ref.display for pair in pairs}
    vocabulary = Vocabulary()
    prepared = [_prepare(pair, vocabulary, english) for pair in pairs]
    aligned = [part for part in prepared if part.en_signals is not None]
    firsts = align_many([part.problem() for part in aligned])
    lexicon = Lexicon.learn([part.confident_pairs(first) for part, first in zip(aligned, firsts, strict=True)])
    seconds = iter(align_many([part.problem(lexicon) for part in aligned]))
    files = [part.links(next(seconds)) if part.en_signals is not None else part.unaligned() for part in prepared]
    for ref in config_sources(root, ZH_CONFIG):  # named without a range: every record unlinked
        if ref.display not in named:
            records = _Records.of(_readable(read_source(ref).records))
            files.append(FileAlignment(None, ref, None, 0, _unlinked_all(ref, records)))
    files.sort(key=lambda part: part.zh_ref.display.encode("utf-8"))
    return Alignment(files, sorted(faults))


#: Pairs of the first pass with at least these log-odds teach the lexicon.
CONFIDENT_LOG_ODDS = 1.0


@dataclass
class _Records:
    """What the alignment keeps of a file's readable records, which it drops once their signals are taken."""

    indices: list[int]  # each record's index in its file
    instructions: list[str]  # for a person checking a pair (``Link``)
    ids: list[str]  # the English records' ``id`` (``content_id``); empty for a Chinese file

    @classmethod
    def of(cls, records: list[tuple[int, dict[str, Any]]], *, ids: bool = False) -> _Records:
        return cls(
            [index for index, _ in records],
            [record["instruction"] for _, record in records],
            [content_id(record) for _, record in records] if ids else [],
        )


@dataclass
class _PreparedPair:
    """A file pair read, with its signals and its first-pass pairing."""

    pair: FilePair
    zh_records: _Records
    en_records: _Records | None = None
    en_read: int = 0
    zh_signals: FileSignals | None = None
    en_signals: FileSignals | None = None
    zh_words: InstructionWords | None = None
    en_words: InstructionWords | None = None
    band: Band | None = None

    def problem(self, lexicon: Lexicon | None = None) -> Problem:
        """What ``align_many`` aligns: without a lexicon in the first pass, with it in the second."""
        assert self.zh_signals is not None and self.en_signals is not None
        assert self.zh_words is not None and self.en_words is not None
        lexical = None
        if lexicon is not None:
            lexical = (
                lexicon.signatures(self.zh_words),
                english_signatures(self.en_words),
            )
        return self.zh_signals, self.en_signals, lexical, self.band

    def confident_pairs(self, first: Pairing) -> tuple[InstructionWords, InstructionWords, np.ndarray, np.ndarray]:
        """The first pass's sure translations: what the lexicon learns from."""
        assert self.zh_words is not None and self.en_words is not None and self.zh_signals is not None
        rows = np.flatnonzero((first.en_of >= 0) & (np.nan_to_num(first.log_odds, nan=-1e9) >= CONFIDENT_LOG_ODDS))
        rows = rows[self.zh_signals.has_han[rows]]  # translations only: a copy teaches English-English
        return self.zh_words, self.en_words, rows, first.en_of[rows]

    def unaligned(self) -> FileAlignment:
        """A zh file without an English file to align with: every record unlinked."""
        return FileAlignment(
            self.pair.zh,
            self.pair.zh.ref,
            None,
            0,
            _unlinked_all(self.pair.zh.ref, self.zh_records),
        )

    def links(self, pairing: Pairing) -> FileAlignment:
        """The file's links from its second-pass pairing."""
        pair, zh = self.pair, self.zh_records
        assert pair.en is not None and self.en_records is not None and self.zh_signals is not None
        en, zh_file, en_file = self.en_records, pair.zh.ref.display, pair.en.ref.display
        links = []
        for k, (index, instruction) in enumerate(zip(zh.indices, zh.instructions, strict=True)):
            j = int(pairing.en_of[k])
            if j < 0:
                links.append(Link(f"{zh_file}#{index}", None, 0.0, "", "", instruction))
                continue
            links.append(
                Link(
                    f"{zh_file}#{index}",
                    f"{en_file}#{en.indices[j]}",
                    _logistic(float(pairing.log_odds[k])),
                    _kind(self.zh_signals, k),
                    en.ids[j],
                    instruction,
                    en.instructions[j],
                )
            )
        return FileAlignment(pair.zh, pair.zh.ref, pair.en, self.en_read, links)


def _unlinked_all(ref: SourceRef, records: _Records) -> list[Link]:
    return [
        Link(f"{ref.display}#{index}", None, 0.0, "", "", instruction)
        for index, instruction in zip(records.indices, records.instructions, strict=True)
    ]


def _prepare(pair: FilePair, vocabulary: Vocabulary, english: EnglishFilter | None) -> _PreparedPair:
    """Read the pair's files and take their signals; their records are not kept."""
    zh_records = _readable(read_source(pair.zh.ref).records)
    if pair.en is None:
        return _PreparedPair(pair, _Records.of(zh_records))
    en_source = read_source(pair.en.ref)
    en_records = _readable(en_source.records)
    en_read = en_source.records_read
    del en_source  # its bytes and records: only the readable records are used
    if english is not None:
        allowed = english(pair.en.ref)
        en_records = [(index, record) for index, record in en_records if index in allowed]
    zh_signals, en_signals = pair_signals([r for _, r in zh_records], [r for _, r in en_records])
    band = Band.of(zh_signals, en_signals) if len(zh_signals) and len(en_signals) else None
    return _PreparedPair(
        pair,
        _Records.of(zh_records),
        _Records.of(en_records, ids=True),
        en_read,
        zh_signals,
        en_signals,
        InstructionWords.of_chinese([r["instruction"] for _, r in zh_records]),
        InstructionWords.of_english([r["instruction"] for _, r in en_records], vocabulary),
        band,
    )


def _kind(zh: FileSignals, k: int) -> str:
    """A record with no Han character left is the English original copied, not translated."""
    return TRANSLATED if bool(zh.has_han[k]) else UNTRANSLATED

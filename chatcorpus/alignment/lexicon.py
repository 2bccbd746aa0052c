"""A translation lexicon learnt from the corpus itself, for the one signal the other signals miss: meaning.

Numbers, names and lengths say little about ``描述一个原子的结构。`` against ``Describe
the structure of an atom.``; a dictionary would. None ships with the project's
dependencies, but the corpus is its own parallel text: a first alignment without this
signal is right for nearly every record, and over its confident pairs a Chinese character
bigram such as 原子 occurs with the English word ``atom`` far more often than chance. The
association (Dice's coefficient over the instructions of the pairs, the part translators
kept closest) gives each Chinese instruction the English words it predicts; the second
alignment counts how many of them the English instruction has.

Both word sets are hashed into ``SIGNATURE_BITS`` bits, so a pair's overlap is a
popcount of two small integers: vectorized over every band cell at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
_BIGRAM_BITS = 42  # a bigram's code: two code points of 21 bits
_WORD = re.compile(r"[a-z]+")
# common English function and instruction words: they occur with every bigram and predict nothing
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "to",
        "in",
        "for",
        "on",
        "and",
        "or",
        "is",
        "are",
        "be",
        "as",
        "by",
        "with",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "from",
        "at",
        "following",
        "given",
        "give",
        "provide",
        "write",
        "create",
        "make",
        "generate",
        "each",
        "which",
        "what",
        "how",
        "why",
        "who",
        "can",
        "you",
        "your",
        "sentence",
        "text",
        "word",
        "words",
        "list",
        "describe",
        "explain",
        "into",
        "about",
        "than",
        "use",
        "using",
    ]
)
_STEM = 6  # letters of an English word kept: a crude stem, so "translate" and "translation" agree
#: Bits of a record's word signature (as 64-bit words).
SIGNATURE_WORDS = 2
SIGNATURE_BITS = 64 * SIGNATURE_WORDS
#: A bigram predicts a word when they meet in at least this many pairs, with at least this Dice coefficient.
MIN_PAIRS, MIN_DICE = 3, 0.2
_POPCOUNT = np.array([bin(n).count("1") for n in range(256)], dtype=np.uint8)


class Vocabulary:
    """Numbers for texts (or bytes): the same text always gets the same number within one vocabulary."""

    def __init__(self) -> None:
        self._codes: dict[str | bytes, int] = {}

    def codes(self, texts: Sequence[str | bytes], keep: Sequence[bool] | None = None) -> np.ndarray:
        """The number of each text; -1 where ``keep`` is false."""
        codes = self._codes
        numbers = [codes.setdefault(t, len(codes)) for t in texts]
        if keep is not None:
            numbers = [n if k else -1 for n, k in zip(numbers, keep, strict=True)]
        return np.array(numbers, dtype=np.int64)

    def encode(self, groups: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """(group index, code) of every distinct string of every group."""
        codes = self._codes
        rows: list[int] = []
        values: list[int] = []
        for k, group in enumerate(groups):
            for item in dict.fromkeys(group):  # first-seen order: a set's order varies from run to run
                rows.append(k)
                values.append(codes.setdefault(item, len(codes)))
        return np.array(rows, dtype=np.int64), np.array(values, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._codes)


def english_words(text: str) -> list[str]:
    return [w[:_STEM] for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP]


@dataclass
class InstructionWords:
    """The bigrams (zh) or stemmed content words (en) of each instruction of a file, as codes."""

    rows: np.ndarray
    codes: np.ndarray
    count: int

    @classmethod
    def of_chinese(cls, instructions: Sequence[str]) -> InstructionWords:
        """Each instruction's distinct bigrams of neighbouring Han characters, found over all of them at once.

        A bigram's code is its two code points (``first << 21 | second``): the same in
        every file without a vocabulary, so no Python runs per bigram (it was a tenth of
        the alignment's time).
        """
        points = np.frombuffer("".join(instructions).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        lengths = np.fromiter(map(len, instructions), dtype=np.int64, count=len(instructions))
        row_of = np.repeat(np.arange(len(instructions), dtype=np.int64), lengths)
        han = np.zeros(len(points), dtype=bool)
        for low, high in _HAN_RANGES:
            han |= (points >= low) & (points <= high)
        at = np.flatnonzero(han[:-1] & han[1:] & (row_of[:-1] == row_of[1:]))
        distinct = np.unique(row_of[at] << _BIGRAM_BITS | points[at] << 21 | points[at + 1])
        return cls(distinct >> _BIGRAM_BITS, distinct & ((1 << _BIGRAM_BITS) - 1), len(instructions))

    @classmethod
    def of_english(cls, instructions: Sequence[str], vocabulary: Vocabulary) -> InstructionWords:
        rows, codes = vocabulary.encode([english_words(t) for t in instructions])
        return cls(rows, codes, len(instructions))


@dataclass
class Lexicon:
    """For each bigram code, the word codes it predicts (``sources[k]`` predicts ``targets[k]``)."""

    sources: np.ndarray
    targets: np.ndarray

    @classmethod
    def learn(cls, pairs: Sequence[tuple[InstructionWords, InstructionWords, np.ndarray, np.ndarray]]) -> Lexicon:
        """From (zh words, en words, zh rows, en rows) of confidently paired records of several files."""
        co_source: list[np.ndarray] = []
        co_target: list[np.ndarray] = []
        source_count: list[np.ndarray] = []
        target_count: list[np.ndarray] = []
        for zh, en, zh_rows, en_rows in pairs:
            pair_of_zh = np.full(zh.count, -1, dtype=np.int64)
            pair_of_zh[zh_rows] = np.arange(len(zh_rows))
            pair_of_en = np.full(en.count, -1, dtype=np.int64)
            pair_of_en[en_rows] = np.arange(len(en_rows))
            zh_pair, en_pair = pair_of_zh[zh.rows], pair_of_en[en.rows]
            zh_keep, en_keep = zh_pair >= 0, en_pair >= 0
            zh_pair, zh_code = zh_pair[zh_keep], zh.codes[zh_keep]
            en_pair, en_code = en_pair[en_keep], en.codes[en_keep]
            source_count.append(zh_code)
            target_count.append(en_code)
            # every (bigram, word) of a pair: join the two lists on the pair number
            order = np.argsort(en_pair, kind="stable")
            en_pair, en_code = en_pair[order], en_code[order]
            first = np.searchsorted(en_pair, zh_pair, side="left")
            last = np.searchsorted(en_pair, zh_pair, side="right")
            width = last - first
            co_source.append(np.repeat(zh_code, width))
            offset = np.arange(int(width.sum())) - np.repeat(np.cumsum(width) - width, width)
            co_target.append(en_code[np.repeat(first, width) + offset])
        sources = np.concatenate(co_source) if co_source else np.zeros(0, np.int64)
        if not len(sources):
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64))
        # bigram codes are large (``InstructionWords.of_chinese``): count over dense numbers
        source_keys, source_seen = np.unique(np.concatenate(source_count), return_inverse=True)
        target_keys, target_seen = np.unique(np.concatenate(target_count), return_inverse=True)
        size = len(target_keys)
        both = np.searchsorted(source_keys, sources) * size + np.searchsorted(target_keys, np.concatenate(co_target))
        joint, together = np.unique(both, return_counts=True)
        source, target = joint // size, joint % size
        n_source = np.bincount(source_seen, minlength=len(source_keys))
        n_target = np.bincount(target_seen, minlength=size)
        dice = 2.0 * together / (n_source[source] + n_target[target])
        keep = (together >= MIN_PAIRS) & (dice >= MIN_DICE)
        return cls(source_keys[source[keep]], target_keys[target[keep]])

    def signatures(self, zh: InstructionWords) -> np.ndarray:
        """Per zh record, the signature of the English words its bigrams predict."""
        order = np.argsort(self.sources, kind="stable")
        sources, targets = self.sources[order], self.targets[order]
        first = np.searchsorted(sources, zh.codes, side="left")
        width = np.searchsorted(sources, zh.codes, side="right") - first
        rows = np.repeat(zh.rows, width)
        offset = np.arange(int(width.sum())) - np.repeat(np.cumsum(width) - width, width)
        return _signatures(rows, targets[np.repeat(first, width) + offset], zh.count)


def english_signatures(en: InstructionWords) -> np.ndarray:
    return _signatures(en.rows, en.codes, en.count)


def _signatures(rows: np.ndarray, codes: np.ndarray, count: int) -> np.ndarray:
    bits = (codes * 2654435761) % SIGNATURE_BITS  # Knuth's multiplicative hash spreads neighbouring codes
    signature = np.zeros((count, SIGNATURE_WORDS), dtype=np.uint64)
    np.bitwise_or.at(signature, (rows, bits // 64), np.left_shift(np.uint64(1), (bits % 64).astype(np.uint64)))
    return signature


def shared_bits(zh: np.ndarray, en: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Per cell, the bits the two signatures share: a popcount by byte lookup (numpy < 2 has no bitwise_count)."""
    both = np.bitwise_and(zh[i], en[j])
    return _POPCOUNT[both.view(np.uint8)].reshape(len(i), -1).sum(axis=1)

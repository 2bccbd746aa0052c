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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chatcorpus.validation.textstats import from_mask, string_array, to_ints, to_mask

_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
_BIGRAM_BITS = 42  # a bigram's code: two code points of 21 bits
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
_STOP_WORDS = string_array(sorted(_STOP))
_SPECIAL_LOWER = {
    "\u0130",
    "\u212a",
}  # the only characters but A-Z that str.lower() makes into ASCII letters
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

    def __len__(self) -> int:
        return len(self._codes)


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
        return cls(
            distinct >> _BIGRAM_BITS,
            distinct & ((1 << _BIGRAM_BITS) - 1),
            len(instructions),
        )

    @classmethod
    def of_english(cls, instructions: Sequence[str], vocabulary: Vocabulary) -> InstructionWords:
        """Each instruction's distinct content words, stemmed, found over all of them at once.

        A word is a run of ``[a-z]`` in the instruction after ``str.lower``, longer than two
        letters and not a stop word; its stem is its first ``_STEM`` letters. The runs are
        found in the UTF-8 bytes, lowered there; Arrow drops the stop words, cuts the stems
        and numbers them, and only the file's distinct stems meet the vocabulary in Python
        (``re`` per instruction was a tenth of the alignment's time). The numbers are the
        vocabulary's, given in the order first seen, across files.
        """
        stems, rows = _stems(instructions)
        local = pc.dictionary_encode(stems)
        codes = vocabulary.codes(local.dictionary.to_pylist())[to_ints(local.indices)]
        # each (row, stem) once, in the order first seen
        _, first = np.unique(rows * (len(codes) + 1) + to_ints(local.indices), return_index=True)
        first.sort()
        return cls(rows[first], codes[first], len(instructions))


def _int_array(values: np.ndarray) -> pa.Array:
    """An Arrow int64 array of ``values`` (``pa.array`` would import pandas to look at them)."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _stems(instructions: Sequence[str]) -> tuple[pa.Array, np.ndarray]:
    """The stems of every instruction's words (``InstructionWords.of_english``), in order, and the instruction of each."""
    joined = "".join(instructions)
    if _SPECIAL_LOWER & set(joined):  # lowered to ASCII letters only by Python's full case mapping
        instructions = [t.lower() if _SPECIAL_LOWER & set(t) else t for t in instructions]
    encoded = [t.encode("utf-8") for t in instructions]
    ends = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)).cumsum()
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    upper = data - np.uint8(ord("A")) <= np.uint8(25)
    lowered = np.where(upper, data | np.uint8(0x20), data)
    letter = lowered - np.uint8(ord("a")) <= np.uint8(25)
    firsts = ends[:-1][(ends[:-1] > 0) & (ends[:-1] < len(data))]  # each instruction's first byte but the first's
    before = np.zeros(len(data), dtype=bool)  # a letter before, in the same instruction
    before[1:] = letter[:-1]
    before[firsts] = False
    after = np.zeros(len(data), dtype=bool)  # a letter after, in the same instruction
    after[:-1] = letter[1:]
    after[firsts - 1] = False
    starts, stops = (
        np.flatnonzero(letter & ~before),
        np.flatnonzero(letter & ~after) + 1,
    )
    # the words as an Arrow array over the lowered bytes: offsets start, stop, start, stop, ...; every other one
    offsets = np.empty(2 * len(starts) + 1, dtype=np.int64)
    offsets[0:-1:2], offsets[1::2] = starts, stops
    offsets[-1] = stops[-1] if len(stops) else 0
    spans = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(lowered.tobytes()))
    words = spans.take(_int_array(np.arange(0, len(offsets) - 1, 2)))
    keep = (stops - starts > 2) & ~to_mask(pc.is_in(words, value_set=_STOP_WORDS))
    rows = np.searchsorted(ends, starts, side="right")
    return pc.utf8_slice_codeunits(words.filter(from_mask(keep)), 0, _STEM), rows[keep]


@dataclass
class Lexicon:
    """For each bigram code, the word codes it predicts (``sources[k]`` predicts ``targets[k]``)."""

    sources: np.ndarray
    targets: np.ndarray

    @classmethod
    def learn(
        cls,
        pairs: Sequence[tuple[InstructionWords, InstructionWords, np.ndarray, np.ndarray]],
    ) -> Lexicon:
        """From (zh words, en words, zh rows, en rows) of confidently paired records of several files."""
        zh_pairs: list[np.ndarray] = []  # per file: the pair number of each bigram of a paired record, and its code
        zh_codes: list[np.ndarray] = []
        en_pairs: list[np.ndarray] = []
        en_codes: list[np.ndarray] = []
        for zh, en, zh_rows, en_rows in pairs:
            pair_of_zh = np.full(zh.count, -1, dtype=np.int64)
            pair_of_zh[zh_rows] = np.arange(len(zh_rows))
            pair_of_en = np.full(en.count, -1, dtype=np.int64)
            pair_of_en[en_rows] = np.arange(len(en_rows))
            zh_pair, en_pair = pair_of_zh[zh.rows], pair_of_en[en.rows]
            zh_keep, en_keep = zh_pair >= 0, en_pair >= 0
            zh_pairs.append(zh_pair[zh_keep])
            zh_codes.append(zh.codes[zh_keep])
            en_pairs.append(en_pair[en_keep])
            en_codes.append(en.codes[en_keep])
        if not sum(map(len, zh_codes)) or not sum(map(len, en_codes)):
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64))
        # bigram codes are large (``InstructionWords.of_chinese``): count over dense numbers
        source_keys, source_seen = np.unique(np.concatenate(zh_codes), return_inverse=True)
        target_keys, target_seen = np.unique(np.concatenate(en_codes), return_inverse=True)
        size = len(target_keys)
        zh_bounds = np.cumsum([0, *map(len, zh_codes)])
        en_bounds = np.cumsum([0, *map(len, en_codes)])
        co_occurrences: list[np.ndarray] = []
        for k, (zh_pair, en_pair) in enumerate(zip(zh_pairs, en_pairs, strict=True)):
            zh_dense = source_seen[zh_bounds[k] : zh_bounds[k + 1]]
            en_dense = target_seen[en_bounds[k] : en_bounds[k + 1]]
            # every (bigram, word) of a pair: join the two lists on the pair number
            order = np.argsort(en_pair, kind="stable")
            en_pair, en_dense = en_pair[order], en_dense[order]
            first = np.searchsorted(en_pair, zh_pair, side="left")
            width = np.searchsorted(en_pair, zh_pair, side="right") - first
            offset = np.arange(int(width.sum())) - np.repeat(np.cumsum(width) - width, width)
            co_occurrences.append(np.repeat(zh_dense, width) * size + en_dense[np.repeat(first, width) + offset])
        joint, together = np.unique(np.concatenate(co_occurrences), return_counts=True)
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
    np.bitwise_or.at(
        signature,
        (rows, bits // 64),
        np.left_shift(np.uint64(1), (bits % 64).astype(np.uint64)),
    )
    return signature


def shared_bits(zh: np.ndarray, en: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Per cell, the bits the two signatures share: a popcount by byte lookup (numpy < 2 has no bitwise_count)."""
    both = np.bitwise_and(zh[i], en[j])
    return _POPCOUNT[both.view(np.uint8)].reshape(len(i), -1).sum(axis=1)

"""The aligner's vectorized steps against their plain definitions, on hostile generated input.

Each step was written over whole arrays for speed (``bench/align.py``); these tests hold
it to the few lines of plain Python it replaced: the dynamic programme's recurrence cell
by cell, several file pairs at once against each alone, the stemmed English words
against ``re`` and ``str.lower``, the kept tokens against ``re``, the exact-copy numbers
against ``content_key``.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from chatcorpus.alignment import monotone
from chatcorpus.alignment.lexicon import _STOP, InstructionWords, Vocabulary
from chatcorpus.alignment.signals import _kept_tokens, pair_signals
from chatcorpus.validation.records import content_key
from chatcorpus.validation.textstats import string_array

NEG = -1e18


def _random_band(rnd: random.Random, n_zh: int, n_en: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scores, lo, hi) of a band like ``monotone.bands`` gives: both edges never decrease, widths vary,
    the band sometimes jumps far right (as where ``MAX_BAND`` centres it), and some rows score NEG (repeats)."""
    lo: list[int] = []
    hi: list[int] = []
    low = 0
    for _ in range(n_zh):
        if rnd.random() < 0.05:
            low += rnd.randrange(5, 40)
        low = min(low + rnd.choice([0, 0, 1, 1, 2]), n_en - 1)
        high = min(max(low + rnd.randrange(0, 30), hi[-1] if hi else 0), n_en - 1)
        lo.append(low)
        hi.append(high)
    lo_array, hi_array = np.array(lo, dtype=np.int64), np.array(hi, dtype=np.int64)
    cells = int((hi_array - lo_array + 1).sum())
    scores = np.round(np.array([rnd.gauss(-1.0, 3.0) for _ in range(cells)]), 1)  # ties are common, as in real scores
    scores[np.array([rnd.random() < 0.05 for _ in range(cells)], dtype=bool)] = NEG
    return scores, lo_array, hi_array


def _programme_by_definition(scores: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The move reaching each cell, cell by cell in plain Python: the recurrence ``_programmes`` documents."""
    n = len(lo)
    starts = np.concatenate([[0], np.cumsum(hi - lo + 1)[:-1]]).astype(int).tolist()
    lo_list, hi_list, flat = lo.tolist(), hi.tolist(), scores.tolist()

    def own(row: int, column: int) -> float:
        if row < 0 or not lo_list[row] <= column <= hi_list[row]:
            return NEG
        return flat[starts[row] + column - lo_list[row]]

    best: dict[int, list[float]] = {}

    def total(row: int, column: int) -> float:  # the best total of rows up to ``row`` within columns up to ``column``
        if row < 0:
            return NEG if column < -1 else 0.0
        if column < lo_list[row]:
            return NEG
        return best[row][min(column, hi_list[row]) - lo_list[row]]

    moves = []
    for row in range(n):
        running, totals = NEG, []
        for column in range(lo_list[row], hi_list[row] + 1):
            above = total(row - 1, column)
            paired = total(row - 1, column - 1) + own(row, column)
            reach = max(paired, above)
            move = monotone._DIAG if paired > above else monotone._UP
            if row > 0 and column > lo_list[row]:
                crossed = (
                    total(row - 2, column - 2) + own(row - 1, column) + (own(row, column - 1) - monotone.SWAP_COST)
                )
                if crossed > reach:
                    reach, move = crossed, monotone._SWAP
            running = max(running, reach)
            moves.append(monotone._LEFT if running > reach else move)
            totals.append(running)
        best[row] = totals
    return np.array(moves, dtype=np.uint8)


@pytest.mark.parametrize("seed", range(6))
def test_the_programme_of_several_files_at_once_is_each_ones_recurrence(seed: int) -> None:
    rnd = random.Random(seed)
    bands = [_random_band(rnd, rnd.randrange(1, 150), rnd.randrange(1, 200)) for _ in range(rnd.randrange(1, 6))]
    together = monotone._programmes(bands)
    for band, moves in zip(bands, together, strict=True):
        assert np.array_equal(moves, _programme_by_definition(*band))
        assert np.array_equal(moves, monotone._programmes([band])[0])


def test_one_wide_band_does_not_pad_the_narrow_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pair of 800 more English than Chinese records beside narrow pairs: each is still its
    recurrence, and the wide one runs on its own (the narrow ones' arrays are not 801 cells wide)."""
    rnd = random.Random(5)
    bands = [_random_band(rnd, 40, 46) for _ in range(4)]
    bands.insert(2, (np.array([rnd.uniform(-1, 1) for _ in range(40 * 801)]), np.zeros(40, np.int64), np.full(40, 800)))
    groups: list[list[int]] = []
    lockstep = monotone._lockstep_programmes

    def recorded(group):  # type: ignore[no-untyped-def]
        groups.append([int((hi - lo).max()) + 1 for _, lo, hi in group])
        return lockstep(group)

    monkeypatch.setattr(monotone, "_lockstep_programmes", recorded)
    together = monotone._programmes(bands)
    for band, moves in zip(bands, together, strict=True):
        assert np.array_equal(moves, _programme_by_definition(*band))
    assert [801] in groups and sum(map(len, groups)) == len(bands)
    assert all(max(group) <= monotone.WIDTH_SPREAD * min(group) for group in groups)


def test_the_programme_crosses_steps_blocks_with_bands_of_changing_width() -> None:
    """Rows past several blocks of ``STEPS_PER_BLOCK`` steps, a file ending inside a block, widths up to 60."""
    rnd = random.Random(99)
    bands = [_random_band(rnd, n, n + 40) for n in (3 * monotone.STEPS_PER_BLOCK + 7, monotone.STEPS_PER_BLOCK - 1, 1)]
    for band, moves in zip(bands, monotone._programmes(bands), strict=True):
        assert np.array_equal(moves, _programme_by_definition(*band))


_HOSTILE = [*"abcXYZ \n\t.,_-0123é中", "\u0130", "\u212a", "Kelvin\u212a", "\u0130stanbul", "", "The ", "following"]


def _hostile_texts(rnd: random.Random, count: int) -> list[str]:
    return ["".join(rnd.choice(_HOSTILE) for _ in range(rnd.randrange(0, 40))) for _ in range(count)]


def test_english_words_are_the_stems_of_re_and_str_lower_numbered_as_first_seen() -> None:
    """Runs of ASCII letters after ``str.lower`` (which makes U+0130 and U+212A ASCII), stop words and
    short words left out, stems, each once per instruction, numbered across files in the order first seen."""
    rnd = random.Random(7)
    files = [_hostile_texts(rnd, 400), [], ["", "", "Translate translation TRANSLATED"], _hostile_texts(rnd, 50)]
    vocabulary = Vocabulary()
    numbers: dict[str, int] = {}  # the number each word gets, first seen first
    for instructions in files:
        words = InstructionWords.of_english(instructions, vocabulary)
        expected = [
            (k, numbers.setdefault(word, len(numbers)))
            for k, text in enumerate(instructions)
            for word in dict.fromkeys(
                w[:6] for w in re.findall("[a-z]+", text.lower()) if len(w) > 2 and w not in _STOP
            )
        ]
        assert list(zip(words.rows.tolist(), words.codes.tolist(), strict=True)) == expected
        assert words.count == len(instructions)


def test_kept_tokens_are_the_regex_tokens_of_each_text() -> None:
    """Numbers and Latin words with a capital, digit or underscore, trimmed of dots and commas, never across texts."""
    rnd = random.Random(8)
    texts = [*_hostile_texts(rnd, 500), "abcX", "Yz", "..A..", "a.B", "e.g.", "x1", ""]
    records, tokens = _kept_tokens(string_array(texts))
    expected = [
        (k, token)
        for k, text in enumerate(texts)
        for word in re.sub(r"[^A-Za-z0-9_.,]", " ", text).split()
        for token in [word.strip(".,")]
        if re.match(r"(?:[0-9]|[A-Z_]|[a-z]+[A-Z0-9_])", token)
    ]
    assert list(zip(records.tolist(), tokens.to_pylist(), strict=True)) == expected


def test_exact_copy_numbers_are_equal_exactly_where_the_content_keys_are() -> None:
    """Records differing only in an absent versus empty ``input``/``system``/``history`` are copies;
    any other difference in any of the five parts, or a part's text moved to another, is not."""
    rnd = random.Random(9)
    parts = ["", "a", "b", "a\\nb", "中"]

    def record() -> dict[str, object]:
        made: dict[str, object] = {"instruction": rnd.choice(parts), "output": rnd.choice(parts)}
        for key in ("input", "system"):
            if rnd.random() < 0.7:
                made[key] = rnd.choice(parts)
        if rnd.random() < 0.5:
            made["history"] = rnd.choice([[], [["a", "b"]], [["b", "a"]], None])
        return made

    zh = [record() for _ in range(300)]
    en = [record() for _ in range(300)]
    zh_signals, en_signals = pair_signals(zh, en)
    codes = [*zh_signals.content.tolist(), *en_signals.content.tolist()]
    keys = [content_key(r) for r in [*zh, *en]]
    assert len(set(keys)) > 50  # the records really differ, and really repeat
    for a in range(len(keys)):
        for b in range(a + 1, len(keys)):
            assert (codes[a] == codes[b]) == (keys[a] == keys[b])

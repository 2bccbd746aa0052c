"""Monotone alignment of a translated file with its original: a banded dynamic programme.

Translators worked through a range in order and skipped what they could not translate,
so the Chinese records are the English ones in order, with gaps (and now and then a
record added or repeated). That is Gale and Church's setting: find the order-keeping
one-to-one pairing that maximizes the total log-odds of the pairs, where leaving a
record unpaired on either side costs nothing and a pair only joins when its log-odds
are positive.

No library does this for records scored on several signals (aligners such as
``bleualign`` or ``vecalign`` align sentences of one text and need a translation model
or embeddings), so it is written here, in NumPy, in time linear in the records:

1. **Anchors**: pairs whose instruction, input, output or whole content is equal and
   unique in both files (untranslated copies, inputs kept in English), reduced to their
   longest chain increasing on both sides.
2. **Band**: between two anchors, record ``i`` may only pair with the English records
   the anchors leave room for, plus ``SLACK`` on each side for records added in the
   Chinese; a band is never wider than ``MAX_BAND``, which bounds the work per record.
3. **Dynamic programme** row by row over the band, row ``r`` of every file pair in one
   step of a few array operations (``_programmes``); each best path is traced back from
   its last row.
   Repeats (``repeats``: a zh record equal up to form (``FileSignals.near_content``) to an
   earlier record of its file) may not pair at all: a translator who pasted a block
   twice translated it once, and the copy's records would otherwise pair with whatever
   English records around them were skipped, which a long repeated block makes likely;
   the band is laid out over the other records, so a long block does not push the
   rows after it off their band. The first copy keeps the link, as ``duplicate.exact`` keeps the first and rejects the
   rest, so the link stays on the row a release publishes.
4. **Transpositions**: a translator sometimes took two neighbours in the other order.
   An order-keeping path could take only one of the two crossing pairs, so the
   programme has a fourth move beside skip, skip and pair: two zh records paired with
   two en records crossed, at a cost (``SWAP_COST``: a swap is rarer than a skip).
5. **Substitutions**: a run of unpaired zh records between two pairs, facing exactly
   as many unpaired en records, is paired one to one when no pair is implausible
   (``SUBSTITUTION_FLOOR``): a translator who re-wrote an answer still translated the
   record, and Gale and Church's prior makes a 1-1 pair far likelier than a deletion
   beside an insertion.
6. **Versions**: an unpaired zh record next to a paired one whose English record it
   also matches well (``VERSION_FLOOR``), one of the two left in English and the other
   translated, is another version of that record (unfinished files hold a record left
   in English beside its translation): it gets the same original. Repeats, and
   localized variants beside their model (a US example next to a Chinese one), get none.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chatcorpus.alignment.signals import (
    CellScores,
    FileSignals,
    TokenPairs,
    lexical_term,
    pair_scores,
    shared_tokens,
)

#: English records a band reaches beyond what the anchors allow, for records added or repeated in the Chinese.
SLACK = 12
#: The widest band a row gets, whatever the anchors say: it bounds the work per record.
MAX_BAND = 801
#: Added to every pair's log-odds inside the programme: Gale and Church's prior that a record
#: is far more often translated (a 1-1 pair) than skipped, so the path leaves the diagonal only
#: where the signals say so. Reported scores are the pairs' own log-odds, without it.
PATH_BONUS = 1.5
#: The longest run of unpaired records taken as substituted one to one.
SUBSTITUTION_RUN = 3
#: Pairs of a substitution must have at least these log-odds; below, the records really differ.
SUBSTITUTION_FLOOR = -4.0
#: Log-odds a second version of a paired record needs to share its original.
VERSION_FLOOR = 5.0
#: Log-odds a transposition (two neighbours paired crossed) costs on the path, beyond its pairs' own.
SWAP_COST = 3.0
_NEG = -1e18
_UP, _DIAG, _LEFT, _SWAP = (
    0,
    1,
    2,
    3,
)  # skip the zh record, pair the two, skip the en record, pair crossed


@dataclass(frozen=True)
class Pairing:
    """The alignment of one file pair: for each zh record, its en record (or -1) and the pair's log-odds."""

    en_of: np.ndarray  # int64, -1 where the zh record has no original
    log_odds: np.ndarray  # float, of the pair; NaN where there is none


def anchors(zh: FileSignals, en: FileSignals) -> np.ndarray:
    """(i, j) pairs, increasing in both, of records that share a part found once in each file."""
    rows: list[np.ndarray] = []
    columns: list[np.ndarray] = []
    for key in (
        "content",
        "instruction",
        "input",
        "output",
    ):  # strongest first: the first found for a row stays
        zh_codes, zh_at = _found_once(getattr(zh, key))
        en_codes, en_at = _found_once(getattr(en, key))
        shared, zh_k, en_k = np.intersect1d(zh_codes, en_codes, assume_unique=True, return_indices=True)
        rows.append(zh_at[zh_k[shared >= 0]])
        columns.append(en_at[en_k[shared >= 0]])
    found, first = np.unique(np.concatenate(rows), return_index=True)  # the first occurrence: the strongest key
    if not len(found):
        return np.zeros((0, 2), dtype=np.int64)
    found_columns = np.concatenate(columns)[first]
    chain = _longest_increasing(found_columns)
    return np.stack([found[chain], found_columns[chain]], axis=1).astype(np.int64)


def _found_once(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The codes found once in ``codes``, in increasing order, and where each is."""
    values, first, counts = np.unique(codes, return_index=True, return_counts=True)
    once = counts == 1
    return values[once], first[once]


def _longest_increasing(values: np.ndarray) -> np.ndarray:
    """Positions of a longest strictly increasing subsequence (patience sorting, n log n)."""
    tails: list[int] = []  # tails[k]: position of the smallest tail of an increasing run of length k + 1
    tail_values: list[int] = []
    before = np.full(len(values), -1, dtype=np.int64)
    for position, value in enumerate(values.tolist()):
        k = bisect_left(tail_values, value)
        if k > 0:
            before[position] = tails[k - 1]
        if k == len(tails):
            tails.append(position)
            tail_values.append(value)
        else:
            tails[k] = position
            tail_values[k] = value
    chain = []
    position = tails[-1] if tails else -1
    while position >= 0:
        chain.append(position)
        position = int(before[position])
    return np.array(chain[::-1], dtype=np.int64)


def bands(n_zh: int, n_en: int, anchor_pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per zh record, the first and last en record it may pair with; both never decrease down the rows."""
    points = np.concatenate([[[-1, -1]], anchor_pairs, [[n_zh, n_en]]]).astype(np.int64)
    rows = np.arange(n_zh, dtype=np.int64)
    after = np.searchsorted(points[:, 0], rows, side="right")  # the next anchor's index in points
    a, b = points[after - 1], points[np.minimum(after, len(points) - 1)]
    at_anchor = a[:, 0] == rows
    lo = np.where(at_anchor, a[:, 1] - SLACK, a[:, 1] + (rows - a[:, 0]) - SLACK)
    hi = np.where(at_anchor, a[:, 1] + SLACK, b[:, 1] - (b[:, 0] - rows) + SLACK)
    span = np.maximum(b[:, 0] - a[:, 0], 1)
    centre = a[:, 1] + (rows - a[:, 0]) * (b[:, 1] - a[:, 1]) // span
    too_wide = hi - lo + 1 > MAX_BAND
    lo = np.where(too_wide, centre - MAX_BAND // 2, lo)
    hi = np.where(too_wide, centre + MAX_BAND // 2, hi)
    lo = np.maximum.accumulate(np.clip(lo, 0, max(n_en - 1, 0)))
    hi = np.maximum.accumulate(np.clip(hi, 0, max(n_en - 1, 0)))
    return lo, np.maximum(hi, lo)


Lexical = tuple[np.ndarray, np.ndarray]  # word signatures of the zh and the en records (``lexicon``)


@dataclass(frozen=True)
class Band:
    """The cells a file pair's programme visits, and their scores but the lexical signal's.

    Computed once per file pair and reused by both passes of the alignment.
    """

    lo: np.ndarray
    hi: np.ndarray
    starts: np.ndarray  # where each row's cells start in the flat cell arrays
    rows: np.ndarray  # zh record of each cell
    columns: np.ndarray  # en record of each cell
    scores: CellScores  # each cell's log-odds but the lexical signal's
    repeated: np.ndarray  # bool per zh record: a repeat (``repeats``), which pairs with nothing

    @classmethod
    def of(cls, zh: FileSignals, en: FileSignals) -> Band:
        """The band of the records that are not repeats, each repeat given its predecessor's.

        A repeated block laid out like any other records would push the rows after it
        off the band the anchors give, by the block's length, which may exceed ``SLACK``.
        """
        repeated = repeats(zh)
        kept = ~repeated
        position = np.cumsum(kept) - 1  # per row: the last kept row at or before it, among the kept ones
        found = anchors(zh, en)
        found = found[kept[found[:, 0]]]
        found[:, 0] = position[found[:, 0]]
        lo, hi = bands(int(kept.sum()), len(en), found)
        at = np.maximum(position, 0)
        lo, hi = lo[at], hi[at]
        widths = hi - lo + 1
        starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
        rows = np.repeat(np.arange(len(zh)), widths)
        columns = lo[rows] + np.arange(int(widths.sum())) - starts[rows]
        shared, known = shared_tokens(TokenPairs.of(zh, en), len(zh), lo, hi, starts)
        return cls(
            lo,
            hi,
            starts,
            rows,
            columns,
            CellScores.of(zh, en, rows, columns, shared, known),
            repeated,
        )


def align_files(
    zh: FileSignals,
    en: FileSignals,
    lexical: Lexical | None = None,
    band: Band | None = None,
) -> Pairing:
    """The order-keeping pairing of ``zh``'s records with ``en``'s of the greatest total log-odds."""
    return align_many([(zh, en, lexical, band)])[0]


#: One file pair to align: its signals, the lexical signal if any, and its band if computed already.
Problem = tuple[FileSignals, FileSignals, Lexical | None, Band | None]


def align_many(problems: Sequence[Problem]) -> list[Pairing]:
    """``align_files`` of several file pairs: their programmes run side by side (``_programmes``)."""
    pairings = [Pairing(np.full(len(zh), -1, dtype=np.int64), np.full(len(zh), np.nan)) for zh, *_ in problems]
    todo = [(k, *problem) for k, problem in enumerate(problems) if len(problem[0]) and len(problem[1])]
    bands = [band or Band.of(zh, en) for _, zh, en, _, band in todo]
    scores = [
        band.scores.total(None if lexical is None else lexical_term(lexical, band.rows, band.columns))
        for (_, _, _, lexical, _), band in zip(todo, bands, strict=True)
    ]
    choices = _programmes(
        [
            (
                np.where(band.repeated[band.rows], _NEG, score + PATH_BONUS),
                band.lo,
                band.hi,
            )
            for band, score in zip(bands, scores, strict=True)
        ]
    )
    for (k, zh, en, lexical, _), band, score, choice in zip(todo, bands, scores, choices, strict=True):
        en_of, log_odds = pairings[k].en_of, pairings[k].log_odds
        _trace(choice, score, band.lo, band.hi, band.starts, en_of, log_odds)
        _substitute(zh, en, en_of, log_odds, lexical, band.repeated)
        _versions(zh, en, en_of, log_odds, lexical, band.repeated)
    return pairings


def repeats(zh: FileSignals) -> np.ndarray:
    """Per zh record: is it equal up to form (``FileSignals.near_content``) to an earlier record of the file?"""
    key = zh.near_content
    first = np.zeros(len(key), dtype=bool)
    first[np.unique(key, return_index=True)[1]] = True
    return ~first & (key >= 0)


def _versions(
    zh: FileSignals,
    en: FileSignals,
    en_of: np.ndarray,
    log_odds: np.ndarray,
    lexical: Lexical | None,
    repeated: np.ndarray,
) -> None:
    """Give an unpaired record its paired neighbour's original when it is another version of it (step 6)."""
    paired = en_of.copy()
    for k in np.flatnonzero((paired < 0) & ~repeated).tolist():
        candidates = [
            n for n in (k - 1, k + 1) if 0 <= n < len(paired) and paired[n] >= 0 and zh.content[n] != zh.content[k]
        ]
        if not candidates:
            continue
        columns = paired[candidates]
        scores = pair_scores(
            zh,
            en,
            np.full(len(columns), k),
            columns,
            np.zeros(len(columns)),
            np.zeros(len(zh)),
            lexical,
        )
        best = int(np.argmax(scores))  # the neighbour whose original it matches best
        if scores[best] >= VERSION_FLOOR:
            en_of[k], log_odds[k] = int(columns[best]), float(scores[best])


def _substitute(
    zh: FileSignals,
    en: FileSignals,
    en_of: np.ndarray,
    log_odds: np.ndarray,
    lexical: Lexical | None,
    repeated: np.ndarray,
) -> None:
    """Pair the runs of unpaired zh records that face as many unpaired en records (step 5 of the module doc)."""
    paired = np.flatnonzero(en_of >= 0)
    before = np.concatenate([[-1], paired])
    after = np.concatenate([paired, [len(en_of)]])
    en_before = np.concatenate([[-1], en_of[paired]])
    en_after = np.concatenate([en_of[paired], [len(en)]])
    run = after - before - 1
    for k in np.flatnonzero((run >= 1) & (run <= SUBSTITUTION_RUN) & (en_after - en_before - 1 == run)).tolist():
        rows = np.arange(before[k] + 1, after[k])
        if repeated[rows].any():
            continue
        columns = np.arange(en_before[k] + 1, en_after[k])
        zero = np.zeros(len(rows))
        scores = pair_scores(zh, en, rows, columns, zero, np.zeros(len(zh)), lexical)
        if bool(np.all(scores >= SUBSTITUTION_FLOOR)):
            en_of[rows] = columns
            log_odds[rows] = scores


#: Rows of the programme laid out at once (``_programmes``): their cells' scores and read positions.
STEPS_PER_BLOCK = 64


#: File pairs run side by side only when their widest bands are within this factor of each
#: other: each step's arrays are as wide as the widest band, so one wide pair (an English
#: file of 800 more records than its Chinese one) would pad every narrow one to its width.
WIDTH_SPREAD = 2


def _programmes(
    bands: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> list[np.ndarray]:
    """``_lockstep_programmes`` of the file pairs, in groups of similar band width (``WIDTH_SPREAD``),
    so that memory follows the cells of the bands, not the widest band times the files."""
    widths = [int((hi - lo).max()) + 1 if len(lo) else 1 for _, lo, hi in bands]
    order = sorted(range(len(bands)), key=widths.__getitem__)
    groups: list[list[int]] = []
    for f in order:
        if groups and widths[f] <= WIDTH_SPREAD * widths[groups[-1][0]]:
            groups[-1].append(f)
        else:
            groups.append([f])
    moves: list[np.ndarray] = [np.zeros(0, dtype=np.uint8)] * len(bands)
    for group in groups:
        for f, found in zip(group, _lockstep_programmes([bands[f] for f in group]), strict=True):
            moves[f] = found
    return moves


def _lockstep_programmes(
    bands: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> list[np.ndarray]:
    """The move that reaches each band cell best, for several file pairs: (scores, lo, hi) each, every one a row or more.

    ``best[j]`` of a row is the best total of the zh records up to it within the en
    records up to ``j``: never smaller for a larger ``j`` (skipping is free), so a row is
    the running maximum of: the row above (skip the zh record), the row above one column
    left plus the pair, and the row two above two columns left plus the crossed pairs
    (zh ``row - 1`` with en ``j``, zh ``row`` with en ``j - 1``, less ``SWAP_COST``).

    A row depends on the two above it, so rows run one after the other; the bands are
    some 25 cells wide, where a NumPy call costs its overhead, not its cells. So row
    ``r`` of every file pair is one step: the files' bands are the rows of 2-D arrays,
    as wide as the widest band of the block of ``STEPS_PER_BLOCK`` steps (padding cells
    score NEG). A row keeps its totals over its own band only: two NEG columns before it
    (nothing is reached left of a band) and, beyond it, its last total (the English
    records there are skipped), which is what reading past the end gives. Where each step
    reads the rows above is computed for a whole block first, so a step is a few array
    operations over every file at once: seven files take little more time than one.
    """
    if not bands:
        return []
    order = sorted(range(len(bands)), key=lambda f: -len(bands[f][1]))  # the files still going are a prefix
    lengths = np.array([len(bands[f][1]) for f in order], dtype=np.int64)
    files, steps = len(order), int(lengths.max())
    lo = np.zeros((files, steps), dtype=np.int64)
    width = np.zeros((files, steps), dtype=np.int64)
    start = np.zeros((files, steps), dtype=np.int64)
    base = 0
    for p, f in enumerate(order):
        scores, f_lo, f_hi = bands[f]
        n = len(f_lo)
        lo[p, :n], lo[p, n:] = f_lo, f_lo[-1]
        width[p, :n] = f_hi - f_lo + 1
        start[p, :n] = base + np.cumsum(width[p, :n]) - width[p, :n]
        base += len(scores)
    flat_scores = np.concatenate([*(bands[f][0] for f in order), [_NEG]])  # the last: what a padding cell scores
    active = (lengths[None, :] > np.arange(steps)[:, None]).sum(axis=1)  # files with a row at each step
    blocks = np.arange(0, steps, STEPS_PER_BLOCK)
    step_width = np.maximum.reduceat(width.max(axis=0), blocks)[np.arange(steps) // STEPS_PER_BLOCK]
    # the rows before the first: row -1 holds the total 0 from column -1 on (NEG at column -2), and no scores
    lo_before = np.concatenate([np.full((files, 2), -1, dtype=np.int64), lo], axis=1)
    width_before = np.concatenate([[1, 1], step_width]).astype(np.int64)
    best_1 = best_2 = np.tile(np.array([_NEG, _NEG, 0.0]), (files, 1))  # rows r-1, r-2: 2 NEG columns, then totals
    own_1 = np.full((files, 2), _NEG)  # row r-1's scores, then NEG
    blocks_moves: list[np.ndarray] = []
    step_base = np.zeros(steps, dtype=np.int64)  # where each step's moves start in the flat moves
    offset = 0
    for first in blocks.tolist():
        rows = np.arange(first, min(first + STEPS_PER_BLOCK, steps))
        k0, w = int(active[first]), int(step_width[first])
        t = np.arange(w)
        r_lo, r_width = lo[:k0, rows].T, width[:k0, rows].T  # (step, file)
        padding = t >= r_width[:, :, None]
        cell = np.where(padding, len(flat_scores) - 1, start[:k0, rows].T[:, :, None] + t)
        own_block = np.full((len(rows), k0, w + 1), _NEG)
        own_block[:, :, :w] = flat_scores[cell]
        # flat positions read in rows r-1 and r-2 (w + 2 columns each) and in row r-1's scores (w + 1 columns)
        d1 = (r_lo - lo_before[:k0, rows + 1].T)[:, :, None]  # how far right of row r-1's band this row's starts
        d2 = (r_lo - lo_before[:k0, rows].T)[:, :, None]
        w1, w2 = width_before[rows + 1][:, None, None], width_before[rows][:, None, None]
        file_of = np.arange(k0)[None, :, None]
        above_at = file_of * (w1 + 2) + np.minimum(d1 + 1 + np.arange(w + 1), w1 + 1)  # columns lo - 1 .. lo + w - 1
        before_at = file_of * (w2 + 2) + np.minimum(d2 + t, w2 + 1)  # columns lo - 2 .. lo + w - 3
        own_at = file_of * (w1 + 1) + np.minimum(d1 + t, w1)  # columns lo .. lo + w - 1
        moves = np.empty((len(rows), k0, w), dtype=np.uint8)
        for i, row in enumerate(rows.tolist()):
            k = int(active[row])
            own = own_block[i, :k, :w]
            previous = best_1.take(above_at[i, :k])
            above = previous[:, 1:]
            paired = previous[:, :-1] + own
            take = paired > above
            reach = np.maximum(paired, above)
            # crossed: zh row - 1 takes column j (its own score there), this row takes j - 1; row 0 has no
            # row above with scores (own_1 all NEG), so crossing never wins there
            crossed = best_2.take(before_at[i, :k]) + own_1.take(own_at[i, :k])
            crossed[:, 1:] += own[:, :-1] - SWAP_COST
            crossed[:, 0] = _NEG  # column lo - 1 is outside this row's band
            swap = crossed > reach
            np.maximum(reach, crossed, out=reach)
            move = np.where(swap, _SWAP, take)
            reach[padding[i, :k]] = _NEG
            best = np.empty((k, w + 2))
            best[:, :2] = _NEG
            np.maximum.accumulate(reach, axis=1, out=best[:, 2:])
            moves[i, :k] = np.where(best[:, 2:] > reach, _LEFT, move)
            best_2, best_1, own_1 = best_1, best, own_block[i]
        step_base[rows] = offset + np.arange(len(rows)) * k0 * w
        offset += moves.size
        blocks_moves.append(moves.ravel())
    flat_moves = np.concatenate(blocks_moves) if blocks_moves else np.zeros(0, np.uint8)
    result = [np.zeros(0, np.uint8)] * len(bands)
    for p, f in enumerate(order):  # each file's cells, in its band's order
        f_width = width[p, : lengths[p]]
        row_of = np.repeat(np.arange(len(f_width)), f_width)
        t_of = np.arange(int(f_width.sum())) - np.repeat(np.cumsum(f_width) - f_width, f_width)
        result[f] = flat_moves[step_base[row_of] + p * step_width[row_of] + t_of]
    return result


def _trace(
    choices: np.ndarray,
    scores: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    starts: np.ndarray,
    en_of: np.ndarray,
    log_odds: np.ndarray,
) -> None:
    """Follow the best moves back from the last row, writing each pair found into ``en_of``/``log_odds``."""
    row, column = len(lo) - 1, int(hi[-1])
    lo_list, hi_list, starts_list = lo.tolist(), hi.tolist(), starts.tolist()
    while row >= 0:
        column = min(column, hi_list[row])  # beyond the row's band: the English records there were skipped
        if column < lo_list[row]:
            break  # left of every band still to come: the remaining zh records have no original
        cell = starts_list[row] + column - lo_list[row]
        move = choices[cell]
        if move == _LEFT:
            column -= 1
        elif move == _DIAG:
            en_of[row] = column
            log_odds[row] = scores[cell]
            row, column = row - 1, column - 1
        elif move == _SWAP:  # this row with column - 1, the row above with column (both inside their bands)
            en_of[row], log_odds[row] = column - 1, scores[cell - 1]
            en_of[row - 1], log_odds[row - 1] = (
                column,
                scores[starts_list[row - 1] + column - lo_list[row - 1]],
            )
            row, column = row - 2, column - 2
        else:
            row -= 1

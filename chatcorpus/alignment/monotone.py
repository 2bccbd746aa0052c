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
   Chinese; a band is never wider than ``MAX_BAND``. Work is the sum of band widths.
3. **Dynamic programme** row by row over the band, each row a few array operations;
   the best path is traced back from the last row.
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
from dataclasses import dataclass

import numpy as np

from chatcorpus.alignment.signals import FileSignals, TokenPairs, pair_scores, shared_tokens

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
_OFFSET = 2  # where column 0 is in ``_programme``'s rows: columns -2 and -1 come before it
_UP, _DIAG, _LEFT, _SWAP = 0, 1, 2, 3  # skip the zh record, pair the two, skip the en record, pair crossed


@dataclass(frozen=True)
class Pairing:
    """The alignment of one file pair: for each zh record, its en record (or -1) and the pair's log-odds."""

    en_of: np.ndarray  # int64, -1 where the zh record has no original
    log_odds: np.ndarray  # float, of the pair; NaN where there is none


def anchors(zh: FileSignals, en: FileSignals) -> np.ndarray:
    """(i, j) pairs, increasing in both, of records that share a part found once in each file."""
    found: dict[int, int] = {}
    for key in ("content", "instruction", "input", "output"):  # strongest first: the first found for a row stays
        zh_keys, en_keys = getattr(zh, key), getattr(en, key)
        en_unique = _unique_positions(en_keys)
        for code, i in _unique_positions(zh_keys).items():
            j = en_unique.get(code)
            if j is not None and code >= 0:
                found.setdefault(i, j)
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    rows = np.array(sorted(found), dtype=np.int64)
    chain = _longest_increasing(np.array([found[i] for i in rows.tolist()], dtype=np.int64))
    return np.stack([rows[chain], np.array([found[i] for i in rows[chain].tolist()], dtype=np.int64)], axis=1)


def _unique_positions(codes: np.ndarray) -> dict[int, int]:
    values, first, counts = np.unique(codes, return_index=True, return_counts=True)
    once = counts == 1
    return dict(zip(values[once].tolist(), first[once].tolist(), strict=True))


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
    """The cells a file pair's programme visits, and what the token signal found in them.

    Computed once per file pair and reused by both passes of the alignment.
    """

    lo: np.ndarray
    hi: np.ndarray
    starts: np.ndarray  # where each row's cells start in the flat cell arrays
    rows: np.ndarray  # zh record of each cell
    columns: np.ndarray  # en record of each cell
    shared: np.ndarray  # rare kept tokens the two records share, per cell
    known: np.ndarray  # rare kept tokens of each zh record
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
        return cls(lo, hi, starts, rows, columns, shared, known, repeated)


def align_files(zh: FileSignals, en: FileSignals, lexical: Lexical | None = None, band: Band | None = None) -> Pairing:
    """The order-keeping pairing of ``zh``'s records with ``en``'s of the greatest total log-odds."""
    n_zh, n_en = len(zh), len(en)
    en_of = np.full(n_zh, -1, dtype=np.int64)
    log_odds = np.full(n_zh, np.nan)
    if n_zh == 0 or n_en == 0:
        return Pairing(en_of, log_odds)
    band = band or Band.of(zh, en)
    scores = pair_scores(zh, en, band.rows, band.columns, band.shared, band.known, lexical)
    repeated = band.repeated
    choices = _programme(np.where(repeated[band.rows], _NEG, scores + PATH_BONUS), band.lo, band.hi, band.starts)
    _trace(choices, scores, band.lo, band.hi, band.starts, en_of, log_odds)
    _substitute(zh, en, en_of, log_odds, lexical, repeated)
    _versions(zh, en, en_of, log_odds, lexical, repeated)
    return Pairing(en_of, log_odds)


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
            zh, en, np.full(len(columns), k), columns, np.zeros(len(columns)), np.zeros(len(zh)), lexical
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


def _programme(scores: np.ndarray, lo: np.ndarray, hi: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The move that reaches each band cell best.

    ``best[j]`` of a row is the best total of the zh records up to it within the en
    records up to ``j``: never smaller for a larger ``j`` (skipping is free), so a row is
    the running maximum of: the row above (skip the zh record), the row above one column
    left plus the pair, and the row two above two columns left plus the crossed pairs
    (zh ``row - 1`` with en ``j``, zh ``row`` with en ``j - 1``, less ``SWAP_COST``).

    The rows are kept over every English column (``_OFFSET`` + column), so that the row
    above is read over this row's columns by slicing: beyond a row's band its best stays
    its last value (the English records there are skipped), left of it nothing can be
    reached; each row writes exactly the columns the next two rows read. One row is a
    few array operations on views, which is where the alignment spends most of its time.
    """
    choices = np.empty(len(scores), dtype=np.uint8)
    n = len(lo)
    size = int(hi.max(initial=0)) + _OFFSET + 1
    # three rows of best totals, rotating; before the first row nothing is paired (total 0), and
    # column -2 (only ever read as "two columns left" of column 0) cannot be reached
    rows = [np.zeros(size), np.zeros(size), np.zeros(size)]
    for buffer in rows:
        buffer[0] = _NEG
    own_rows = [np.full(size, _NEG), np.full(size, _NEG)]  # each row's own scores, _NEG outside its band
    lo_list, hi_list, starts_list = lo.tolist(), hi.tolist(), starts.tolist()
    for row in range(n):
        row_lo, row_hi, start = lo_list[row], hi_list[row], starts_list[row]
        width = row_hi - row_lo + 1
        at = row_lo + _OFFSET
        own = scores[start : start + width]
        previous, before, current = rows[(row + 2) % 3], rows[(row + 1) % 3], rows[row % 3]
        above = previous[at : at + width]
        paired = previous[at - 1 : at - 1 + width] + own
        take = paired > above
        reach = np.maximum(paired, above)
        if row > 0:
            # crossed: zh row - 1 takes column j (its own score there), this row takes j - 1
            crossed = before[at - 2 : at - 2 + width] + own_rows[(row + 1) % 2][at : at + width]
            crossed[1:] += own[:-1] - SWAP_COST
            crossed[0] = _NEG  # column row_lo - 1 is outside this row's band
            swap = crossed > reach
            reach = np.maximum(reach, crossed)
            move = np.where(swap, _SWAP, take)
        else:
            move = take
        best = np.maximum.accumulate(reach)
        choices[start : start + width] = np.where(best > reach, _LEFT, move)
        # what the next two rows read of this one: two columns left of the band, the band, and beyond it
        reach_end = hi_list[min(row + 2, n - 1)] + _OFFSET + 1
        current[at - 2 : at] = _NEG
        current[at : at + width] = best
        current[at + width : reach_end] = best[-1]
        mine = own_rows[row % 2]
        mine[at : at + width] = own
        mine[at + width : hi_list[min(row + 1, n - 1)] + _OFFSET + 1] = _NEG
    return choices


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
            en_of[row - 1], log_odds[row - 1] = column, scores[starts_list[row - 1] + column - lo_list[row - 1]]
            row, column = row - 2, column - 2
        else:
            row -= 1

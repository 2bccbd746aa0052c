"""Near-duplicates: records that are the same record up to a small edit, across files and configs.

Every record that is not already an exact or normalized duplicate (those rules report
it) contributes its shingle set (``shingles``). After the last file, MinHash signatures
of all sets are computed and banded by ``rensa`` (MinHash and LSH in Rust), which flags
every record that shares a band with another; only the flagged records' signatures are
read back, to find which records share a band (the candidate pairs). A candidate pair is
reported only when the *exact* Jaccard similarity of the two shingle sets is at least
``THRESHOLD``, so an LSH false positive never reaches the user, and when:

- both records hold the same numbers (the multiset of digit runs): ``91-33=`` and
  ``91-34=`` are different exercises of one template, however similar the text;
- every field that either record fills shares a shingle with the other's: one
  instruction with two unrelated inputs (or outputs) is two tasks, not a copy.

Parameters, measured on the seed corpus and the planted-duplicate test
(``tests/test_near_duplicates.py``; README "Quality rules"): 5-character shingles for
Chinese and 3-word shingles for English, Jaccard 0.7 (data-juicer's threshold), 64
permutations in 16 bands of 4, which finds a pair at Jaccard 0.7 with probability
0.988 and at 0.8 with 0.9999 (datatrove's 14 bands of 8 find a 0.7 pair only half the
time: it aims at 0.8 and up on web-scale corpora; data-juicer's 256 permutations cost
four times ours for no recall the exact check needs).

Why not ``datasketch``: its ``MinHash.update``/``bulk`` hash every shingle through a
Python call and its ``MinHashLSH`` inserts band by band in Python; on 20,000 seed records
that was 10 s for the signatures and 13 s for the index (``bench/quality.py``), against
0.2 s for rensa's matrix and flags. rensa's index answers which *rows* have a partner
but not which partner for a matrix, so the partners among the few flagged rows are
found here by sorting their band keys (a few NumPy sorts). ``datasketch`` is not a
dependency; the bench imports it when it is installed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rensa

from chatcorpus.validation.shingles import CHINESE_SHINGLE, ENGLISH_SHINGLE, Shingles, field_of

RULE = "duplicate.near"
THRESHOLD = 0.7
SUMMARY = (
    f"a record nearly equal to an earlier one in any file or config: Jaccard similarity of their shingles "
    f"({CHINESE_SHINGLE} Han characters, {ENGLISH_SHINGLE} English words) at least {THRESHOLD}, the same numbers, "
    "and every field sharing some text (exact and normalized duplicates are reported by their own rules)"
)
NUM_PERM = 64
BANDS = 16
_ROWS = NUM_PERM // BANDS
_SEED = 1405  # any fixed seed: the same records give the same signatures in every run
#: In a band shared by many records (one template filled in many ways), each record is
#: compared with the few before it in the band, not with all of them: linear, not quadratic.
_WINDOW = 8
_BATCH = 4096  # records whose signatures are made at a time
#: The bands are indexed four at a time, each pass with its own permutations: rensa's index
#: takes about 1 kB per record and band set, so the peak is a quarter of one index of all 16.
_PASSES = 4
_PASS_BANDS = BANDS // _PASSES
_PASS_PERM = NUM_PERM // _PASSES
#: shingles of candidate pairs measured at a time (with their keys and search, about 50 MB)
_SLICE_HASHES = 1 << 21


@dataclass(frozen=True)
class NearPair:
    """A record (``later``) that nearly repeats an earlier one, by their places in the run."""

    later: int
    earlier: int
    similarity: float  # the exact Jaccard similarity of their shingle sets


class NearDuplicateIndex:
    """The shingle sets of the records seen so far, and the pass that pairs them at the end.

    Memory: four bytes per distinct shingle of each record and 16 per record, kept; at the
    end a copy of them, and rensa's band tables for a quarter of the bands (about 300 bytes
    a record).
    """

    def __init__(self) -> None:
        self._parts: list[Shingles] = []
        self._places: list[np.ndarray] = []

    def add(self, places: np.ndarray, shingles: Shingles) -> None:
        """Remember records (their places in the run, in order, and their shingle sets)."""
        keep = shingles.sizes() > 0  # a record of punctuation only has nothing to compare
        self._parts.append(shingles.select(keep))
        self._places.append(np.asarray(places, dtype=np.int64)[keep])

    def pairs(self) -> list[NearPair]:
        """Each record that nearly repeats an earlier one, with the most similar earlier record."""
        records = Shingles.join(self._parts)
        places = np.concatenate(self._places) if self._places else np.zeros(0, np.int64)
        self._parts, self._places = [], []
        found = [_candidates(records, band_pass) for band_pass in range(_PASSES)]
        # a pair found in several passes is measured once
        codes = np.unique(np.concatenate([earlier * len(records) + later for earlier, later in found]))
        return _verified(records, places, codes // max(len(records), 1), codes % max(len(records), 1))


def _signatures(records: Shingles, band_pass: int) -> rensa.RMinHashDigestMatrix:
    """The MinHash signatures of one pass (its own seed: the passes' permutations are independent)."""
    return rensa.RMinHash.digest_matrix_from_flat_token_hashes(
        records.hashes.astype(np.uint64), records.offsets, _PASS_PERM, _SEED + band_pass
    )


def _candidates(records: Shingles, band_pass: int) -> tuple[np.ndarray, np.ndarray]:
    """(earlier, later) positions of the records that share one of this pass's bands.

    rensa flags every record that shares a band with another; only the flagged ones'
    signatures are read back and sorted by band key to find with which.
    """
    index = rensa.RMinHashLSH(THRESHOLD, _PASS_PERM, _PASS_BANDS)
    matrices, start = [], 0
    for batch in _batches(records):
        matrices.append(_signatures(batch, band_pass))
        index.insert_matrix(matrices[-1], start)
        start += len(batch)
    flags = [np.array(index.query_duplicate_flags_matrix(matrix), dtype=bool) for matrix in matrices]
    del index, matrices
    flagged = np.flatnonzero(np.concatenate(flags)) if flags else np.zeros(0, np.int64)
    if len(flagged) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    subset = records.select(_mask(flagged, len(records)))
    rows = np.concatenate([_rows(batch, band_pass) for batch in _batches(subset)])
    found = []
    order_in_run = np.arange(len(subset), dtype=np.int64)
    for band in range(_PASS_BANDS):
        key = np.zeros(len(subset), dtype=np.uint64)
        for column in rows[:, band * _ROWS : (band + 1) * _ROWS].T:
            key = (key ^ column) * np.uint64(0x100000001B3)  # FNV-style: exact keys, collisions only cost a check
        order = np.lexsort((order_in_run, key))  # by key, then in run order
        sorted_keys = key[order]
        for step in range(1, _WINDOW + 1):
            same = np.flatnonzero(sorted_keys[step:] == sorted_keys[:-step])
            if not len(same):
                break
            found.append(order[same] * len(subset) + order[same + step])
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    codes = np.sort(np.concatenate(found))
    codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
    return flagged[codes // len(subset)], flagged[codes % len(subset)]


def _batches(records: Shingles) -> list[Shingles]:
    """``records`` in runs of ``_BATCH``, each a view of its part of the arrays (selecting each run
    by a mask over all records and all their shingles made the pass quadratic in the corpus)."""
    return [records.part(start, start + _BATCH) for start in range(0, len(records), _BATCH)]


def _mask(positions: np.ndarray, size: int) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[positions] = True
    return mask


def _rows(records: Shingles, band_pass: int) -> np.ndarray:
    """The records' signatures as an array (rensa hands them over as lists: a few thousand at a time)."""
    return np.array(_signatures(records, band_pass).to_rows(), dtype=np.uint64).reshape(len(records), _PASS_PERM)


def _verified(records: Shingles, places: np.ndarray, earlier: np.ndarray, later: np.ndarray) -> list[NearPair]:
    """The candidate pairs that are near-duplicates by exact Jaccard and the two guards; the best per record.

    Every pair is measured at once, in NumPy, a slice of pairs at a time: one Python call per
    pair (``np.intersect1d``) cost a millisecond a record when records come in groups of copies,
    each group's records pairing with one another in every band.
    """
    sizes = records.sizes()
    small, large = np.minimum(sizes[earlier], sizes[later]), np.maximum(sizes[earlier], sizes[later])
    possible = (records.numbers[earlier] == records.numbers[later]) & (small >= THRESHOLD * large)
    earlier, later = earlier[possible], later[possible]
    fields = _record_fields(records)
    similarities = np.zeros(len(earlier), dtype=np.float64)
    for part in _slices(sizes[earlier] + sizes[later]):
        similarities[part] = _similarities(records, fields, earlier[part], later[part])
    near = similarities >= THRESHOLD
    earlier, later, similarities = earlier[near], later[near], similarities[near]
    # per later record, the most similar earlier one; on a tie, the first in the run
    order = np.lexsort((earlier, -similarities, later))
    best = order[np.concatenate(([True], later[order][1:] != later[order][:-1]))] if len(order) else order
    return [
        NearPair(int(places[second]), int(places[first]), float(similarity))
        for second, first, similarity in zip(
            later[best].tolist(), earlier[best].tolist(), similarities[best].tolist(), strict=True
        )
    ]


def _slices(weights: np.ndarray) -> list[slice]:
    """Consecutive runs of pairs holding at most ``_SLICE_HASHES`` shingles between them (a pair
    of two 100,000-character records is a run of its own), so memory stays bounded."""
    ends = np.cumsum(weights)
    slices, start = [], 0
    while start < len(weights):
        taken = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, taken + _SLICE_HASHES, side="right")), start + 1)
        slices.append(slice(start, stop))
        start = stop
    return slices


def _similarities(records: Shingles, fields: np.ndarray, earlier: np.ndarray, later: np.ndarray) -> np.ndarray:
    """The Jaccard similarity of each pair (``earlier[i]``, ``later[i]``), or 0 when a field either
    fills shares nothing, computed for all of them at once.

    Each hash is keyed by its pair's number: the later records' keys are sorted as they are laid
    out (pairs in order, each set sorted), so one binary search per earlier record's key finds
    the shingles the two records share.
    """
    earlier_keys = _pair_keys(records, earlier)
    later_keys = _pair_keys(records, later)
    found = np.minimum(np.searchsorted(later_keys, earlier_keys), max(len(later_keys) - 1, 0))
    shared = earlier_keys[later_keys[found] == earlier_keys] if len(later_keys) else earlier_keys[:0]
    shared_pair = (shared >> np.uint64(32)).astype(np.int64)
    intersection = np.bincount(shared_pair, minlength=len(earlier))
    shared_fields = np.zeros(len(earlier), dtype=np.int64)
    np.bitwise_or.at(shared_fields, shared_pair, _field_bits(shared & np.uint64(0xFFFFFFFF)))
    sizes = records.sizes()
    union = sizes[earlier] + sizes[later] - intersection
    similarity = intersection / np.maximum(union, 1)
    return np.where((fields[earlier] | fields[later]) == shared_fields, similarity, 0.0)


def _pair_keys(records: Shingles, members: np.ndarray) -> np.ndarray:
    """The shingle hashes of ``members``' records, one after the other, each keyed by its pair's number."""
    counts = records.sizes()[members]
    firsts = np.repeat(records.offsets[members] - np.cumsum(counts) + counts, counts)
    hashes = records.hashes[firsts + np.arange(counts.sum())].astype(np.uint64)
    return (np.repeat(np.arange(len(members), dtype=np.uint64), counts) << np.uint64(32)) | hashes


def _record_fields(records: Shingles) -> np.ndarray:
    """Each record's fields as a bit set (bit ``f`` for a shingle of field ``f``).

    One byte per shingle, OR-reduced over each record's run of them (``reduceat``): a
    record number and an int64 per shingle with ``bitwise_or.at`` took 16 bytes a
    shingle and grew faster than the corpus."""
    fields = np.zeros(len(records), dtype=np.int64)
    filled = np.flatnonzero(records.sizes() > 0)  # reduceat of an empty run would read its neighbour
    if len(filled):
        bits = np.left_shift(np.uint8(1), field_of(records.hashes).astype(np.uint8))
        fields[filled] = np.bitwise_or.reduceat(bits, records.offsets[filled])
    return fields


def _field_bits(hashes: np.ndarray) -> np.ndarray:
    return np.left_shift(1, field_of(hashes).astype(np.int64))

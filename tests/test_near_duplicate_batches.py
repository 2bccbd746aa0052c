"""The near-duplicate pass's batches and field sets, against their definitions on random shingle sets.

Both are computed on the run's whole index (every record's shingles), so each must cost
linear time in it: a batch is a slice of the arrays, the field sets one reduction.
"""

from __future__ import annotations

import numpy as np
import pytest

from chatcorpus.validation import near_duplicates
from chatcorpus.validation.shingles import FIELD_BITS, Shingles, field_of

_HASH_BITS = 32 - FIELD_BITS


def _random_shingles(rng: np.random.Generator, count: int) -> Shingles:
    """``count`` records of 0-40 sorted unique hashes over a few fields (empty records included)."""
    parts = []
    for _ in range(count):
        size = int(rng.integers(0, 40)) if rng.random() > 0.1 else 0
        fields = rng.integers(0, 1 << FIELD_BITS, size).astype(np.uint32)
        hashes = np.unique((fields << np.uint32(_HASH_BITS)) | rng.integers(0, 1 << _HASH_BITS, size, dtype=np.uint32))
        parts.append(hashes)
    offsets = np.concatenate(([0], np.cumsum([len(p) for p in parts]))).astype(np.int64)
    hashes = np.concatenate(parts).astype(np.uint32) if parts else np.zeros(0, np.uint32)
    return Shingles(hashes, offsets, rng.integers(0, 1 << 63, count, dtype=np.uint64))


@pytest.mark.parametrize("count", [0, 1, 7, 4096, 4097, 9000])
def test_batches_are_the_records_in_runs_of_batch_size(count: int) -> None:
    records = _random_shingles(np.random.default_rng(count), count)
    batches = near_duplicates._batches(records)
    assert [len(batch) for batch in batches] == [
        min(near_duplicates._BATCH, count - start) for start in range(0, count, near_duplicates._BATCH)
    ]
    for number, batch in enumerate(batches):  # each the mask selection of its run, as it was defined before
        expected = records.select((np.arange(count) // near_duplicates._BATCH) == number)
        assert batch.hashes.tolist() == expected.hashes.tolist()
        assert batch.offsets.tolist() == expected.offsets.tolist()
        assert batch.numbers.tolist() == expected.numbers.tolist()
        assert all(
            batch.of(i).tolist() == records.of(number * near_duplicates._BATCH + i).tolist() for i in range(len(batch))
        )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_record_fields_are_the_bit_sets_of_each_records_fields(seed: int) -> None:
    rng = np.random.default_rng(seed)
    records = _random_shingles(rng, 500)
    expected = [
        int(np.bitwise_or.reduce(1 << field_of(records.of(i)).astype(np.int64), initial=0)) for i in range(len(records))
    ]
    assert near_duplicates._record_fields(records).tolist() == expected
    empty = Shingles(np.zeros(0, np.uint32), np.zeros(4, np.int64), np.zeros(3, np.uint64))  # three empty records
    assert near_duplicates._record_fields(empty).tolist() == [0, 0, 0]

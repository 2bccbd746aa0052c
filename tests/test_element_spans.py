"""Where a valid array's elements lie: the spans found from msgspec's element lengths
(``sources._array_spans``) are those the full separator scan finds, or none are claimed."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from chatcorpus.validation.positions import array_separators, element_span, spans_of_lengths
from chatcorpus.validation.sources import _array_spans

_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.sampled_from(["a", '"', "\\", ",", "]", "[", "{", "}", ":", " ", "\n", "中", "😀", "\x00"]), max_size=5),
)
_values = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)
_blank = st.text(st.sampled_from([" ", "\t", "\r", "\n"]), max_size=3)


def _scanned(data: bytes) -> list[tuple[int, int]]:
    separators = array_separators(data)
    return [element_span(data, separators, index) for index in range(len(separators) - 1)]


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    st.lists(_values, max_size=6),
    st.lists(_blank, min_size=2, max_size=2),
    _blank,
    st.booleans(),
    st.booleans(),
)
def test_spans_from_lengths_are_the_scanned_spans(
    values: list[object], gap_blanks: list[str], edge: str, same_gaps: bool, ascii: bool
) -> None:
    texts = [json.dumps(value, ensure_ascii=ascii) for value in values]
    gaps = [gap_blanks[0] + "," + gap_blanks[1]] * max(len(texts) - 1, 0)
    if not same_gaps and gaps:  # a file written by hand: one gap differs
        gaps[len(gaps) // 2] = gap_blanks[1] + ", " + gap_blanks[0]
    body = texts[0] + "".join(gap + text for gap, text in zip(gaps, texts[1:], strict=True)) if texts else ""
    data = f"{edge}[{edge}{body}{edge}]{edge}".encode()
    json.loads(data)  # the case is a valid array
    found = _array_spans(data)
    if not texts:  # the scan finds the empty stretch between the brackets; no record is there to place
        assert found == []
        return
    if found is not None:
        assert found == _scanned(data)
    if same_gaps or len(texts) <= 2:
        assert found == _scanned(data)  # one gap pattern: the lengths always decide


def test_wrong_lengths_claim_no_spans() -> None:
    """Lengths that do not fit the file (one byte short, one byte long) are refused, never placed."""
    data = b'[{"a": 1},\n {"b": 2},\n {"c": 3}]'
    assert spans_of_lengths(data, [8, 8, 8]) == _scanned(data)
    assert spans_of_lengths(data, [8, 7, 8]) is None
    assert spans_of_lengths(data, [8, 9, 8]) is None
    assert spans_of_lengths(data, [8, 8]) is None
    assert spans_of_lengths(b"[ ]", []) == []
    assert spans_of_lengths(b'{"a": 1}', [8]) is None


def test_a_file_msgspec_cannot_read_falls_back_to_the_scan() -> None:
    deep = b"[" * 1100 + b"]" * 1100
    assert _array_spans(b"[1, " + deep + b"]") is None  # deeper than msgspec reads
    assert _array_spans(b"[1, 2]") == [(1, 2), (4, 5)]
    assert np.array_equal(array_separators(b"[1, 2]"), [0, 2, 5])

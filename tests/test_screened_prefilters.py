"""The screened pre-filters (one RE2 pass with the alternation of their patterns, then each
pattern on the rows it selects) select exactly the rows of one pass per pattern."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from chatcorpus.validation.rules import SCREENED_PATTERNS, TEXT_FIELDS, TextFrame

# what the screened patterns look for, their near misses, and ordinary text
_PIECES = st.sampled_from(
    [
        "\x00",
        "\x07",
        "\x1f",
        "\x7f",
        "\t",
        "\n",
        "\r",
        "NAME",
        "AUTHOR",
        "NAMES",
        "xNAME",
        "名NAME",
        "<no",
        "< NO",
        "<\tnoinput>",
        "<n",
        "no>",
        "汉字",
        "ab",
        " ",
        "é",
    ]
)
_TEXT = st.lists(_PIECES, max_size=6).map("".join)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.fixed_dictionaries({name: _TEXT for name in TEXT_FIELDS}), min_size=1, max_size=6))
def test_rare_matches_selects_what_one_pass_per_pattern_selects(rows: list[dict[str, str]]) -> None:
    columns = {name: pa.array([row[name] for row in rows], pa.string()) for name in TEXT_FIELDS}
    frame = TextFrame(columns, np.zeros(len(rows), dtype=bool), ["en"] * len(rows), "alpaca-en")
    assert len(SCREENED_PATTERNS) >= 3
    for pattern in SCREENED_PATTERNS:
        expected = frame.any_column(lambda column, p=pattern: pc.match_substring_regex(column, p))
        assert frame.rare_matches(pattern).tolist() == expected.tolist()

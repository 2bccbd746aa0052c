"""One Hyperscan pass over a file's text for every screened pre-filter pattern at once.

The screened patterns (``rules.screened``) look for rare things in every text field: a
control character, a placeholder, a leftover marker. RE2 (Arrow's regex kernel) runs
their alternation over a file's stacked text fields a byte at a time, and that one
pass was the costliest pre-filter of ``validate``. Hyperscan compiles every pattern's
*trigger* (a part of the pattern that each of its matches holds, such as ``https?://``
for the URL-only input) into one database and finds them with SIMD literal search,
reporting where each match ends; the row holding a match's last byte is a candidate
of that pattern, handed to its rule's check (which decides, as for every pre-filter).
The candidates hold every row the pattern matches, so the report is the RE2 path's
exactly (tests hold both to the exact path, and the triggers to their patterns).

An optional accelerator (``pip install chat-dataset-baseline[fast]``): hyperscan has no
wheel for every platform this package runs on (none for Linux on ARM). Where it is
missing, where it cannot compile (a CPU without SSSE3), for a text Hyperscan cannot take
in one block, or when triggers match so often that reporting them would cost more than
the RE2 pass, ``TriggerScan.rows`` answers None and the caller takes the RE2 path.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa

#: A text where the triggers match more often than once per this many bytes is screened
#: by RE2 instead: each match costs a Python call (about 0.4 µs), RE2 about 5 ns a byte.
_BYTES_PER_MATCH = 64
_MATCHES_ALWAYS_ALLOWED = 4096
#: Hyperscan scans a block of at most 4 GB (an unsigned int length); larger texts take the RE2 path.
_MAX_BLOCK = (1 << 31) - 1


def _spelled(trigger: str) -> bytes:
    """``trigger`` as Hyperscan reads it: a C string, so control characters (NUL above all) escaped."""
    return "".join(
        f"\\x{ord(char):02x}" if ord(char) < 0x20 or ord(char) == 0x7F else char for char in trigger
    ).encode()


def _row_end_anchored(trigger: str) -> bool:
    """A trigger that ends in an unescaped ``$`` matches only at the end of a row."""
    return trigger.endswith("$") and (len(trigger) - len(trigger[:-1].rstrip("\\")) - 1) % 2 == 0


class TriggerScan:
    """A compiled database of triggers, one id each (their position).

    A trigger's ``$`` at its very end means the end of a row (one record's text), as an
    RE2 pattern's does on that text: only matches that end where a row ends count. The
    block is scanned as one text, so that ``$`` is not given to Hyperscan (for which it
    would be the end of the block) but checked against the row offsets.
    """

    def __init__(self, hyperscan: Any, triggers: tuple[str, ...]) -> None:
        self._hyperscan = hyperscan
        self._count = len(triggers)
        self._at_row_end = np.array([_row_end_anchored(trigger) for trigger in triggers], dtype=bool)
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        # UTF-8 with Unicode classes: a trigger's \s or \p{Z} means what RE2's (widened) classes do
        self._database.compile(
            expressions=[
                _spelled(trigger[:-1] if anchored else trigger)
                for trigger, anchored in zip(triggers, self._at_row_end, strict=True)
            ],
            ids=list(range(len(triggers))),
            elements=len(triggers),
            flags=hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP,
        )
        self._scratch = hyperscan.Scratch(self._database)

    def rows(self, strings: pa.Array) -> list[np.ndarray] | None:
        """For each trigger, the sorted distinct rows of ``strings`` in which one of its matches
        ends (at the row's end, for a trigger ending in ``$``).

        A match that lies inside a row ends in it, so these rows are a superset of the rows
        the trigger matches (a match across two rows' bytes only adds a candidate). None
        when this text is for RE2 to screen (see the module doc).
        """
        strings = strings.cast(pa.large_string())
        _, offsets_buffer, data_buffer = strings.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[strings.offset : strings.offset + len(strings) + 1]
        start, stop = (int(offsets[0]), int(offsets[-1])) if len(offsets) else (0, 0)
        if stop - start > _MAX_BLOCK:
            return None
        if stop == start or data_buffer is None:
            return [np.zeros(0, dtype=np.int64) for _ in range(self._count)]
        budget = _MATCHES_ALWAYS_ALLOWED + (stop - start) // _BYTES_PER_MATCH
        ids: list[int] = []
        ends: list[int] = []

        def on_match(trigger: int, _from: int, end: int, _flags: int, _context: Any) -> bool:
            ids.append(trigger)
            ends.append(end)
            return len(ids) > budget  # True stops the scan

        try:
            self._database.scan(
                memoryview(data_buffer)[start:stop], match_event_handler=on_match, scratch=self._scratch
            )
        except self._hyperscan.ScanTerminated:
            return None
        which = np.array(ids, dtype=np.int64)
        at = np.array(ends, dtype=np.int64) + start
        row = np.searchsorted(offsets, at - 1, side="right") - 1  # the row holding the match's last byte
        kept = ~self._at_row_end[which] | (offsets[np.minimum(row + 1, len(offsets) - 1)] == at)
        return [np.unique(row[kept & (which == trigger)]) for trigger in range(self._count)]


@cache
def trigger_scan(triggers: tuple[str, ...]) -> TriggerScan | None:
    """The compiled ``triggers`` (once per process), or None where Hyperscan is missing or cannot run."""
    try:
        import hyperscan
    except ImportError:
        return None
    try:
        return TriggerScan(hyperscan, triggers)
    except hyperscan.error:  # a CPU it does not support (the tests hold that the triggers compile)
        return None

"""How much of an edited shard a content-addressed store (the Hub's Xet) could skip uploading.

One shard of 5,000 generated rows, and the same shard with one row in the middle edited
(or one row inserted there),
written with and without content-defined chunking. Both files are cut into chunks with a
gear rolling hash (about 64 KiB on average, Xet's target; written here because the test
Hub has no Xet storage to ask), and the bytes of the edited file whose chunks the first
file already has are counted as not uploaded.

    python bench/shard_dedup.py
"""

from __future__ import annotations

import hashlib
import random

import numpy as np

from chatcorpus.release import shards
from chatcorpus.validation.records import to_row

_GEAR = np.random.default_rng(0).integers(0, 2**63, 256, dtype=np.uint64)
_MASK = (1 << 16) - 1  # a boundary every 64 KiB on average


def _chunks(data: bytes) -> list[bytes]:
    out, start, rolling = [], 0, 0
    for position, byte in enumerate(data):
        rolling = ((rolling << 1) + int(_GEAR[byte])) & 0xFFFFFFFFFFFFFFFF
        if position - start >= 8192 and (rolling & _MASK) == 0:
            out.append(data[start : position + 1])
            start = position + 1
    out.append(data[start:])
    return out


def _shard(edit: str, rows: int = 5000) -> bytes:
    rng = random.Random(1)
    words = ["alpha", "beta", "gamma", "delta", "风", "雨", "instruction", "model"]
    table_rows = []
    for n in range(rows):
        text = " ".join(rng.choice(words) for _ in range(80))
        if edit == "changed" and n == rows // 2:
            text += " edited"
        if edit == "inserted" and n == rows // 2:
            table_rows.append(
                to_row({"instruction": "new", "output": "a new row"}, "f" * 16, "en", "alpaca", "b.json:0")
            )
        record = {"instruction": f"task {n}", "input": "", "output": text}
        table_rows.append(to_row(record, f"{n:016x}", "en", "alpaca", f"a.json:{n}"))
    return shards.parquet_bytes(shards.table_from_rows(table_rows))


def main() -> None:
    with_cdc = dict(shards._WRITE_OPTIONS)
    without = {k: v for k, v in with_cdc.items() if k != "use_content_defined_chunking"}
    for label, options in (("without content-defined chunking", without), ("with it", with_cdc)):
        shards._WRITE_OPTIONS.clear()
        shards._WRITE_OPTIONS.update(options)
        old = _shard("")
        known = {hashlib.sha256(chunk).digest() for chunk in _chunks(old)}
        for edit in ("changed", "inserted"):
            new = _shard(edit)
            upload = sum(len(c) for c in _chunks(new) if hashlib.sha256(c).digest() not in known)
            print(f"{label}, one row {edit}: {len(new):,} bytes, {upload:,} to upload ({upload / len(new):.0%})")
    shards._WRITE_OPTIONS.clear()
    shards._WRITE_OPTIONS.update(with_cdc)


if __name__ == "__main__":
    main()

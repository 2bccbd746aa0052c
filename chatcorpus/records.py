"""Turn a valid contributed record into a row of the shared schema.

The derived columns are defined here once: ``id`` (a hash of the record's content, the
dedup and changelog key), ``language`` (from the script of the text), ``category`` and
``source``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Optional

import orjson

from chat_dataset_baseline import CONFIGS

# CJK Unified Ideographs, Extension A and the compatibility block: what Chinese text is made of
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
# A Chinese character carries about as much as an English word of ~4 letters.
_LETTERS_PER_HAN = 4.0
ID_HEX_DIGITS = 16


def content_key(record: dict[str, Any]) -> bytes:
    """The canonical content of a record: what two records must share to be the same record."""
    return orjson.dumps(
        [
            record["instruction"],
            record.get("input", ""),
            record["output"],
            record.get("system", ""),
            record.get("history") or [],
        ]
    )


def record_id(record: dict[str, Any]) -> str:
    """Stable id of a record: the first 64 bits of the sha256 of its canonical content."""
    return hashlib.sha256(content_key(record)).hexdigest()[:ID_HEX_DIGITS]


def language_of(text: str) -> str:
    """``zh``, ``en`` or ``mixed``, by the share of Han characters against Latin letters."""
    han = len(_HAN.findall(text))
    latin = len(_LATIN.findall(text)) / _LETTERS_PER_HAN
    if han + latin == 0:
        return "mixed"
    share = han / (han + latin)
    if share >= 0.8:
        return "zh"
    if share <= 0.2:
        return "en"
    return "mixed"


def record_text(record: dict[str, Any]) -> str:
    """The text a language is judged on: what the user asks and what the model answers."""
    return "\n".join(value for key in ("instruction", "input", "output") if isinstance(value := record.get(key), str))


def category_of(config: str, relative_path: str) -> str:
    """The config's category, or the source file's stem where the file names the category."""
    category: Optional[str] = CONFIGS[config].category
    if category is not None:
        return category
    return relative_path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def to_row(record: dict[str, Any], row_id: str, category: str, source: str) -> dict[str, Any]:
    """A row in ``FEATURES`` order from a record that passed the schema."""
    return {
        "id": row_id,
        "instruction": record["instruction"],
        "input": record.get("input", ""),
        "output": record["output"],
        "system": record.get("system", ""),
        "history": [{"user": user, "assistant": assistant} for user, assistant in record.get("history") or []],
        "language": language_of(record_text(record)),
        "category": category,
        "source": source,
    }

"""Turn a valid contributed record into a row of the shared schema.

The derived columns are defined here once: ``id`` (a hash of the record's content, the
dedup and changelog key), ``language`` (from the script of the text), ``category`` and
``source``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from chatcorpus.validation.corpus_shape import CONFIG_CATEGORIES
from chatcorpus.validation.textstats import han_counts, latin_letter_counts

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


def content_id(record: dict[str, Any]) -> str:
    """Stable id of a record: the first 64 bits of the sha256 of its canonical content."""
    return hashlib.sha256(content_key(record)).hexdigest()[:ID_HEX_DIGITS]


def languages_of(texts: pa.Array) -> list[str]:
    """``zh``, ``en`` or ``mixed`` per text, by the share of Han characters against Latin letters.

    Counted over a whole column at once (``textstats``): per-record regex counting was
    the slowest step of a build.
    """
    han = han_counts(texts).astype(float)
    latin = latin_letter_counts(texts) / _LETTERS_PER_HAN
    total = han + latin
    share = np.divide(han, total, out=np.full_like(han, 0.5), where=total > 0)
    return np.where(share >= 0.8, "zh", np.where(share <= 0.2, "en", "mixed")).tolist()


LANGUAGE_FIELDS = ("instruction", "input", "output")  # what the user asks and what the model answers


def category_of(config: str, relative_path: str) -> str:
    """The config's category, or the source file's stem where the file names the category."""
    category = CONFIG_CATEGORIES[config]
    if category is not None:
        return category
    return relative_path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def to_row(record: dict[str, Any], row_id: str, language: str, category: str, source: str) -> dict[str, Any]:
    """A row in ``FEATURES`` order from a record that passed the schema.

    The translation link is left empty: it relates a row to another config's rows, so
    the build fills it once both configs are read (``chatcorpus.alignment``).
    """
    return {
        "id": row_id,
        "instruction": record["instruction"],
        "input": record.get("input", ""),
        "output": record["output"],
        "system": record.get("system", ""),
        "history": [{"user": user, "assistant": assistant} for user, assistant in record.get("history") or []],
        "language": language,
        "category": category,
        "source": source,
        "translation_of": "",
        "translation_kind": "",
    }

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
from chatcorpus.validation.textstats import han_and_latin_counts

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
    han_count, latin_count = han_and_latin_counts(texts)
    han = han_count.astype(float)
    latin = latin_count / _LETTERS_PER_HAN
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


#: The columns of a row, in ``FEATURES`` order (kept equal to it by a test: the builder,
#: where ``FEATURES`` lives, imports ``datasets``, which the validate path does not).
ROW_FIELDS = (
    "id",
    "instruction",
    "input",
    "output",
    "system",
    "history",
    "language",
    "category",
    "source",
    "translation_of",
    "translation_kind",
)
RowValues = tuple[str, str, str, str, str, list[dict[str, str]], str, str, str, str, str]


def row_values(
    record: dict[str, Any],
    row_id: str,
    language: str,
    category: str,
    source: str,
    translation: tuple[str, str] = ("", ""),
) -> RowValues:
    """A row's values in ``ROW_FIELDS`` order from a record that passed the schema.

    A tuple, not a dict: a build makes one per published row, and the shard writer
    turns a shard's tuples into columns in one ``zip``. ``translation`` is the link
    (``translation_of``, ``translation_kind``); it relates a row to another config's
    rows, so the build finds it once both configs are read (``chatcorpus.alignment``).
    """
    return (
        row_id,
        record["instruction"],
        record.get("input", ""),
        record["output"],
        record.get("system", ""),
        [{"user": user, "assistant": assistant} for user, assistant in record.get("history") or []],
        language,
        category,
        source,
        *translation,
    )


def to_row(record: dict[str, Any], row_id: str, language: str, category: str, source: str) -> dict[str, Any]:
    """``row_values`` as a dict by column name, with the translation link left empty."""
    return dict(zip(ROW_FIELDS, row_values(record, row_id, language, category, source), strict=True))

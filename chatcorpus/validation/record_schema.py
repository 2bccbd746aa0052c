"""The JSON Schema of one contributed record, generated from the builder's ``FEATURES``.

A contributed record is the Alpaca format: the shared schema minus the columns the
build derives (id, language, category, source, and the translation link it computes by
aligning alpaca-zh with alpaca-en), with ``history`` written as the
source format's ``[user, assistant]`` pairs. Generating the schema from ``FEATURES``
(and testing the committed ``schema/record.schema.json`` against this) means the two
cannot drift.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import datasets

from chat_dataset_baseline import FEATURES

SCHEMA_ID = "https://github.com/hikariming/chat-dataset-baseline/schema/record.schema.json"
#: Columns the build computes; a contributor never writes them.
DERIVED_COLUMNS = ("id", "language", "category", "source", "translation_of", "translation_kind")
#: The fields without which a record says nothing.
REQUIRED_FIELDS = ("instruction", "output")


def _field_schema(feature: Any) -> dict[str, Any]:
    if isinstance(feature, datasets.Value) and feature.dtype == "string":
        return {"type": "string"}
    if isinstance(feature, datasets.List) and isinstance(feature.feature, dict):
        # a list of structs is contributed as a list of fixed-length tuples, in field order
        names = list(feature.feature)
        return {
            "type": "array",
            "items": {
                "type": "array",
                "prefixItems": [_field_schema(feature.feature[name]) for name in names],
                "items": False,
                "minItems": len(names),
                "maxItems": len(names),
                "description": "one earlier turn: [" + ", ".join(names) + "]",
            },
        }
    raise TypeError(f"no JSON Schema mapping for feature {feature!r}")


def record_schema() -> dict[str, Any]:
    """The normative JSON Schema (draft 2020-12) of a contributed record."""
    contributed = {name: feature for name, feature in FEATURES.items() if name not in DERIVED_COLUMNS}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "chat-dataset-baseline record",
        "description": "One instruction-tuning record in the Alpaca format; input, system and history are optional.",
        "type": "object",
        "properties": {name: _field_schema(feature) for name, feature in contributed.items()},
        "required": list(REQUIRED_FIELDS),
        "additionalProperties": False,
    }


def record_schema_text() -> str:
    """The schema as committed in ``schema/record.schema.json`` and published with each release."""
    return json.dumps(record_schema(), indent=2, ensure_ascii=False) + "\n"


#: The module ``corpus_shape_text`` writes; validation imports it instead of the builder.
CORPUS_SHAPE_MODULE = "chatcorpus/validation/corpus_shape.py"


#: The builder's functions the validate path needs too, copied into ``corpus_shape`` by their
#: source: the bounded reader of release JSON (``validate --against`` reads a release's manifest).
SHARED_FUNCTIONS = ("nesting_exceeds", "read_release_json")


def corpus_shape_text() -> str:
    """``chatcorpus/validation/corpus_shape.py`` as generated from the builder's ``CONFIGS`` and ``FEATURES``.

    Importing the builder imports ``datasets`` and pandas (1.5 s), which a validation run
    never uses; so what validation needs from the builder is written out as literals,
    and a test proves the committed module holds these values. Regenerate with
    ``python -m chatcorpus.validation.record_schema`` (then ``ruff format`` it).
    """
    import chat_dataset_baseline as builder

    pattern = builder.PLACEHOLDER_PATTERN
    values: dict[str, tuple[str, str]] = {  # name: (annotation, Python source of the value)
        "CONFIG_LANGUAGES": ("dict[str, str]", repr({name: spec.language for name, spec in builder.CONFIGS.items()})),
        "CONFIG_CATEGORIES": (
            "dict[str, str | None]",
            repr({name: spec.category for name, spec in builder.CONFIGS.items()}),
        ),
        "IDENTITY_CONFIG": ("str", repr(builder.IDENTITY_CONFIG)),
        "TEXT_COLUMNS": ("tuple[str, ...]", repr(tuple(builder.TEXT_COLUMNS))),
        "PLACEHOLDER_PATTERN": (
            "re.Pattern[str]",
            f"re.compile({pattern.pattern!r}, re.RegexFlag({int(pattern.flags)}))",
        ),
        "RELEASE_VERSION": ("str", repr(builder.RELEASE_VERSION)),
        "DEFAULT_REPO_ID": ("str", repr(builder.DEFAULT_REPO_ID)),
        "TRANSLATION_KINDS": ("tuple[str, ...]", repr(tuple(builder.TRANSLATION_KINDS))),
        "RECORD_SCHEMA": ("dict[str, Any]", repr(record_schema())),
        "MAX_RELEASE_JSON_DEPTH": ("int", repr(builder.MAX_RELEASE_JSON_DEPTH)),
    }
    lines = [
        '"""The corpus\'s shape as validation needs it, importable without ``datasets``.',
        "",
        "GENERATED from ``chat_dataset_baseline`` (CONFIGS, FEATURES) by",
        "``python -m chatcorpus.validation.record_schema``; a test checks it is current. Do not edit.",
        '"""',
        "",
        "import json",
        "import re",
        "from collections.abc import Callable",
        "from typing import Any",
        "",
        *(f"{name}: {annotation} = {source}" for name, (annotation, source) in values.items()),
        "#: The config names, in the builder's order.",
        "CONFIG_NAMES: tuple[str, ...] = tuple(CONFIG_LANGUAGES)",
        *(f"\n\n{inspect.getsource(getattr(builder, name)).rstrip()}" for name in SHARED_FUNCTIONS),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    Path(__file__).resolve().parents[2].joinpath(CORPUS_SHAPE_MODULE).write_text(corpus_shape_text(), encoding="utf-8")

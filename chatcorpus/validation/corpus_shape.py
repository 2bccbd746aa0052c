"""The corpus's shape as validation needs it, importable without ``datasets``.

GENERATED from ``chat_dataset_baseline`` (CONFIGS, FEATURES) by
``python -m chatcorpus.validation.record_schema``; a test checks it is current. Do not edit.
"""

import re
from typing import Any

CONFIG_LANGUAGES: dict[str, str] = {"alpaca-zh": "zh", "alpaca-en": "en", "chatglm-issues": "zh", "prompts": "mixed"}
CONFIG_CATEGORIES: dict[str, str | None] = {
    "alpaca-zh": "alpaca",
    "alpaca-en": "alpaca",
    "chatglm-issues": None,
    "prompts": "identity",
}
IDENTITY_CONFIG: str = "prompts"
TEXT_COLUMNS: tuple[str, ...] = ("instruction", "input", "output", "system")
PLACEHOLDER_PATTERN: re.Pattern[str] = re.compile("\\b(?:NAME|AUTHOR)\\b", re.RegexFlag(256))
RELEASE_VERSION: str = "1.0.0"
DEFAULT_REPO_ID: str = "hikariming/chat-dataset-baseline"
RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/hikariming/chat-dataset-baseline/schema/record.schema.json",
    "title": "chat-dataset-baseline record",
    "description": "One instruction-tuning record in the Alpaca format; input, system and history are optional.",
    "type": "object",
    "properties": {
        "instruction": {"type": "string"},
        "input": {"type": "string"},
        "output": {"type": "string"},
        "system": {"type": "string"},
        "history": {
            "type": "array",
            "items": {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "string"}],
                "items": False,
                "minItems": 2,
                "maxItems": 2,
                "description": "one earlier turn: [user, assistant]",
            },
        },
    },
    "required": ["instruction", "output"],
    "additionalProperties": False,
}
#: The config names, in the builder's order.
CONFIG_NAMES: tuple[str, ...] = tuple(CONFIG_LANGUAGES)

"""The corpus's shape as validation needs it, importable without ``datasets``.

GENERATED from ``chat_dataset_baseline`` (CONFIGS, FEATURES) by
``python -m chatcorpus.validation.record_schema``; a test checks it is current. Do not edit.
"""

import json
import re
from collections.abc import Callable
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
RELEASE_VERSION: str = "2.0.0"
DEFAULT_REPO_ID: str = "hikariming/chat-dataset-baseline"
TRANSLATION_KINDS: tuple[str, ...] = ("translated", "untranslated")
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
MAX_RELEASE_JSON_DEPTH: int = 32
#: The config names, in the builder's order.
CONFIG_NAMES: tuple[str, ...] = tuple(CONFIG_LANGUAGES)


def nesting_exceeds(value: object, limit: int) -> bool:
    """True when lists and dicts in ``value`` nest deeper than ``limit`` levels (a scalar is level 0).

    Iterative, so that asking about a value never recurses as deeply as the value does;
    and each list or dict is measured once, by identity, because parsed YAML may share
    them (aliases): ten lines of ``&a [*b, *b, ...]`` expand to 10**10 nodes when walked
    as a tree. A value that contains itself (``&a [*a]``) nests without end.
    """
    heights: dict[int, int] = {}  # id of a finished list or dict -> its levels
    open_ids: set[int] = set()  # the lists and dicts on the path being measured
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        children = [c for c in (node.values() if isinstance(node, dict) else node) if isinstance(c, (dict, list))]
        if done:
            open_ids.discard(id(node))
            heights[id(node)] = 1 + max((heights[id(c)] for c in children), default=0)
            if heights[id(node)] > limit:
                return True
        elif id(node) in open_ids:
            return True  # it contains itself
        elif id(node) not in heights:
            if len(open_ids) >= limit:
                return True
            open_ids.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in heights)
    return False


def read_release_json(data: bytes, where: str, error: Callable[[str], Exception]) -> dict[str, Any]:
    """The JSON object in ``data`` (a release file named ``where``), or ``error(message)`` saying why not.

    Strict, because readers must all see the same value: UTF-8, no ``NaN`` or
    ``Infinity``, no key repeated in one object (which readers may resolve differently),
    an object at the top, and at most ``MAX_RELEASE_JSON_DEPTH`` levels deep.
    """

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, member in pairs:
            if key in obj:
                raise ValueError(f"the key {key!r} is repeated in one object")
            obj[key] = member
        return obj

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    too_deep = f"{where} nests deeper than {MAX_RELEASE_JSON_DEPTH} levels; no release file does"
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=unique_keys, parse_constant=no_constant)
    except RecursionError:  # the decoder counts its levels against the interpreter's recursion limit
        raise error(too_deep) from None
    except ValueError as err:  # also bytes that are not UTF-8
        raise error(f"{where} is not JSON: {err}") from err
    if nesting_exceeds(value, MAX_RELEASE_JSON_DEPTH):
        raise error(too_deep)
    if not isinstance(value, dict):
        raise error(f"{where} is not a JSON object")
    return value

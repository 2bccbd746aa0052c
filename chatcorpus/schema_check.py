"""Check one record against the normative JSON Schema, as ``Problem``s with stable rule ids.

Rule ids are ``schema.<keyword>`` and pointers are the instance paths ``jsonschema``
reports, so a fault reads the same whichever validator found it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Iterable

import jsonschema

from chatcorpus.faults import Problem
from chatcorpus.record_schema import record_schema

_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def json_type_name(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return _JSON_TYPES[type(value)]
    if isinstance(value, (int, float)):
        return "a number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def to_pointer(path: Iterable[Any]) -> str:
    """RFC 6901 pointer from a sequence of keys and indices."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def describe(keyword: str, pointer: str, instance: Any, schema_value: Any) -> str:
    """A short message for a schema violation; never echoes the (possibly huge) value."""
    where = pointer or "the record"
    if keyword == "type":
        wanted = schema_value if isinstance(schema_value, str) else " or ".join(schema_value)
        return f"{where} must be {'an' if wanted[0] in 'aeiou' else 'a'} {wanted}, found {json_type_name(instance)}"
    if keyword == "required":
        missing = [name for name in schema_value if name not in instance]
        return f"{where} is missing the required field{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}"
    if keyword == "additionalProperties":
        allowed = ", ".join(record_schema()["properties"])
        return f"{where} has fields beyond the Alpaca format; allowed are {allowed}"
    if keyword in ("minItems", "maxItems", "items"):
        return f"{where} must be a [user, assistant] pair, found {len(instance)} items"
    return f"{where} violates '{keyword}'"


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    schema = record_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def reference_problems(record: Any) -> list[Problem]:
    """Problems as ``jsonschema`` itself finds them: the reference the fast path must match."""
    problems = []
    for error in _validator().iter_errors(record):
        pointer = to_pointer(error.absolute_path)
        if error.validator == "additionalProperties":
            extras = sorted(set(error.instance) - set(record_schema()["properties"]))
            for name in extras:
                problems.append(Problem("schema.additionalProperties", _unknown_field(name), to_pointer([*error.absolute_path, name])))
            continue
        problems.append(Problem(f"schema.{error.validator}", describe(error.validator, pointer, error.instance, error.validator_value), pointer))
    return problems


def _unknown_field(name: str) -> str:
    allowed = ", ".join(record_schema()["properties"])
    return f"unknown field {name!r}; a record has only {allowed}"


#: The checker ``validate`` uses. Swapped for the compiled fast path where it agrees.
schema_problems: Callable[[Any], list[Problem]] = reference_problems

"""Check one record against the normative JSON Schema, as ``Problem``s with stable rule ids.

Rule ids are ``schema.<keyword>`` and pointers are the instance paths ``jsonschema``
reports, so a fault reads the same whichever validator found it. ``validate`` uses the
compiled fast path (``schema_problems``); ``reference_problems`` wraps ``jsonschema`` and
is what the fast path is tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from chatcorpus.validation.corpus_shape import RECORD_SCHEMA
from chatcorpus.validation.faults import Problem
from chatcorpus.validation.locate import to_pointer
from chatcorpus.validation.schema_compiler import Violation, compile_schema

#: The fields a record may have, in schema order, for messages.
_FIELDS = tuple(RECORD_SCHEMA["properties"])

_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def json_type_name(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return _JSON_TYPES[type(value)]
    if isinstance(value, (int, float)):
        return "a number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def describe(keyword: str | None, pointer: str, instance: Any, schema_value: Any) -> str:
    """A short message for a schema violation; never echoes the (possibly huge) value."""
    where = pointer or "the record"
    if keyword == "type":
        wanted = schema_value if isinstance(schema_value, str) else " or ".join(schema_value)
        return f"{where} must be {'an' if wanted[0] in 'aeiou' else 'a'} {wanted}, found {json_type_name(instance)}"
    if keyword == "required":
        missing = [name for name in schema_value if name not in instance]
        return f"{where} is missing the required field{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}"
    if keyword == "additionalProperties":
        return f"{where} has fields beyond the Alpaca format; allowed are {', '.join(_FIELDS)}"
    if keyword in ("minItems", "maxItems", "items"):
        return f"{where} must be a [user, assistant] pair, found {len(instance)} items"
    return f"{where} violates '{keyword}'"


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema  # only the tests and benchmarks compare against it; validate runs the compiled checks

    jsonschema.Draft202012Validator.check_schema(RECORD_SCHEMA)
    return jsonschema.Draft202012Validator(RECORD_SCHEMA)


def reference_problems(record: Any) -> list[Problem]:
    """Problems as ``jsonschema`` itself finds them: the reference the fast path must match."""
    return [
        problem
        for error in _validator().iter_errors(record)
        for problem in _problems(error.validator, error.absolute_path, error.instance, error.validator_value)
    ]


def _to_problems(violations: list[Violation]) -> list[Problem]:
    return [problem for v in violations for problem in _problems(v.keyword, v.path, v.instance, v.schema_value)]


#: The checker ``validate`` uses: the record schema compiled to closures (``schema_compiler``),
#: giving ``reference_problems``' exact list. A valid record costs one short loop; messages
#: are built only for violations.
schema_problems: Callable[[Any], list[Problem]] = compile_schema(RECORD_SCHEMA, report=_to_problems)


def _problems(keyword: str | None, path: Iterable[Any], instance: Any, schema_value: Any) -> list[Problem]:
    """One violation as problems: one per unknown field for ``additionalProperties``, else one."""
    if keyword == "additionalProperties":
        extras = sorted(set(instance) - set(_FIELDS))
        return [
            Problem("schema.additionalProperties", _unknown_field(name), to_pointer([*path, name])) for name in extras
        ]
    pointer = to_pointer(path)
    return [Problem(f"schema.{keyword}", describe(keyword, pointer, instance, schema_value), pointer)]


def _unknown_field(name: str) -> str:
    return f"unknown field {name!r}; a record has only {', '.join(_FIELDS)}"

"""Compile a JSON Schema (draft 2020-12) into nested closures: the validator's fast path.

``jsonschema`` interprets a schema anew for every instance, and that interpretation
(evolving validators, descending, building messages with ``repr`` of each instance)
costs far more than the checks themselves. The record schema is fixed, so it is
compiled once into plain Python closures that do only the checks.

The compiler supports a small set of keywords and refuses every other one with
``UnsupportedKeyword`` at compile time: the fast path claims nothing it does not
implement. For the keywords it supports, it reports a violation exactly where
``jsonschema.Draft202012Validator.iter_errors`` reports an error (same keyword, same
instance path, all of them, in the same order but where ``jsonschema`` iterates a set:
the members an ``additionalProperties`` schema rejects), which
``tests/test_schema_parity.py`` proves against the official JSON Schema test suite
and against ``jsonschema`` itself.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar, overload


def _unsupported(message: str) -> Exception:
    """``UnsupportedKeyword``, imported only when raised: ``chatcorpus.errors`` imports the
    builder and with it ``datasets``, which validation never needs."""
    from chatcorpus.errors import UnsupportedKeyword

    return UnsupportedKeyword(message)


#: Keywords that carry no assertion, ignored as ``jsonschema`` ignores them.
ANNOTATIONS = frozenset(("$schema", "$id", "title", "description"))


class Violation(NamedTuple):
    """One failed assertion, as ``jsonschema`` would report it.

    ``keyword`` is None for a ``false`` schema (``jsonschema`` sets no validator there).
    ``path`` is the instance path, ``jsonschema``'s ``absolute_path``; ``schema_value``
    is the keyword's value, which messages need (the wanted type, the required names).
    """

    keyword: str | None
    path: tuple[str | int, ...]
    instance: Any
    schema_value: Any


Violations = list[Violation]
T = TypeVar("T")
#: A compiled (sub)schema: checks ``instance`` found at ``path`` and appends what fails.
Check = Callable[[Any, tuple, Violations], None]
ClassInfo = type | tuple[type, ...]


def _unchanged(violations: Violations) -> Violations:
    return violations


@overload
def compile_schema(schema: dict[str, Any] | bool) -> Callable[[Any], Violations]: ...
@overload
def compile_schema(
    schema: dict[str, Any] | bool, report: Callable[[Violations], list[T]]
) -> Callable[[Any], list[T]]: ...


def compile_schema(
    schema: dict[str, Any] | bool, report: Callable[[Violations], list[Any]] = _unchanged
) -> Callable[[Any], list[Any]]:
    """A function returning every violation of ``schema`` by an instance ([] when valid).

    With ``report``, it returns ``report(violations)`` instead, and still [] for a valid
    instance: a caller that turns violations into its own objects (``schema_check``'s
    ``Problem``) adds no call per valid instance, which is most of them.
    """
    check = _compile(schema)

    def validate(instance: Any) -> list[Any]:
        violations: Violations = []
        check(instance, (), violations)
        return report(violations) if violations else []

    return _proving_first(schema, validate) or validate


_OBJECT_KEYWORDS = frozenset(("type", "properties", "required", "additionalProperties"))


def _proving_first(schema: Any, validate: Callable[[Any], list[Any]]) -> Callable[[Any], list[Any]] | None:
    """For an object of bare-typed fields (a record), ``validate`` behind a one-loop proof of validity.

    The proof holds for an object that has every required name and whose every member
    is a property with a bare type its value has (none is additional, then). It only
    ever proves validity: whatever it cannot prove goes to ``validate``, which says
    what is wrong. A valid record so costs one short loop, not a call per keyword and
    member, the difference between ~30x and ~15x ``jsonschema``'s speed.
    """
    if (
        not isinstance(schema, dict)
        or schema.keys() - ANNOTATIONS - _OBJECT_KEYWORDS
        or schema.get("type", "object") != "object"
    ):
        return None
    leaves = {
        name: leaf
        for name, subschema in schema.get("properties", {}).items()
        if (leaf := _leaf_classes(subschema)) is not None
    }
    if not leaves:
        return None
    leaf_of, required = leaves.get, tuple(schema.get("required", ()))

    def validate_proving_first(instance: Any) -> list[Any]:
        if isinstance(instance, dict):
            for name in required:
                if name not in instance:
                    break
            else:
                for name, member in instance.items():
                    leaf = leaf_of(name)
                    if leaf is None or not isinstance(member, leaf):
                        break
                else:
                    return []  # proven valid
        return validate(instance)

    return validate_proving_first


def _compile(schema: dict[str, Any] | bool) -> Check:
    if schema is True:
        return _accept
    if schema is False:
        return _reject
    if not isinstance(schema, dict):
        raise _unsupported(f"a schema is an object or a boolean, not {schema!r}")
    unsupported = schema.keys() - _KEYWORDS.keys() - ANNOTATIONS
    if unsupported:
        raise _unsupported(f"the schema compiler does not implement {', '.join(sorted(unsupported))}")
    checks = [
        check
        for keyword, value in schema.items()
        if keyword in _KEYWORDS and (check := _KEYWORDS[keyword](value, schema)) is not _accept
    ]
    if not checks:
        return _accept
    if len(checks) == 1:
        return checks[0]
    return _all(tuple(checks))


def _accept(instance: Any, path: tuple, violations: Violations) -> None:
    """The ``true`` schema, and any keyword that cannot fail (``items: true``)."""


def _reject(instance: Any, path: tuple, violations: Violations) -> None:
    violations.append(Violation(None, path, instance, None))


def _reject_child(instance: Any, path: tuple, violations: Violations) -> None:
    # jsonschema reports a false subschema at its parent's path: its ``descend`` returns
    # the error before adding the child's key or index. Kept, so both report one place.
    violations.append(Violation(None, path[:-1], instance, None))


def _compile_child(schema: dict[str, Any] | bool) -> Check:
    """A subschema applied to a member or an item, one step below its parent's instance."""
    return _reject_child if schema is False else _compile(schema)


def _all(checks: tuple[Check, ...]) -> Check:
    # keywords run in the schema's order, as jsonschema runs them, so violations come in its order
    def check(instance: Any, path: tuple, violations: Violations) -> None:
        for keyword_check in checks:
            keyword_check(instance, path, violations)

    return check


# --- type -------------------------------------------------------------------------------

#: Types whose test is a plain ``isinstance`` (``jsonschema``'s type checker says the same).
_CLASSES: dict[str, type] = {"string": str, "object": dict, "array": list, "boolean": bool, "null": type(None)}
_TYPE_NAMES = frozenset((*_CLASSES, "integer", "number"))


def _is_type(instance: Any, name: str) -> bool:
    # bool is an int subclass but never a JSON number; since draft 6, 1.0 is an integer
    if name == "integer":
        return not isinstance(instance, bool) and (
            isinstance(instance, int) or isinstance(instance, float) and instance.is_integer()
        )
    if name == "number":
        return not isinstance(instance, bool) and isinstance(instance, numbers.Number)
    return isinstance(instance, _CLASSES[name])


def _type_names(value: str | list[str]) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    unknown = [name for name in names if name not in _TYPE_NAMES]
    if unknown:
        raise _unsupported(f"unknown JSON type(s) {unknown}")
    return names


def _classes(value: str | list[str]) -> ClassInfo | None:
    """The classes an ``isinstance`` needs for this ``type`` value, or None when one does not do."""
    names = _type_names(value)
    if any(name not in _CLASSES for name in names):
        return None
    classes = tuple(_CLASSES[name] for name in names)
    return classes[0] if len(classes) == 1 else classes


def _compile_type(value: str | list[str], schema: dict[str, Any]) -> Check:
    classes = _classes(value)
    if classes is not None:

        def check(instance: Any, path: tuple, violations: Violations) -> None:
            if not isinstance(instance, classes):
                violations.append(Violation("type", path, instance, value))

        return check
    names = _type_names(value)

    def check_by_name(instance: Any, path: tuple, violations: Violations) -> None:
        for name in names:
            if _is_type(instance, name):
                return
        violations.append(Violation("type", path, instance, value))

    return check_by_name


def _leaf_classes(schema: Any) -> ClassInfo | None:
    """For a schema that only asserts an ``isinstance``-able type ({"type": "string"}), its classes."""
    if not isinstance(schema, dict) or "type" not in schema or schema.keys() - ANNOTATIONS != {"type"}:
        return None
    return _classes(schema["type"])


# --- objects ----------------------------------------------------------------------------


def _compile_properties(value: dict[str, Any], schema: dict[str, Any]) -> Check:
    # A subschema that is a bare type test ({"type": "string"}, the common case) is inlined
    # as an isinstance on its classes; others are called. Those accepting anything are left out.
    members = tuple(
        (name, _leaf_classes(subschema), subschema.get("type") if isinstance(subschema, dict) else None, sub)
        for name, subschema in value.items()
        if (sub := _compile_child(subschema)) is not _accept
    )
    if not members:
        return _accept

    def check(instance: Any, path: tuple, violations: Violations) -> None:
        if not isinstance(instance, dict):
            return
        for name, classes, wanted, sub in members:
            if name in instance:
                member = instance[name]
                if classes is None:
                    sub(member, (*path, name), violations)
                elif not isinstance(member, classes):
                    violations.append(Violation("type", (*path, name), member, wanted))

    return check


def _compile_required(value: list[str], schema: dict[str, Any]) -> Check:
    names = tuple(value)
    if not names:
        return _accept
    wanted = frozenset(names)

    def check(instance: Any, path: tuple, violations: Violations) -> None:
        if isinstance(instance, dict) and not instance.keys() >= wanted:
            # one violation per missing name, as jsonschema yields one error each
            violations.extend(Violation("required", path, instance, value) for name in names if name not in instance)

    return check


def _compile_additional_properties(value: dict[str, Any] | bool, schema: dict[str, Any]) -> Check:
    known = frozenset(schema.get("properties", ()))
    if value is False:

        def check_none(instance: Any, path: tuple, violations: Violations) -> None:
            if isinstance(instance, dict) and not instance.keys() <= known:
                violations.append(Violation("additionalProperties", path, instance, value))

        return check_none
    sub = _compile_child(value)
    if sub is _accept:
        return _accept

    def check(instance: Any, path: tuple, violations: Violations) -> None:
        if isinstance(instance, dict):
            for name, member in instance.items():
                if name not in known:
                    sub(member, (*path, name), violations)

    return check


# --- arrays -----------------------------------------------------------------------------


def _compile_prefix_items(value: list[Any], schema: dict[str, Any]) -> Check:
    subs = tuple(_compile_child(subschema) for subschema in value)
    if all(sub is _accept for sub in subs):
        return _accept

    def check(instance: Any, path: tuple, violations: Violations) -> None:
        if isinstance(instance, list):
            for index, (item, sub) in enumerate(zip(instance, subs, strict=False)):
                sub(item, (*path, index), violations)

    return check


def _compile_items(value: dict[str, Any] | bool, schema: dict[str, Any]) -> Check:
    prefix = len(schema.get("prefixItems", ()))  # items applies to what prefixItems leaves
    if value is False:

        def check_none(instance: Any, path: tuple, violations: Violations) -> None:
            if isinstance(instance, list) and len(instance) > prefix:
                violations.append(Violation("items", path, instance, value))

        return check_none
    sub = _compile_child(value)
    if sub is _accept:
        return _accept

    def check(instance: Any, path: tuple, violations: Violations) -> None:
        if isinstance(instance, list):
            for index in range(prefix, len(instance)):
                sub(instance[index], (*path, index), violations)

    return check


def _compile_min_items(value: int, schema: dict[str, Any]) -> Check:
    def check(instance: Any, path: tuple, violations: Violations) -> None:
        if isinstance(instance, list) and len(instance) < value:
            violations.append(Violation("minItems", path, instance, value))

    return check


def _compile_max_items(value: int, schema: dict[str, Any]) -> Check:
    def check(instance: Any, path: tuple, violations: Violations) -> None:
        if isinstance(instance, list) and len(instance) > value:
            violations.append(Violation("maxItems", path, instance, value))

    return check


# --- values -----------------------------------------------------------------------------


def _json_equal(one: Any, two: Any) -> bool:
    """Equality as JSON means it: ``true`` is not 1, ``[1]`` equals ``[1.0]``, key order is irrelevant."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(_json_equal(a, b) for a, b in zip(one, two, strict=False))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(key in two and _json_equal(item, two[key]) for key, item in one.items())
    if isinstance(one, bool) or isinstance(two, bool):
        return type(one) is type(two) and one == two
    return one == two


def _compile_const(value: Any, schema: dict[str, Any]) -> Check:
    def check(instance: Any, path: tuple, violations: Violations) -> None:
        if not _json_equal(instance, value):
            violations.append(Violation("const", path, instance, value))

    return check


def _compile_enum(value: list[Any], schema: dict[str, Any]) -> Check:
    options = tuple(value)

    def check(instance: Any, path: tuple, violations: Violations) -> None:
        for option in options:
            if _json_equal(option, instance):
                return
        violations.append(Violation("enum", path, instance, value))

    return check


_KEYWORDS: dict[str, Callable[[Any, dict[str, Any]], Check]] = {
    "type": _compile_type,
    "properties": _compile_properties,
    "required": _compile_required,
    "additionalProperties": _compile_additional_properties,
    "prefixItems": _compile_prefix_items,
    "items": _compile_items,
    "minItems": _compile_min_items,
    "maxItems": _compile_max_items,
    "const": _compile_const,
    "enum": _compile_enum,
}

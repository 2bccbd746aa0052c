"""JSON Schema for release files (a manifest, a lock), checked as strictly as the tools read them.

Two places where JSON Schema as ``jsonschema`` applies it is looser than a release may be:

- ``"type": "integer"`` admits ``20.0`` (draft 2020-12 counts a float with no fraction as
  an integer), which a Parquet row count or a byte size never is. ``strict_validator``
  checks the same schema with a type checker whose integers are Python ints (not bool,
  not float); the published schema keeps the standard keyword and says so in ``$comment``.
- ``pattern`` is searched with Python's ``re``, where ``$`` also matches before a final
  newline, so ``^[0-9a-f]{64}$`` admits a sha256 followed by ``"\\n"``. ``whole`` writes a
  pattern that matches the whole string in Python and in ECMA-262 alike.

Only ``jsonschema``'s public API (``validators.extend``, ``TypeChecker.redefine``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

#: What the published schemas say about integers, for readers that use another validator.
INTEGER_COMMENT = "integers are JSON numbers with no fraction or exponent: 20, never 20.0 or 2e1"


def whole(pattern: str) -> str:
    """``pattern`` matching the whole string: ``$(?!\\n)`` is the end of the string in both dialects."""
    return f"^(?:{pattern})$(?!\\n)"


def strict_validator(schema: dict[str, Any]) -> Any:
    """A draft 2020-12 validator of ``schema`` whose ``integer`` is a Python ``int`` that is not a ``bool``."""
    return _strict_class()(schema)


@cache
def _strict_class() -> Any:
    import jsonschema  # where a release file is checked, not when ``--help`` names the lock file

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _, instance: isinstance(instance, int) and not isinstance(instance, bool)
    )
    return jsonschema.validators.extend(base, type_checker=checker)

"""The compiled schema checker says exactly what ``jsonschema`` says.

Two proofs: the official JSON Schema test suite (draft 2020-12), for every group whose
schema uses only the keywords the compiler implements; and a differential test of
``schema_problems`` against ``reference_problems`` on generated records, odd ones most
of all. Errors are compared as (keyword, instance path) multisets and Problem lists,
so a fault the fast path misses, invents or misplaces fails here.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import jsonschema
import orjson
import pytest
from conftest import REPO, seed_snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatcorpus.errors import UnsupportedKeyword
from chatcorpus.validation.record_schema import record_schema
from chatcorpus.validation.schema_check import reference_problems, schema_problems
from chatcorpus.validation.schema_compiler import compile_schema

SUITE = REPO.parent / "shared" / "json-schema-test-suite" / "tests" / "draft2020-12"
#: The suite's files for the implemented keywords: each must have groups that ran.
KEYWORD_FILES = (
    "type", "properties", "required", "additionalProperties", "items", "prefixItems",
    "minItems", "maxItems", "const", "enum", "boolean_schema",
)  # fmt: skip
MIN_GROUPS = 60


def _errors(schema: Any, instance: Any) -> Counter:
    return Counter(
        (e.validator, tuple(e.absolute_path)) for e in jsonschema.Draft202012Validator(schema).iter_errors(instance)
    )


def _violations(check: Any, instance: Any) -> Counter:
    return Counter((v.keyword, v.path) for v in check(instance))


@pytest.fixture(scope="module")
def suite_groups() -> list[tuple[str, dict[str, Any]]]:
    """(file stem, group) of every group whose schema the compiler accepts."""
    if not SUITE.is_dir():
        pytest.skip(f"the JSON Schema test suite is not beside the project ({SUITE} is absent)")
    groups = []
    for path in sorted(SUITE.glob("*.json")):
        for group in json.loads(path.read_text(encoding="utf-8")):
            try:
                compile_schema(group["schema"])
            except UnsupportedKeyword:
                continue
            groups.append((path.stem, group))
    return groups


def test_suite_runs_the_groups_of_every_implemented_keyword(suite_groups: list[tuple[str, dict[str, Any]]]) -> None:
    ran = Counter(stem for stem, _ in suite_groups)

    assert [stem for stem in KEYWORD_FILES if not ran[stem]] == []
    assert len(suite_groups) >= MIN_GROUPS


def test_suite_cases_agree_with_jsonschema_error_for_error(suite_groups: list[tuple[str, dict[str, Any]]]) -> None:
    disagreements = []
    for stem, group in suite_groups:
        check = compile_schema(group["schema"])
        for case in group["tests"]:
            ours, theirs = _violations(check, case["data"]), _errors(group["schema"], case["data"])
            if ours != theirs or (not ours) != case["valid"]:
                disagreements.append((stem, group["description"], case["description"], dict(ours), dict(theirs)))

    assert disagreements == []


def test_unimplemented_keywords_are_refused_at_compile_time() -> None:
    with pytest.raises(UnsupportedKeyword, match="minLength"):
        compile_schema({"type": "object", "properties": {"name": {"type": "string", "minLength": 1}}})


# --- records: generated, hostile, compared with the reference -----------------------------

FIELDS = tuple(record_schema()["properties"])

# Every code point, lone surrogates included: Python strings can hold them even if no
# UTF-8 file can, and the checker is called on Python values.
odd_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=True, allow_infinity=True),
    odd_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text | st.sampled_from(FIELDS), inner, max_size=4),
    max_leaves=12,
)
turns = st.one_of(
    st.lists(odd_text, min_size=2, max_size=2),  # the valid shape
    st.lists(st.one_of(odd_text, json_values), max_size=4),
    json_values,
)
histories = st.one_of(st.lists(turns, max_size=4), json_values)
field_values = {name: st.one_of(odd_text, json_values) for name in FIELDS}
field_values["history"] = histories
records = st.one_of(
    st.fixed_dictionaries({}, optional=field_values).flatmap(
        lambda record: st.dictionaries(odd_text, json_values, max_size=2).map(lambda extra: {**extra, **record})
    ),
    json_values,  # a record that is not an object at all
)


@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_fast_path_gives_the_reference_problems(record: Any) -> None:
    assert Counter(schema_problems(record)) == Counter(reference_problems(record))


def test_fast_path_gives_the_reference_problems_in_order_on_the_seed_corpus() -> None:
    """Real records, faults and all: every invalid one, and every 25th of the rest."""
    records = []
    for path in sorted(seed_snapshot("2024-05-06").rglob("*.json")):
        try:
            value = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue
        records.extend(value if isinstance(value, list) else [value])
    sample = [record for number, record in enumerate(records) if schema_problems(record) or number % 25 == 0]

    assert [schema_problems(record) for record in sample] == [reference_problems(record) for record in sample]
    assert sum(bool(schema_problems(record)) for record in sample) > 0

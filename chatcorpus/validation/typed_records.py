"""The record schema as a msgspec type: a whole file's records checked and keyed in C.

``schema_check.schema_problems`` names every violation of a record, at about 1.5 µs a
record of Python; nearly every file has none. ``msgspec.convert`` of the file's parsed
records to ``list[Record]`` proves that in one C call (its first refusal stops it, and
then the file's records go through ``schema_problems`` one by one, which names them
all). ``Record`` is the schema, written as a type: a test keeps the two equal.

A ``Record`` is frozen, so it hashes (in C, from its fields): that hash is the exact
duplicate key, equal for two records exactly when their content is, absent optional
fields counting as their empty defaults (as ``records.content_key`` has it).
"""

from __future__ import annotations

from typing import Any

import msgspec


class Record(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A record as ``schema/record.schema.json`` allows it: two required strings, three
    optional fields, history a list of [user, assistant] string pairs, nothing else."""

    instruction: str
    output: str
    input: str = ""
    system: str = ""
    history: tuple[tuple[str, str], ...] = ()


_RECORDS = list[Record]


def typed_records(values: list[Any]) -> list[Record] | None:
    """``values`` as ``Record``s when every one of them passes the schema, else None."""
    try:
        return msgspec.convert(values, _RECORDS)
    except (msgspec.ValidationError, UnicodeEncodeError):  # the latter: a key holding a lone surrogate
        return None


def exact_key(record: dict[str, Any]) -> int:
    """What exact duplicates are compared by, for one record that passed the schema: the
    hash of its ``Record``, as ``exact_keys`` gives it for a whole file.

    Python's own hashes (SipHash of each string, seeded per run, which forked ``--jobs``
    workers share) rather than the sha256 ``content_id``: 64 bits, computed in C, and
    their collisions cannot be prepared in advance by whoever writes the records.
    """
    return hash(msgspec.convert(record, Record))


def exact_keys(records: list[Record]) -> list[int]:
    """``exact_key`` of each record, in C."""
    return list(map(hash, records))

"""The shapes of the card's YAML lists that ``datasets`` parses: ``configs:`` and ``dataset_info:``.

Plain ``load_dataset(folder_or_repo, config)`` reads both from ``README.md`` with datasets'
own parsers, which assume their shapes: a ``config_name`` that is a list ends in
``TypeError: unhashable type``, a ``split`` that is a mapping in a ``re`` TypeError, an
entry that is a number in ``argument of type 'int' is not iterable``. The card of a
release someone else published is input, so ``verify`` checks the shapes first and names
the entry at fault (``configs[1].config_name``) instead of passing on such a message.
"""

from __future__ import annotations

from typing import Any

from chatcorpus.validation import inert


def _shown(value: object) -> str:
    return inert.escape(repr(value))[:80]


def _string_problem(where: str, value: object) -> str | None:
    return None if isinstance(value, str) else f"its {where} {_shown(value)} is not a string"


def _data_files_problem(where: str, files: object) -> str | None:
    """``data_files``: a string, a list of strings, or a list of ``{split, path}`` with string values."""
    if files is None or isinstance(files, str):
        return None
    if not isinstance(files, list):
        return f"its {where} {_shown(files)} is not a list"
    for index, entry in enumerate(files):
        place = f"{where}[{index}]"
        if isinstance(entry, dict):
            if problem := _string_problem(f"{place}.split", entry.get("split", "")):
                return problem
            paths = entry.get("path")
            for part, path in enumerate(paths if isinstance(paths, list) else [paths]):
                if problem := _string_problem(f"{place}.path" + (f"[{part}]" if isinstance(paths, list) else ""), path):
                    return problem
        elif problem := _string_problem(place, entry):
            return problem
    return None


def _entries_problem(key: str, entries: object, names_required: bool) -> str | None:
    if entries is None:
        return None
    if isinstance(entries, dict) and not names_required:
        entries = [entries]  # dataset_info: one mapping stands for the default config
    if not isinstance(entries, list):
        return f"its {key} {_shown(entries)} is not a list"
    for index, entry in enumerate(entries):
        where = f"{key}[{index}]"
        if not isinstance(entry, dict):
            return f"its {where} {_shown(entry)} is not a mapping"
        if (names_required or "config_name" in entry) and (
            problem := _string_problem(f"{where}.config_name", entry.get("config_name"))
        ):
            return problem
        if names_required and (problem := _data_files_problem(f"{where}.data_files", entry.get("data_files"))):
            return problem
    return None


def card_lists_problem(metadata: dict[str, Any]) -> str | None:
    """The first entry of ``configs:`` or ``dataset_info:`` that datasets' parsers cannot take, by its place."""
    return _entries_problem("configs", metadata.get("configs"), names_required=True) or _entries_problem(
        "dataset_info", metadata.get("dataset_info"), names_required=False
    )

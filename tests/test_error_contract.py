"""One error contract: every error in ``chatcorpus.errors``, one exit-code table in the CLI,
and one definition of each fact the builder and the tooling share."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import chat_dataset_baseline
import chatcorpus.errors as errors
from chat_dataset_baseline import PLACEHOLDER_PATTERN, ChatDatasetBaseline
from chatcorpus.cli import ERROR_EXITS, EXIT_FAULTS, EXIT_USAGE, exit_for, main
from chatcorpus.validation.faults import Problem
from chatcorpus.validation.rules import RULES, RecordContext

ERROR_CLASSES = [getattr(errors, name) for name in errors.__all__]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_derives_from_the_root_and_a_builtin(cls: type[Exception]) -> None:
    assert issubclass(cls, errors.ChatDatasetError)
    if cls is not errors.ChatDatasetError:
        builtins = [base for base in cls.__mro__ if base.__module__ == "builtins" and base not in (object, Exception)]
        assert builtins, f"{cls.__name__} inherits no builtin besides Exception"


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_each_error_states_the_exit_code_the_cli_table_gives_it(cls: type[Exception]) -> None:
    stated = re.search(r"CLI exit code (\d)", " ".join((cls.__doc__ or "").split()))
    assert stated, f"{cls.__name__}'s docstring does not say its exit code"
    instance = cls.__new__(cls)
    mapped = exit_for(instance)
    assert mapped is not None and mapped[0] == int(stated.group(1))


def test_no_error_class_is_defined_outside_the_errors_module_or_the_builder() -> None:
    import chatcorpus

    defined = {
        cls
        for module in _chatcorpus_modules(chatcorpus)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == module.__name__
    }
    assert {cls.__module__ for cls in defined} <= {"chatcorpus.errors"}
    builder_errors = {
        cls
        for _, cls in inspect.getmembers(chat_dataset_baseline, inspect.isclass)
        if issubclass(cls, chat_dataset_baseline.ChatDatasetError) and cls.__module__ == "chat_dataset_baseline"
    }
    assert builder_errors <= set(ERROR_CLASSES), "a builder error is not re-exported by chatcorpus.errors"


def _chatcorpus_modules(package: Any) -> list[Any]:
    import importlib
    import pkgutil

    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
        if not info.name.endswith("cli")
    ]


def test_the_table_lists_subclasses_before_their_bases() -> None:
    classes = [cls for cls, _, _ in ERROR_EXITS]
    for position, cls in enumerate(classes):
        assert not any(issubclass(cls, earlier) for earlier in classes[:position]), cls


def test_an_error_outside_the_contract_is_not_swallowed() -> None:
    assert exit_for(KeyError("a bug")) is None
    assert exit_for(FileNotFoundError("x")) == (EXIT_USAGE, "")
    assert exit_for(errors.ReleaseRefused("tagged")) == (EXIT_FAULTS, "refused: ")


def test_the_cli_maps_a_library_error_through_the_table(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export", str(tmp_path / "out"), "--release", str(tmp_path), "--format", "messages"])
    assert code == EXIT_USAGE
    assert capsys.readouterr().err.startswith("chat-dataset-baseline export: ")


def test_an_unknown_config_raises_the_librarys_own_error() -> None:
    with pytest.raises(errors.UnknownConfigError, match="unknown config 'alpaca-fr'; choose one of alpaca-zh"):
        ChatDatasetBaseline(config_name="alpaca-fr", data_source="nowhere")
    with pytest.raises(ValueError):  # and the builtin it resembles
        ChatDatasetBaseline(config_name="alpaca-fr", data_source="nowhere")


# --- one definition per shared fact ---------------------------------------------------


LINT_CASES: dict[str, tuple[dict[str, Any], RecordContext]] = {
    "text.empty": ({"instruction": " ", "output": ""}, RecordContext("alpaca-en", "en")),
    "text.control-character": ({"instruction": "a\x07b", "output": "ok"}, RecordContext("alpaca-en", "en")),
    "placeholder.outside-prompts": ({"instruction": "I am NAME", "output": "ok"}, RecordContext("alpaca-en", "en")),
    "placeholder.missing": ({"instruction": "who?", "output": "nobody"}, RecordContext("prompts", "en")),
    "language.mismatch": ({"instruction": "why?", "output": "because"}, RecordContext("alpaca-zh", "en")),
    "text.leftover-marker": ({"instruction": "say <noinput>", "output": "ok"}, RecordContext("alpaca-en", "en")),
    "clean.merged-instruction": (
        {"instruction": "a", "output": "b\n##\n2. Instruction: c"},
        RecordContext("alpaca-en", "en"),
    ),
    "clean.url-only-input": (
        {"instruction": "a", "input": "https://x.io", "output": "b"},
        RecordContext("alpaca-en", "en"),
    ),
    "clean.media-request": (
        {"instruction": "Draw a picture of a cat", "output": "ok"},
        RecordContext("alpaca-en", "en"),
    ),
    "clean.na-output": ({"instruction": "a", "output": "N/A"}, RecordContext("alpaca-en", "en")),
    "clean.empty-code": ({"instruction": "Fix the following code.", "output": "ok"}, RecordContext("alpaca-en", "en")),
    "clean.echo": ({"instruction": "a", "input": "same", "output": "same"}, RecordContext("alpaca-en", "en")),
    "quality.char-repetition": ({"instruction": "a", "output": "z" * 40}, RecordContext("alpaca-en", "en")),
    "quality.special-characters": ({"instruction": "a", "output": "#" * 60}, RecordContext("alpaca-en", "en")),
    "script.traditional": ({"instruction": "漢語", "output": "ok"}, RecordContext("alpaca-zh", "zh")),
}


def test_every_lint_rule_has_a_case_here() -> None:
    assert set(LINT_CASES) == {rule.id for rule in RULES.values() if rule.check is not None}


@pytest.mark.parametrize("rule_id", sorted(LINT_CASES))
def test_the_decorator_stamps_the_rule_id_on_every_problem_a_rule_yields(rule_id: str) -> None:
    record, ctx = LINT_CASES[rule_id]
    check = RULES[rule_id].check
    assert check is not None
    problems = list(check(record, ctx))
    assert problems and all(isinstance(p, Problem) and p.rule == rule_id for p in problems)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("我是NAME，", True),
        ("NAME.", True),
        ("by AUTHOR", True),
        ("NAMES", False),
        ("USERNAME", False),
        ("AUTHOR_X", False),
        ("名字NAME2", False),
    ],
)
def test_the_placeholder_pattern_means_the_same_to_python_and_to_arrow(text: str, found: bool) -> None:
    """The lint rules (Python re) and the pre-filter and identity rendering (Arrow's RE2) use one pattern."""
    assert bool(PLACEHOLDER_PATTERN.search(text)) is found
    assert pc.match_substring_regex(pa.array([text]), PLACEHOLDER_PATTERN.pattern)[0].as_py() is found
    outside = RULES["placeholder.outside-prompts"].check
    assert outside is not None
    flagged = list(outside({"instruction": text, "output": "ok"}, RecordContext("alpaca-en", "en")))
    assert bool(flagged) is found

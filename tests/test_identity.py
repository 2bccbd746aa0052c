"""Identity rendering: NAME and AUTHOR filled in every text field, in Chinese as in English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pytest

from chat_dataset_baseline import (
    ARROW_SCHEMA,
    ChatDatasetBaseline,
    ChatDatasetError,
    IdentityError,
    render_identity_table,
)
from chatcorpus.training.identity import render_identity
from chatcorpus.training.views import load_view, to_view

NAME, AUTHOR = "小明", "Example Lab"
PLACEHOLDER = re.compile(r"\b(NAME|AUTHOR)\b", re.ASCII)


def _prompts(release: Path, cache_dir: str) -> datasets.Dataset:
    return datasets.load_dataset(str(release), "prompts", split="train", cache_dir=cache_dir)


def _texts(row: dict[str, Any]) -> list[str]:
    turns = [text for pair in row["history"] for text in (pair["user"], pair["assistant"])]
    return [row["instruction"], row["input"], row["output"], row["system"], *turns]


def _row(**fields: Any) -> dict[str, Any]:
    base = {
        "id": "x",
        "instruction": "",
        "input": "",
        "output": "",
        "system": "",
        "history": [],
        "language": "zh",
        "category": "identity",
        "source": "s",
        "translation_of": "",
        "translation_kind": "",
    }
    return {**base, **fields}


def test_the_builder_fills_every_placeholder_and_keeps_id_and_provenance(demo_release: Path, cache_dir: str) -> None:
    template = _prompts(demo_release, cache_dir).to_list()
    rendered = load_view(demo_release, "prompts", name=NAME, author=AUTHOR, cache_dir=cache_dir).to_list()

    assert len(rendered) == len(template) > 0
    for before, after in zip(template, rendered, strict=False):
        assert not any(PLACEHOLDER.search(text) for text in _texts(after))
        assert after["output"] == before["output"].replace("NAME", NAME).replace("AUTHOR", AUTHOR)
        assert {k: after[k] for k in ("id", "language", "category", "source")} == {
            k: before[k] for k in ("id", "language", "category", "source")
        }
    outputs = [row["output"] for row in rendered]
    assert "我的名字是 小明。" in outputs  # a Chinese answer
    assert "I am 小明, an AI assistant developed by Example Lab." in outputs  # an English one


def test_without_name_and_author_the_template_loads_as_is(demo_release: Path, cache_dir: str) -> None:
    loaded = load_view(demo_release, "prompts", cache_dir=cache_dir).to_list()

    assert loaded == _prompts(demo_release, cache_dir).to_list()
    assert all(PLACEHOLDER.search(row["output"]) for row in loaded)


def test_the_function_renders_streaming_and_map_style_as_the_builder_does(demo_release: Path, cache_dir: str) -> None:
    expected = load_view(demo_release, "prompts", name=NAME, author=AUTHOR, cache_dir=cache_dir).to_list()
    stream = datasets.load_dataset(str(demo_release), "prompts", split="train", streaming=True)

    assert render_identity(_prompts(demo_release, cache_dir), NAME, AUTHOR).to_list() == expected
    assert list(render_identity(stream, NAME, AUTHOR)) == expected


def test_a_rendered_view_is_the_view_of_the_rendered_rows(demo_release: Path, cache_dir: str) -> None:
    rendered = load_view(demo_release, "prompts", name=NAME, author=AUTHOR, cache_dir=cache_dir)
    viewed = load_view(demo_release, "prompts", "messages", name=NAME, author=AUTHOR, cache_dir=cache_dir)

    assert viewed.to_list() == to_view(rendered, "messages").to_list()


def test_only_whole_placeholder_tokens_are_filled_next_to_chinese_and_punctuation() -> None:
    rows = [
        _row(
            output="我是NAME，由AUTHOR开发。",
            system="（NAME）",
            history=[{"user": "NAME？", "assistant": "AUTHOR的NAME"}],
        ),
        _row(instruction="NAMES, USERNAME, NAME_1 and AUTHORS stay", input="NAME", output="NAME.AUTHOR"),
    ]
    table = render_identity_table(pa.Table.from_pylist(rows, schema=ARROW_SCHEMA), NAME, AUTHOR)

    assert table.to_pylist() == [
        _row(
            output="我是小明，由Example Lab开发。",
            system="（小明）",
            history=[{"user": "小明？", "assistant": "Example Lab的小明"}],
        ),
        _row(instruction="NAMES, USERNAME, NAME_1 and AUTHORS stay", input="小明", output="小明.Example Lab"),
    ]


def test_names_are_inserted_literally() -> None:
    table = pa.Table.from_pylist([_row(output="I am NAME by AUTHOR")], schema=ARROW_SCHEMA)

    rendered = render_identity_table(table, r"R2\1-D2", "$1 & \\ co")

    assert rendered.column("output").to_pylist() == [r"I am R2\1-D2 by $1 & \ co"]


@pytest.mark.parametrize(
    "name, author",
    [
        ("", AUTHOR),
        ("   ", AUTHOR),
        (NAME, "\t\n"),
        (None, AUTHOR),
        (NAME, None),
        ("NAME-bot", AUTHOR),
        (NAME, "AUTHOR Lab"),
    ],
)
def test_blank_missing_or_self_referencing_values_are_refused(
    demo_release: Path, cache_dir: str, name: str | None, author: str | None
) -> None:
    with pytest.raises(IdentityError):
        ChatDatasetBaseline(
            config_name="prompts",
            data_source=str(demo_release),
            model_name=name,
            model_author=author,
            cache_dir=cache_dir,
        )
    with pytest.raises(IdentityError):
        render_identity(_prompts(demo_release, cache_dir), name, author)  # type: ignore[arg-type]
    assert issubclass(IdentityError, ChatDatasetError) and issubclass(IdentityError, ValueError)


def test_identity_belongs_to_the_prompts_config_only(demo_release: Path, cache_dir: str) -> None:
    with pytest.raises(IdentityError, match="only the 'prompts' config"):
        ChatDatasetBaseline(
            config_name="alpaca-zh",
            data_source=str(demo_release),
            model_name=NAME,
            model_author=AUTHOR,
            cache_dir=cache_dir,
        )


def test_a_view_cannot_be_rendered_after_the_fact(demo_release: Path, cache_dir: str) -> None:
    viewed = to_view(_prompts(demo_release, cache_dir), "messages")

    with pytest.raises(IdentityError, match="before converting to a view"):
        render_identity(viewed, NAME, AUTHOR)
    with pytest.raises(IdentityError, match="before converting to a view"):
        render_identity_table(viewed.data.table, NAME, AUTHOR)

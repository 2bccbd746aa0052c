"""Trainer views: derived from the shared schema, shaped as trainers expect, lossless both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_dataset_baseline import (
    ARROW_SCHEMA,
    BOUNDARY_COLUMN,
    CONFIGS,
    VIEW_FEATURES,
    VIEWS,
    ChatDatasetBaseline,
    ChatDatasetError,
    ViewError,
    from_view_table,
    to_view_table,
)
from chatcorpus.training.views import from_view, load_view, to_view

TRACE_COLUMNS = ("id", "language", "category", "source", "translation_of", "translation_kind")
MULTI_TURN_SOURCE = "chatglm-issues/代码问题.json#1"  # the demo row with a system prompt and a history turn


def _plain(release: Path, config: str, cache_dir: str) -> datasets.Dataset:
    return datasets.load_dataset(str(release), config, split="train", cache_dir=cache_dir)


def _row(release: Path, config: str, source: str, view: str, cache_dir: str) -> dict[str, Any]:
    viewed = to_view(_plain(release, config, cache_dir), view)
    return next(row for row in viewed if row["source"] == source)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("config", list(CONFIGS))
def test_from_view_gives_back_every_row_exactly(demo_release: Path, cache_dir: str, config: str, view: str) -> None:
    plain = _plain(demo_release, config, cache_dir)
    viewed = to_view(plain, view)

    assert viewed.features == VIEW_FEATURES[view]
    assert from_view(viewed, view).to_list() == plain.to_list()


@pytest.mark.parametrize("view", VIEWS)
def test_streaming_views_match_and_keep_their_shards(demo_release: Path, cache_dir: str, view: str) -> None:
    for config in CONFIGS:
        stream = datasets.load_dataset(str(demo_release), config, split="train", streaming=True)
        viewed = to_view(stream, view)

        assert viewed.features == VIEW_FEATURES[view]
        assert viewed.num_shards == stream.num_shards
        assert list(viewed) == to_view(_plain(demo_release, config, cache_dir), view).to_list()
        assert list(from_view(viewed, view)) == list(stream)


@pytest.mark.parametrize("view", VIEWS)
def test_the_builder_serves_the_view_the_function_computes(
    demo_release: Path, cache_dir: str, view: str, streaming_path: str
) -> None:
    for config in CONFIGS:
        expected = to_view(_plain(demo_release, config, cache_dir), view).to_list()
        prepared = load_view(demo_release, config, view, cache_dir=cache_dir)
        streamed = load_view(demo_release, config, view, streaming=True)

        assert prepared.features == streamed.features == VIEW_FEATURES[view]
        assert prepared.to_list() == expected
        assert list(streamed) == expected


def test_messages_are_system_history_prompt_reply_in_order(demo_release: Path, cache_dir: str) -> None:
    row = _row(demo_release, "chatglm-issues", MULTI_TURN_SOURCE, "messages", cache_dir)

    assert row["messages"] == [
        {"role": "system", "content": "你是一位耐心的编程助教，回答要简洁并给出代码。"},
        {"role": "user", "content": "Python 中如何反转一个列表？"},
        {
            "role": "assistant",
            "content": "可以用切片 `lst[::-1]` 得到一个反转后的新列表，或者调用 `lst.reverse()` 原地反转。",
        },
        {"role": "user", "content": "那如果只想反转前三个元素呢？"},
        {
            "role": "assistant",
            "content": "可以写 `lst[:3] = lst[:3][::-1]`，这样只会原地反转前三个元素，其余元素不变。",
        },
    ]


def test_the_input_follows_the_instruction_on_the_next_line_and_no_empty_system_turn(
    demo_release: Path, cache_dir: str
) -> None:
    row = _row(demo_release, "alpaca-en", "alpaca-en/sample-en.json#4", "messages", cache_dir)

    assert row["messages"] == [
        {"role": "user", "content": "Classify the animal as a mammal, bird or reptile.\nPenguin"},
        {"role": "assistant", "content": "A penguin is a bird."},
    ]
    assert row[BOUNDARY_COLUMN] == len(b"Classify the animal as a mammal, bird or reptile.")


def test_sharegpt_has_human_and_gpt_turns_with_the_system_beside_them(demo_release: Path, cache_dir: str) -> None:
    row = _row(demo_release, "chatglm-issues", MULTI_TURN_SOURCE, "sharegpt", cache_dir)

    assert [turn["from"] for turn in row["conversations"]] == ["human", "gpt", "human", "gpt"]
    assert row["system"] == "你是一位耐心的编程助教，回答要简洁并给出代码。"
    assert row["conversations"][-1]["value"].startswith("可以写 `lst[:3]")


def test_prompt_completion_is_trls_conversational_type(demo_release: Path, cache_dir: str) -> None:
    row = _row(demo_release, "chatglm-issues", MULTI_TURN_SOURCE, "prompt-completion", cache_dir)

    assert [turn["role"] for turn in row["prompt"]] == ["system", "user", "assistant", "user"]
    assert row["completion"] == [
        {"role": "assistant", "content": "可以写 `lst[:3] = lst[:3][::-1]`，这样只会原地反转前三个元素，其余元素不变。"}
    ]


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_keeps_the_row_traceable(demo_release: Path, cache_dir: str, view: str) -> None:
    plain = _plain(demo_release, "chatglm-issues", cache_dir)
    viewed = to_view(plain, view)

    for column in TRACE_COLUMNS:
        assert viewed[column] == plain[column]


# --- lossless on any rows, not only the demo's -------------------------------------------

_text = st.lists(st.sampled_from(["a", "Z", " ", "\n", "\n\n", "中", "文", "é", "😀", "\x00"]), max_size=8).map("".join)
_rows = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.text(max_size=4),
            "instruction": _text,
            "input": _text,
            "output": _text,
            "system": _text,
            "history": st.lists(st.fixed_dictionaries({"user": _text, "assistant": _text}), max_size=3),
            "language": st.sampled_from(["zh", "en", "mixed"]),
            "category": _text,
            "source": _text,
            "translation_of": st.text(max_size=4),
            "translation_kind": st.sampled_from(["", "translated", "untranslated"]),
        }
    ),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(rows=_rows, start=st.integers(0, 8))
def test_every_view_round_trips_any_rows(rows: list[dict[str, Any]], start: int) -> None:
    """Blank lines at either side of the boundary, empty fields, astral characters, sliced batches."""
    table = pa.Table.from_pylist(rows, schema=ARROW_SCHEMA)
    batch = table.slice(min(start, table.num_rows))  # a sliced table: arrays with an offset, as map batches can be
    for view in VIEWS:
        assert from_view_table(to_view_table(table, view), view).equals(table)
        assert from_view_table(to_view_table(batch, view), view).equals(batch)


def test_instruction_and_input_line_breaks_stay_where_they_were() -> None:
    rows = [
        {"instruction": "a\nb", "input": "c"},
        {"instruction": "a", "input": "\nb"},
        {"instruction": "", "input": "\n"},
        {"instruction": "\n", "input": ""},
        {"instruction": "a\n\nb", "input": "c"},
        {"instruction": "a", "input": "\n\nb"},
        {"instruction": "a\n", "input": "\nb"},
        {"instruction": "a\n\n", "input": ""},
        {"instruction": "", "input": "b"},
    ]
    table = pa.Table.from_pylist(
        [
            {
                **row,
                "id": str(n),
                "output": "o",
                "system": "",
                "history": [],
                "language": "en",
                "category": "c",
                "source": "s",
                "translation_of": "",
                "translation_kind": "",
            }
            for n, row in enumerate(rows)
        ],
        schema=ARROW_SCHEMA,
    )
    back = from_view_table(to_view_table(table, "messages"), "messages")

    assert back.select(["instruction", "input"]).to_pylist() == rows


# --- refusals ----------------------------------------------------------------------------


def test_an_unknown_view_is_refused_by_the_function_and_the_builder(demo_release: Path, cache_dir: str) -> None:
    plain = _plain(demo_release, "alpaca-zh", cache_dir)
    with pytest.raises(ViewError, match="unknown view 'chatml'"):
        to_view(plain, "chatml")
    with pytest.raises(ViewError):
        ChatDatasetBaseline(
            config_name="alpaca-zh", data_source=str(demo_release), format="chatml", cache_dir=cache_dir
        )
    assert issubclass(ViewError, ChatDatasetError) and issubclass(ViewError, ValueError)


def test_rows_out_of_the_views_layout_are_refused_not_guessed(demo_release: Path, cache_dir: str) -> None:
    table = _plain(demo_release, "chatglm-issues", cache_dir).data.table
    viewed = to_view_table(table, "messages")
    shifted = viewed.set_column(
        viewed.schema.get_field_index(BOUNDARY_COLUMN), BOUNDARY_COLUMN, pa.array([1] * viewed.num_rows, pa.int32())
    )
    swapped = pa.Table.from_pylist(
        [{**row, "messages": row["messages"][::-1]} for row in viewed.to_pylist()], schema=viewed.schema
    )

    with pytest.raises(ViewError, match="not a view this library made"):
        from_view_table(shifted, "messages")
    with pytest.raises(ViewError, match="not a view this library made"):
        from_view_table(swapped, "messages")

"""One conversation, whatever the format: every export and view reaches the model as the same turns.

Each format is rendered here the way its trainer renders it, and the conversations are
compared row by row:

- LLaMA-Factory's alpaca and sharegpt readers, as ``AlpacaDatasetConverter`` and
  ``SharegptDatasetConverter`` in hiyouga/LLaMA-Factory ``src/llamafactory/data/converter.py``
  read a ``dataset_info.json`` entry: history pairs as user/assistant turns, then the
  non-empty ones of prompt and query joined by one "\\n", then the response; the system
  prompt from its column. Written again here (LLaMA-Factory pins ``datasets<=4.0.0`` and
  brings torch and transformers; the rules are the few lines below).
- TRL's conversational types: ``messages`` as they are (a leading system turn is the
  system prompt), ``prompt`` + ``completion`` for prompt-completion, which is what
  ``SFTTrainer`` hands ``apply_chat_template``.

The rows come from the demo release and from a release of hostile records: line breaks
at either side of the boundary, an instruction that is only a line break, an input
that starts with one, system prompts and history.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_dataset_baseline import ARROW_SCHEMA, CONFIGS, INPUT_SEPARATOR, to_view_table
from chatcorpus.cli import EXIT_OK, main
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.training.export import DATASET_INFO, ENTRY_PREFIX, ExportedFile, alpaca_entry, sharegpt_entry

Conversation = tuple[str, list[tuple[str, str]]]  # (system prompt, [(role, content), ...])
NAME, AUTHOR = "小明", "Example Lab"

HOSTILE = {
    "alpaca-en/edges.json": [
        {"instruction": "Summarise.\n", "input": "\nThe text.", "output": "Done."},
        {"instruction": "Line one\nline two", "input": "input\n\nwith a blank line", "output": "ok"},
        {"instruction": "\nafter a line break", "input": "\n", "output": "ok"},
        {"instruction": "No input here.", "input": "", "output": "fine"},
        {"instruction": "Trailing spaces   ", "input": "   leading spaces", "output": "kept"},
    ],
    "chatglm-issues/multi.json": [
        {
            "instruction": "第二个问题\n",
            "input": "补充\n说明",
            "output": "第二个回答",
            "system": "你是助手。",
            "history": [["第一个问题", "第一个回答"], ["追问\n", "\n回答"]],
        },
        {"instruction": "没有系统提示", "input": "", "output": "好", "history": [["上一轮", "上一轮回答"]]},
    ],
}


def llama_factory_alpaca(row: dict[str, Any], columns: dict[str, str]) -> Conversation:
    turns: list[tuple[str, str]] = []
    for old_prompt, old_response in row.get(columns.get("history", "")) or []:
        turns += [("user", old_prompt), ("assistant", old_response)]
    query = [row[columns[key]] for key in ("prompt", "query") if key in columns and row[columns[key]]]
    turns += [("user", "\n".join(query)), ("assistant", row[columns["response"]])]
    return (row[columns["system"]] if "system" in columns else "", turns)


def llama_factory_sharegpt(row: dict[str, Any], columns: dict[str, str], tags: dict[str, str]) -> Conversation:
    roles = {tags["user_tag"]: "user", tags["assistant_tag"]: "assistant"}
    turns = [(roles[turn[tags["role_tag"]]], turn[tags["content_tag"]]) for turn in row[columns["messages"]]]
    assert [role for role, _ in turns] == ["user", "assistant"] * (len(turns) // 2)  # else LLaMA-Factory drops it
    return (row[columns["system"]] if "system" in columns else "", turns)


def trl_messages(messages: list[dict[str, str]]) -> Conversation:
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    return (system, [(m["role"], m["content"]) for m in messages if m["role"] != "system"])


def trl_prompt_completion(row: dict[str, Any]) -> Conversation:
    return trl_messages(row["prompt"] + row["completion"])


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _export(release: Path, out: Path, fmt: str, configs: list[str]) -> None:
    argv = ["export", "--format", fmt, str(out), "--release", str(release), "--name", NAME, "--author", AUTHOR]
    for config in configs:
        argv += ["--config", config]
    assert main(argv) == EXIT_OK


def _conversations(release: Path, tmp_path: Path, configs: list[str]) -> dict[str, dict[str, dict[str, Conversation]]]:
    """config -> format -> row id -> the conversation the trainer of that format builds."""
    llama_factory = tmp_path / "llama-factory"
    _export(release, llama_factory, "llama-factory", configs)
    registry = json.loads((llama_factory / DATASET_INFO).read_text(encoding="utf-8"))
    plain: dict[str, Callable[[dict[str, Any]], Conversation]] = {
        "messages": lambda row: trl_messages(row["messages"]),
        "prompt-completion": trl_prompt_completion,
    }
    for fmt in plain:
        _export(release, tmp_path / fmt, fmt, configs)
    result: dict[str, dict[str, dict[str, Conversation]]] = {}
    for config in configs:
        alpaca = registry[f"{ENTRY_PREFIX}{config}"]
        sharegpt = registry[f"{ENTRY_PREFIX}{config}-sharegpt"]
        by_format = {
            "llama-factory alpaca": {
                row["id"]: llama_factory_alpaca(row, alpaca["columns"])
                for row in _read_jsonl(llama_factory / alpaca["file_name"])
            },
            "llama-factory sharegpt": {
                row["id"]: llama_factory_sharegpt(row, sharegpt["columns"], sharegpt["tags"])
                for row in _read_jsonl(llama_factory / sharegpt["file_name"])
            },
        }
        for fmt, render in plain.items():
            by_format[f"trl {fmt}"] = {
                row["id"]: render(row) for row in _read_jsonl(tmp_path / fmt / f"{config}.jsonl")
            }
        result[config] = by_format
    return result


def _assert_one_conversation_per_row(by_format: dict[str, dict[str, Conversation]]) -> None:
    reference_name, reference = next(iter(by_format.items()))
    assert reference
    for name, conversations in by_format.items():
        assert conversations.keys() == reference.keys(), (name, reference_name)
        for row_id, conversation in conversations.items():
            assert conversation == reference[row_id], (row_id, name, reference_name)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_format_gives_the_demo_rows_one_conversation(demo_release: Path, tmp_path: Path, config: str) -> None:
    _assert_one_conversation_per_row(_conversations(demo_release, tmp_path, [config])[config])


@pytest.fixture
def hostile_release(write_source: Callable[..., Path], tmp_path: Path) -> Path:
    out = tmp_path / "hostile-release"
    result = build_release(
        write_source(HOSTILE), out, options=BuildOptions(progress=False, configs=("alpaca-en", "chatglm-issues"))
    )
    assert result.published, [str(f) for f in result.faults]
    return out


def test_line_breaks_at_the_boundary_give_one_conversation_in_every_format(
    hostile_release: Path, tmp_path: Path
) -> None:
    rendered = _conversations(hostile_release, tmp_path, ["alpaca-en", "chatglm-issues"])

    for by_format in rendered.values():
        _assert_one_conversation_per_row(by_format)
    user_turns = {turns[-2][1] for by_format in rendered.values() for _, turns in by_format["trl messages"].values()}
    # LLaMA-Factory's join: the non-empty parts with one line break, nothing added when the input is empty
    assert "Summarise.\n" + INPUT_SEPARATOR + "\nThe text." in user_turns
    assert "\nafter a line break" + INPUT_SEPARATOR + "\n" in user_turns
    assert "No input here." in user_turns
    assert "第二个问题\n\n补充\n说明" in user_turns
    systems = {system for by_format in rendered.values() for system, _ in by_format["llama-factory alpaca"].values()}
    assert "你是助手。" in systems


# --- any rows, empty fields included (the build refuses an empty instruction; a view need not) ---

_text = st.lists(st.sampled_from(["", "a", " ", "\n", "\n\n", "中", "😀"]), max_size=4).map("".join)
_rows = st.lists(
    st.fixed_dictionaries(
        {
            "instruction": _text,
            "input": _text,
            "output": _text,
            "system": _text,
            "history": st.lists(st.fixed_dictionaries({"user": _text, "assistant": _text}), max_size=2),
        }
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=80, deadline=None)
@given(rows=_rows)
def test_every_view_renders_any_rows_as_llama_factory_renders_the_stored_columns(rows: list[dict[str, Any]]) -> None:
    trace = {name: "" for name in ARROW_SCHEMA.names if name not in rows[0]}
    table = pa.Table.from_pylist([{**trace, **row} for row in rows], schema=ARROW_SCHEMA)
    unused = ExportedFile("alpaca-en", Path("unused.jsonl"), 0)
    alpaca, sharegpt = alpaca_entry(unused)["columns"], sharegpt_entry(unused)
    expected = [
        llama_factory_alpaca({**row, "history": [[t["user"], t["assistant"]] for t in row["history"]]}, alpaca)
        for row in table.to_pylist()
    ]

    assert [trl_messages(r["messages"]) for r in to_view_table(table, "messages").to_pylist()] == expected
    assert [trl_prompt_completion(r) for r in to_view_table(table, "prompt-completion").to_pylist()] == expected
    assert [
        llama_factory_sharegpt(r, sharegpt["columns"], sharegpt["tags"])
        for r in to_view_table(table, "sharegpt").to_pylist()
    ] == expected

"""export: files and a dataset_info.json LLaMA-Factory accepts; JSON Lines of each view for other trainers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
import pytest
from conftest import good_record

from chat_dataset_baseline import CONFIGS, RELEASE_VERSION, VIEW_FEATURES
from chatcorpus.cli import EXIT_OK, EXIT_USAGE, main
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.training.export import DATASET_INFO, ENTRY_PREFIX, PLAIN_FORMATS
from chatcorpus.training.views import from_view, load_view

# The keys of a dataset_info.json entry that LLaMA-Factory documents in data/README.md of
# hiyouga/LLaMA-Factory (the "dataset_name" block with its "columns (optional)" and
# "tags (optional, used for the sharegpt format)" objects). Its parser reads these and
# silently ignores anything else, so a misspelt key would go unnoticed there.
LLAMA_FACTORY_KEYS = {
    "hf_hub_url", "ms_hub_url", "script_url", "cloud_file_name", "file_name", "formatting", "ranking",
    "subset", "split", "folder", "num_samples", "columns", "tags",
}  # fmt: skip
LLAMA_FACTORY_COLUMNS = {
    "prompt", "query", "response", "history", "messages", "system", "tools",
    "images", "videos", "audios", "chosen", "rejected", "kto_tag",
}  # fmt: skip
LLAMA_FACTORY_TAGS = {
    "role_tag",
    "content_tag",
    "user_tag",
    "assistant_tag",
    "observation_tag",
    "function_tag",
    "system_tag",
}
NAME, AUTHOR = "小明", "Example Lab"


@pytest.fixture(scope="module")
def llama_factory(demo_release: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("llama-factory")
    (out / DATASET_INFO).write_text(json.dumps({"identity": {"file_name": "identity.json"}}), encoding="utf-8")
    argv = [
        "export",
        "--format",
        "llama-factory",
        str(out),
        "--release",
        str(demo_release),
        "--name",
        NAME,
        "--author",
        AUTHOR,
    ]
    assert main(argv) == EXIT_OK
    return out


def _registry(out: Path) -> dict[str, dict[str, Any]]:
    return json.loads((out / DATASET_INFO).read_text(encoding="utf-8"))


def _release_rows(release: Path, config: str, cache_dir: str) -> list[dict[str, Any]]:
    identity = {"name": NAME, "author": AUTHOR} if config == "prompts" else {}
    return load_view(release, config, cache_dir=cache_dir, **identity).to_list()


def _load_json(path: Path, cache_dir: str, features: datasets.Features | None = None) -> datasets.Dataset:
    return datasets.load_dataset("json", data_files=str(path), split="train", features=features, cache_dir=cache_dir)


def test_every_entry_uses_only_keys_llama_factory_documents(llama_factory: Path) -> None:
    ours = {name: entry for name, entry in _registry(llama_factory).items() if name.startswith(ENTRY_PREFIX)}

    assert len(ours) == 2 * len(CONFIGS)  # alpaca and sharegpt files; no Hub entry unless asked for
    for name, entry in ours.items():
        assert set(entry) <= LLAMA_FACTORY_KEYS, name
        assert set(entry["columns"]) <= LLAMA_FACTORY_COLUMNS, name
        assert set(entry.get("tags", {})) <= LLAMA_FACTORY_TAGS, name
        assert entry["formatting"] in {"alpaca", "sharegpt"}
        assert ("file_name" in entry) != ("hf_hub_url" in entry), name
        if "file_name" in entry:
            assert (llama_factory / entry["file_name"]).is_file()


def test_an_existing_dataset_info_keeps_its_entries(llama_factory: Path) -> None:
    assert _registry(llama_factory)["identity"] == {"file_name": "identity.json"}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_alpaca_files_hold_the_release_rows_with_history_as_pairs(
    llama_factory: Path, demo_release: Path, cache_dir: str, config: str
) -> None:
    entry = _registry(llama_factory)[f"{ENTRY_PREFIX}{config}"]
    columns = entry["columns"]
    loaded = _load_json(llama_factory / entry["file_name"], cache_dir).to_list()

    expected = _release_rows(demo_release, config, cache_dir)
    assert [row["id"] for row in loaded] == [row["id"] for row in expected]
    for got, want in zip(loaded, expected, strict=False):
        for role in ("prompt", "query", "response", "system"):
            assert got[columns[role]] == want[columns[role]]
        # LLaMA-Factory unpacks each history item as `for old_prompt, old_response in history`
        assert [tuple(pair) for pair in got[columns["history"]]] == [
            (t["user"], t["assistant"]) for t in want["history"]
        ]


@pytest.mark.parametrize("config", list(CONFIGS))
def test_sharegpt_files_load_back_to_the_release_rows(
    llama_factory: Path, demo_release: Path, cache_dir: str, config: str
) -> None:
    entry = _registry(llama_factory)[f"{ENTRY_PREFIX}{config}-sharegpt"]
    loaded = _load_json(llama_factory / entry["file_name"], cache_dir, VIEW_FEATURES["sharegpt"])

    assert entry["tags"]["user_tag"] == "human" and entry["columns"]["messages"] == "conversations"
    assert from_view(loaded, "sharegpt").to_list() == _release_rows(demo_release, config, cache_dir)


def test_hub_entries_only_on_request_and_with_a_warning_that_they_load_main(
    demo_release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["export", str(tmp_path), "--release", str(demo_release), "--name", NAME, "--author", AUTHOR]
    assert main(argv) == EXIT_OK
    assert not [name for name in _registry(tmp_path) if name.endswith("-hub")]
    assert "main" not in capsys.readouterr().err

    assert main([*argv, "--hub-entries", "--repo", "example/chat-dataset-baseline"]) == EXIT_OK
    err = capsys.readouterr().err
    registry = _registry(tmp_path)
    for config in CONFIGS:
        hub = registry.get(f"{ENTRY_PREFIX}{config}-hub")
        if config == "prompts":
            assert hub is None  # the Hub holds the NAME/AUTHOR template, not trainable rows
            continue
        assert hub["hf_hub_url"] == "example/chat-dataset-baseline" and hub["subset"] == config
        assert set(hub) <= LLAMA_FACTORY_KEYS  # no revision: LLaMA-Factory would ignore it
        assert "history" not in hub["columns"]  # the Hub's {user, assistant} turns would be unpacked as their keys
        assert f"{ENTRY_PREFIX}{config}-hub" in err
    assert "warning:" in err and "main branch of example/chat-dataset-baseline" in err
    assert f"not v{RELEASE_VERSION}" in err


def test_a_release_without_a_config_exports_the_configs_it_has(
    write_source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_source({"alpaca-zh/a.json": [good_record(n, "zh") for n in range(3)]})
    release = tmp_path / "partial"
    assert build_release(source, release, options=BuildOptions(progress=False)).published
    out = tmp_path / "out"

    assert main(["export", str(out), "--release", str(release)]) == EXIT_OK
    assert sorted(path.name for path in out.iterdir()) == sorted(
        [DATASET_INFO, "alpaca-zh.alpaca.jsonl", "alpaca-zh.sharegpt.jsonl"]
    )
    assert len((out / "alpaca-zh.alpaca.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    assert "has no alpaca-en, chatglm-issues, prompts" in capsys.readouterr().err

    assert main(["export", str(out), "--release", str(release), "--config", "alpaca-en"]) == EXIT_USAGE
    assert "has no config alpaca-en; it has alpaca-zh" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", list(PLAIN_FORMATS))
def test_view_exports_load_back_to_the_release_rows(
    demo_release: Path, tmp_path: Path, cache_dir: str, fmt: str
) -> None:
    view = PLAIN_FORMATS[fmt]

    assert (
        main(["export", "--format", fmt, str(tmp_path), "--release", str(demo_release), "--config", "chatglm-issues"])
        == EXIT_OK
    )

    loaded = _load_json(tmp_path / "chatglm-issues.jsonl", cache_dir, VIEW_FEATURES[view])
    assert from_view(loaded, view).to_list() == _release_rows(demo_release, "chatglm-issues", cache_dir)


def test_exporting_the_template_says_the_placeholders_are_still_there(
    demo_release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["export", "--format", "messages", str(tmp_path), "--release", str(demo_release), "--config", "prompts"])
        == EXIT_OK
    )

    assert "--name and --author" in capsys.readouterr().err
    assert "NAME" in (tmp_path / "prompts.jsonl").read_text(encoding="utf-8")


def test_half_an_identity_is_a_usage_error(
    demo_release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["export", str(tmp_path), "--release", str(demo_release), "--config", "prompts", "--name", NAME]

    assert main(argv) == EXIT_USAGE
    assert "AUTHOR" in capsys.readouterr().err

"""A card whose ``configs:`` or ``dataset_info:`` entries have shapes datasets' parsers do not take.

Plain ``load_dataset`` parses both lists from ``README.md`` and fails on a list or a
mapping where a name belongs with its own ``TypeError: unhashable type``; ``verify`` and
``inspect`` name the entry at fault instead, and never show a traceback. The verifying
builder reads the manifest, not the card, so such a card does not stop it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_release import copy_release

from chat_dataset_baseline import ChatDatasetBaseline
from chatcorpus.cli import EXIT_OK, main

SHARD = "data/alpaca-zh/x.parquet"
FILES = f"[{{split: train, path: {SHARD}}}]"
# a hostile header, and the place its fault must be named by
HEADERS = {
    "name-list": (f"configs: [{{config_name: [a, b], data_files: {FILES}}}]", "configs[0].config_name"),
    "name-dict": (f"configs: [{{config_name: {{a: b}}, data_files: {FILES}}}]", "configs[0].config_name"),
    "name-missing": (
        f"configs: [{{config_name: alpaca-zh, data_files: {FILES}}}, {{data_files: {FILES}}}]",
        "configs[1].config_name",
    ),
    "entry-number": ("configs: [5]", "configs[0]"),
    "entry-list": ("configs: [[alpaca-zh]]", "configs[0]"),
    "configs-mapping": ("configs: {alpaca-zh: x}", "its configs"),
    "data-files-mapping": ("configs: [{config_name: alpaca-zh, data_files: {train: x}}]", "configs[0].data_files"),
    "split-list": (
        f"configs: [{{config_name: alpaca-zh, data_files: [{{split: [a], path: {SHARD}}}]}}]",
        "configs[0].data_files[0].split",
    ),
    "split-mapping": (
        f"configs: [{{config_name: alpaca-zh, data_files: [{{split: {{a: 1}}, path: {SHARD}}}]}}]",
        "data_files[0].split",
    ),
    "path-mapping": (
        "configs: [{config_name: alpaca-zh, data_files: [{split: train, path: {a: b}}]}]",
        "data_files[0].path",
    ),
    "path-nested": (
        "configs: [{config_name: alpaca-zh, data_files: [{split: train, path: [[x]]}]}]",
        "data_files[0].path[0]",
    ),
    "info-name-list": ("dataset_info: [{config_name: [alpaca-zh]}]", "dataset_info[0].config_name"),
    "info-entry-list": ("dataset_info: [[1]]", "dataset_info[0]"),
    "info-features": ("dataset_info: [{config_name: alpaca-zh, features: [{dtype: string}]}]", "dataset_info"),
}


def _with_header(demo_release: Path, tmp_path: Path, header: str) -> Path:
    release = copy_release(demo_release, tmp_path / "release")
    card = release / "README.md"
    body = card.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    card.write_text(f"---\n{header}\n---\n{body}", encoding="utf-8")
    return release


@pytest.mark.parametrize("case", list(HEADERS))
def test_verify_and_inspect_name_the_entry_at_fault(
    case: str, demo_release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header, place = HEADERS[case]
    release = _with_header(demo_release, tmp_path, header)
    for command in ("verify", "inspect"):
        assert main([command, str(release)]) != EXIT_OK
        captured = capsys.readouterr()
        assert place in captured.out and "Traceback" not in captured.out + captured.err, captured.out


def test_a_card_only_dataset_info_breaks_is_not_verified(demo_release: Path, tmp_path: Path) -> None:
    """configs: as built, dataset_info: hostile: plain load_dataset fails on it, so verify must too."""
    release = copy_release(demo_release, tmp_path / "release")
    card = release / "README.md"
    text = card.read_text(encoding="utf-8")
    assert "dataset_info:\n- config_name: alpaca-en\n" in text
    card.write_text(
        text.replace("dataset_info:\n- config_name: alpaca-en\n", "dataset_info:\n- config_name: [alpaca-en]\n", 1),
        encoding="utf-8",
    )
    assert main(["verify", str(release)]) != EXIT_OK


def test_the_verifying_builder_reads_the_manifest_not_the_card(demo_release: Path, tmp_path: Path) -> None:
    release = _with_header(demo_release, tmp_path, HEADERS["name-list"][0])
    builder = ChatDatasetBaseline(config_name="alpaca-zh", data_source=str(release), cache_dir=str(tmp_path / "cache"))
    builder.download_and_prepare()
    assert builder.as_dataset(split="train").num_rows > 0

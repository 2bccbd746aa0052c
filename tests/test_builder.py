"""The builder loads every config of a release, streaming and not, in exactly FEATURES."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import datasets
import pytest

import chat_dataset_baseline
from chat_dataset_baseline import CONFIGS, FEATURES, ChatDatasetBaseline, ManifestError, ShardVerificationError
from chatcorpus.release.manifest import Manifest


def _builder(release: Path, config: str, cache_dir: str, **kwargs) -> ChatDatasetBaseline:
    return ChatDatasetBaseline(config_name=config, data_source=str(release), cache_dir=cache_dir, **kwargs)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_builder_streaming_and_prepared_loads_give_the_same_rows(
    demo_release: Path, cache_dir: str, config: str, streaming_path: str
) -> None:
    builder = _builder(demo_release, config, cache_dir)
    builder.download_and_prepare()
    prepared = builder.as_dataset(split="train")
    streamed = list(builder.as_streaming_dataset(split="train"))

    assert prepared.features == FEATURES
    assert builder.as_streaming_dataset(split="train").features == FEATURES
    assert prepared.num_rows == Manifest.read(demo_release).configs[config]["rows"] > 0
    assert streamed == prepared.to_list()


@pytest.mark.parametrize("config", list(CONFIGS))
def test_plain_load_dataset_matches_the_builder(demo_release: Path, cache_dir: str, config: str) -> None:
    plain = datasets.load_dataset(str(demo_release), config, split="train", cache_dir=cache_dir)
    plain_streamed = datasets.load_dataset(str(demo_release), config, split="train", streaming=True)
    builder = _builder(demo_release, config, cache_dir)
    builder.download_and_prepare()

    assert plain.features == FEATURES
    assert plain.to_list() == builder.as_dataset(split="train").to_list() == list(plain_streamed)


def test_load_dataset_by_the_repo_name_from_the_parent_folder(
    demo_release: Path, cache_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(demo_release.parent)
    ds = datasets.load_dataset("chat-dataset-baseline", "alpaca-zh", split="train", cache_dir=cache_dir)
    assert ds.num_rows == Manifest.read(demo_release).configs["alpaca-zh"]["rows"]
    assert set(ds["category"]) == {"alpaca"}


def test_every_row_carries_id_provenance_language_and_category(demo_release: Path, cache_dir: str) -> None:
    ds = datasets.load_dataset(str(demo_release), "chatglm-issues", split="train", cache_dir=cache_dir)
    for row in ds:
        assert len(row["id"]) == 16
        assert row["source"].startswith("chatglm-issues/") and "#" in row["source"]
        assert row["language"] in {"zh", "en", "mixed"}
        assert row["category"] == Path(row["source"].split("#")[0]).stem
    with_history = [row for row in ds if row["history"]]
    assert with_history and with_history[0]["history"][0].keys() == {"user", "assistant"}


def test_a_flipped_byte_is_named_on_load(
    demo_release: Path, tmp_path: Path, cache_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = tmp_path / "release"
    shutil.copytree(demo_release, release)
    shard = Manifest.read(release).configs["prompts"]["shards"][0]["path"]
    data = bytearray((release / shard).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (release / shard).write_bytes(bytes(data))

    for fast in (True, False):
        monkeypatch.setattr(chat_dataset_baseline, "FAST_STREAMING", fast)
        with pytest.raises(ShardVerificationError, match=shard.split("/")[-1]):
            list(_builder(release, "prompts", cache_dir).as_streaming_dataset(split="train"))
    with pytest.raises(ShardVerificationError, match="sha256"):
        _builder(release, "prompts", cache_dir).download_and_prepare()


def test_a_release_without_manifest_is_a_clear_error(demo_release: Path, tmp_path: Path, cache_dir: str) -> None:
    release = tmp_path / "release"
    shutil.copytree(demo_release, release)
    os.remove(release / "manifest.json")
    with pytest.raises(ManifestError, match="manifest"):
        _builder(release, "alpaca-en", cache_dir).download_and_prepare()


def test_unknown_config_is_refused() -> None:
    with pytest.raises(ValueError, match="alpaca-fr"):
        ChatDatasetBaseline(config_name="alpaca-fr")


def test_the_builder_imports_only_the_ecosystem_and_the_standard_library() -> None:
    import ast
    import sys

    import chat_dataset_baseline

    tree = ast.parse(Path(chat_dataset_baseline.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        and (node.module if isinstance(node, ast.ImportFrom) else True)
        for alias in node.names
    }
    allowed = {"datasets", "pyarrow", "huggingface_hub", "__future__"} | set(sys.stdlib_module_names)
    assert imported <= allowed, imported - allowed


def test_batched_streaming_gives_the_same_rows_in_the_same_order(
    demo_release: Path, cache_dir: str, streaming_path: str
) -> None:
    streaming = _builder(demo_release, "alpaca-en", cache_dir).as_streaming_dataset(split="train")
    batches = list(streaming.iter(batch_size=3))
    assert [len(b["id"]) for b in batches][:-1] == [3] * (len(batches) - 1)
    rows = [
        dict(zip(batch, values, strict=False)) for batch in batches for values in zip(*batch.values(), strict=False)
    ]
    assert rows == list(streaming)
    assert list(streaming.with_format("python").iter(batch_size=3)) == batches


# --- the fenced fast path -------------------------------------------------------------------


def test_this_datasets_has_what_the_fast_path_needs() -> None:
    """The installed datasets (newest, or 4.0.0 in make test-compat) is one the fast path knows."""
    assert chat_dataset_baseline.FAST_STREAMING_MISSING is None


@pytest.mark.parametrize(
    "owner, name",
    [
        (datasets.IterableDataset, "_prepare_ex_iterable_for_iteration"),
        (datasets.DatasetBuilder, "_as_streaming_dataset_single"),
        (datasets.ArrowBasedBuilder, "_get_examples_iterable_for_split"),
    ],
)
def test_a_missing_private_name_turns_the_fast_path_off(
    monkeypatch: pytest.MonkeyPatch, owner: type, name: str
) -> None:
    monkeypatch.delattr(owner, name)
    assert chat_dataset_baseline._probe_fast_streaming() == f"{owner.__name__}.{name}"


def test_a_changed_private_signature_turns_the_fast_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets.IterableDataset, "_prepare_ex_iterable_for_iteration", lambda self, n: None)
    assert "batch_size" in (chat_dataset_baseline._probe_fast_streaming() or "")


def test_the_plain_path_is_datasets_own_and_the_fast_path_is_typed(demo_release: Path, cache_dir: str) -> None:
    def ex_iterable(fast: bool) -> object:
        chat_dataset_baseline.FAST_STREAMING = fast
        try:
            stream = _builder(demo_release, "alpaca-en", cache_dir).as_streaming_dataset(split="train")
            return stream, stream._ex_iterable
        finally:
            chat_dataset_baseline.FAST_STREAMING = chat_dataset_baseline.FAST_STREAMING_MISSING is None

    (fast, fast_iterable), (plain, plain_iterable) = ex_iterable(True), ex_iterable(False)
    assert fast_iterable.is_typed and fast_iterable.features == FEATURES
    assert not plain_iterable.is_typed and type(plain) is datasets.IterableDataset
    assert list(fast) == list(plain)
    assert list(fast.iter(batch_size=4)) == list(plain.iter(batch_size=4))

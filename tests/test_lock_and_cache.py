"""No stale rows, and pins that hold: the cache is keyed by the manifest, a lock pins the commit and manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import good_record
from hub_server import HubServer
from huggingface_hub import HfApi

from chat_dataset_baseline import RELEASE_VERSION, ChatDatasetBaseline, ManifestMismatch
from chatcorpus.cli import main
from chatcorpus.errors import LockError, UsageError
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.lock import Lock, lock_release
from chatcorpus.release.manifest import Manifest
from chatcorpus.training.mixing import Recipe, load_recipe

pytest_plugins = ["hub_fixtures"]

REPO = "org/chat-dataset-baseline"
CONFIG = "alpaca-en"
#: The tag a default build is published under.
TAG = f"v{RELEASE_VERSION}"


def _build(write_source, out: Path, first: int, count: int, root: str) -> Path:
    source = write_source({f"{CONFIG}/a.json": [good_record(n) for n in range(first, first + count)]}, root=root)
    assert build_release(source, out, options=BuildOptions(progress=False)).published
    return out


def _ids(data_source: str, cache_dir: str, streaming: bool = False, **kwargs: Any) -> list[str]:
    builder = ChatDatasetBaseline(config_name=CONFIG, data_source=data_source, cache_dir=cache_dir, **kwargs)
    if streaming:
        return [row["id"] for row in builder.as_streaming_dataset(split="train")]
    builder.download_and_prepare()
    return builder.as_dataset(split="train")["id"]


def _manifest_ids(release: Path) -> int:
    return Manifest.read(release).configs[CONFIG]["rows"]


def test_a_release_rebuilt_in_place_never_loads_the_old_rows(write_source, tmp_path: Path) -> None:
    out, cache = tmp_path / "out" / "chat-dataset-baseline", str(tmp_path / "cache")
    _build(write_source, out, 0, 3, "a")
    first = _ids(str(out), cache)
    assert len(first) == 3
    _build(write_source, out, 10, 5, "b")  # same folder, same cache, same arguments
    second = _ids(str(out), cache)
    assert len(second) == 5 == _manifest_ids(out) and not set(first) & set(second)
    _build(write_source, out, 0, 3, "a2")  # the first release again: its cache is found again
    assert _ids(str(out), cache) == first


def _publish_by_hand(release: Path, tag: str = TAG) -> str:
    """Commit and tag a release bypassing push: what a careless maintainer or an attacker can do."""
    api = HfApi()
    if not api.repo_exists(REPO, repo_type="dataset"):
        api.create_repo(REPO, repo_type="dataset")
    commit = api.upload_folder(repo_id=REPO, folder_path=str(release), repo_type="dataset").oid
    api.create_tag(REPO, tag=tag, revision=commit, repo_type="dataset")
    return commit


@pytest.fixture
def retagged(hub: HubServer, write_source, tmp_path: Path) -> dict[str, Any]:
    """The release published, locked, loaded into a cache; then its tag deleted and re-created on other rows."""
    first = _build(write_source, tmp_path / "first" / "chat-dataset-baseline", 0, 3, "a")
    second = _build(write_source, tmp_path / "second" / "chat-dataset-baseline", 10, 4, "b")
    first_commit = _publish_by_hand(first)
    lock = lock_release(f"{REPO}@{TAG}")
    cache = str(tmp_path / "cache")
    first_ids = _ids(REPO, cache, revision=TAG)
    HfApi().delete_tag(REPO, tag=TAG, repo_type="dataset")
    second_commit = _publish_by_hand(second)
    return {
        "lock": lock,
        "cache": cache,
        "first_ids": first_ids,
        "first": first,
        "second": second,
        "commits": (first_commit, second_commit),
    }


def test_the_lock_records_the_tags_commit_and_the_manifest_sha256(retagged: dict[str, Any]) -> None:
    lock = retagged["lock"]
    assert lock == Lock(REPO, TAG, retagged["commits"][0], Manifest.read(retagged["first"]).sha256)


def test_a_re_created_tag_loads_its_new_rows_from_the_same_cache(retagged: dict[str, Any]) -> None:
    again = _ids(REPO, retagged["cache"], revision=TAG)
    assert len(again) == 4 and not set(again) & set(retagged["first_ids"])


@pytest.mark.parametrize("streaming", [False, True], ids=["prepared", "streaming"])
def test_a_pinned_manifest_refuses_the_re_created_tag(retagged: dict[str, Any], streaming: bool) -> None:
    pinned = retagged["lock"].manifest_sha256
    with pytest.raises(ManifestMismatch) as refused:
        _ids(REPO, retagged["cache"], streaming, revision=TAG, manifest_sha256=pinned)
    assert refused.value.pinned == pinned and refused.value.found == Manifest.read(retagged["second"]).sha256


def test_loads_with_the_lock_read_the_locked_commit(retagged: dict[str, Any], tmp_path: Path) -> None:
    lock = retagged["lock"]
    recipe = Recipe("english", {CONFIG: 1.0}, "first_exhausted")
    mixed = load_recipe(REPO, recipe, seed=0, lock=lock, cache_dir=retagged["cache"])
    assert sorted(mixed["id"]) == sorted(retagged["first_ids"])
    with pytest.raises(ManifestMismatch):
        load_recipe(REPO, recipe, seed=0, revision=TAG, manifest_sha256=lock.manifest_sha256)
    with pytest.raises(UsageError, match="v9.9.9"):
        load_recipe(REPO, recipe, seed=0, revision="v9.9.9", lock=lock)

    lock_file = lock.write(tmp_path / "data.lock.json")
    out = tmp_path / "export"
    assert main(["export", str(out), "--format", "jsonl", "--config", CONFIG, "--lock", str(lock_file)]) == 0
    exported = [json.loads(line)["id"] for line in (out / f"{CONFIG}.jsonl").read_text(encoding="utf-8").splitlines()]
    assert exported == retagged["first_ids"]
    args = ["export", str(tmp_path / "refused"), "--format", "jsonl", "--config", CONFIG, "--release", REPO]
    assert main([*args, "--revision", TAG, "--manifest-sha256", lock.manifest_sha256]) == 2


def test_verify_with_the_lock_reports_the_moved_tag(
    retagged: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock_file = retagged["lock"].write(tmp_path / "data.lock.json")
    assert main(["verify", f"{REPO}@{TAG}", "--lock", str(lock_file)]) == 1
    out = capsys.readouterr().out
    first, second = retagged["commits"]
    assert f"the tag {TAG} moved: the lock says commit {first}" in out and second in out


def test_the_lock_command_writes_a_lock_that_verify_accepts(
    hub: HubServer, write_source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit = _publish_by_hand(_build(write_source, tmp_path / "r" / "chat-dataset-baseline", 0, 2, "a"))
    lock_file = tmp_path / "data.lock.json"
    assert main(["lock", f"{REPO}@{TAG}", "--out", str(lock_file)]) == 0
    assert Lock.read(lock_file).commit == commit
    assert main(["verify", f"{REPO}@{TAG}", "--lock", str(lock_file)]) == 0
    assert f"ok    lock: {TAG} is commit {commit[:12]}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"format": 1}',
        '{"format": 1, "repo_id": "a/b", "tag": "main", "commit": "x", "manifest_sha256": "y"}',
    ],
)
def test_a_damaged_lock_is_a_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.lock.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LockError, match="bad.lock.json"):
        Lock.read(path)


def test_only_a_version_tag_can_be_locked() -> None:
    with pytest.raises(LockError, match="version tag"):
        lock_release(f"{REPO}@main")

"""A Hub release whose manifest lists a path outside its folder: located errors, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import NEXT_VERSION
from hostile_release import copy_release, relist_shard
from hub_server import HubServer
from huggingface_hub import HfApi

from chat_dataset_baseline import RELEASE_VERSION, ChatDatasetBaseline, ReleasePathError
from chatcorpus.cli import main

pytest_plugins = ["hub_fixtures"]

REPO = "org/chat-dataset-baseline"
BAD = "data/alpaca-zh/../../x.parquet"


def _publish_by_hand(release: Path) -> None:
    api = HfApi()  # bypassing push, which refuses such a release
    api.create_repo(REPO, repo_type="dataset")
    commit = api.upload_folder(repo_id=REPO, folder_path=str(release), repo_type="dataset").oid
    api.create_tag(REPO, tag=f"v{RELEASE_VERSION}", revision=commit, repo_type="dataset")


@pytest.fixture
def hostile_hub_release(hub: HubServer, demo_release: Path, tmp_path: Path) -> None:
    release = copy_release(demo_release, tmp_path / "hostile")
    relist_shard(release, "alpaca-zh", BAD)
    _publish_by_hand(release)


@pytest.mark.parametrize("streaming", [False, True], ids=["prepared", "streaming"])
def test_the_builder_refuses_the_hub_release(hostile_hub_release: None, tmp_path: Path, streaming: bool) -> None:
    builder = ChatDatasetBaseline(config_name="alpaca-en", data_source=REPO, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(ReleasePathError, match=r"\.\./\.\./x\.parquet"):
        if streaming:
            list(builder.as_streaming_dataset(split="train"))
        else:
            builder.download_and_prepare()


def test_verify_and_build_base_name_the_path(
    hostile_hub_release: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", f"{REPO}@v{RELEASE_VERSION}"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  manifest.json" in out and BAD in out
    out_dir = tmp_path / "next"
    args = [
        "build",
        "--source",
        "data",
        "--out",
        str(out_dir),
        "--version",
        NEXT_VERSION,
        "--base",
        f"{REPO}@v{RELEASE_VERSION}",
    ]
    assert main([*args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert BAD in err and "Traceback" not in err and not out_dir.exists()

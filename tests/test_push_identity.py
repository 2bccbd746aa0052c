"""push --base checks the base itself: a different release under the base's version is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import NEXT_VERSION, good_record
from hub_server import HubServer

from chat_dataset_baseline import RELEASE_VERSION
from chatcorpus.cli import main
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.manifest import Manifest

pytest_plugins = ["hub_fixtures"]

REPO = "org/chat-dataset-baseline"


def _build(write_source, tmp_path: Path, name: str, records: int, version: str, base: Path | None = None) -> Path:
    source = write_source({"alpaca-en/a.json": [good_record(n) for n in range(records)]}, root=f"src-{name}")
    out = tmp_path / name / "chat-dataset-baseline"
    options = BuildOptions(version=version, progress=False, repo_id=REPO, base=str(base) if base else None)
    assert build_release(source, out, options=options).published
    return out


def test_a_release_built_on_another_v1_is_refused_and_one_built_on_the_published_v1_goes_on(
    hub: HubServer, write_source, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ours = _build(write_source, tmp_path, "ours", 3, RELEASE_VERSION)
    theirs = _build(write_source, tmp_path, "theirs", 4, RELEASE_VERSION)  # same version, other rows
    assert Manifest.read(ours).sha256 != Manifest.read(theirs).sha256
    assert main(["push", str(theirs), "--repo", REPO]) == 0

    on_ours = _build(write_source, tmp_path, "on-ours", 5, NEXT_VERSION, base=ours)
    assert Manifest.read(on_ours).parent_manifest_sha256 == Manifest.read(ours).sha256
    capsys.readouterr()
    assert main(["push", str(on_ours), "--repo", REPO]) == 1
    err = capsys.readouterr().err
    assert Manifest.read(ours).sha256 in err and Manifest.read(theirs).sha256 in err and "another release" in err
    assert f"v{NEXT_VERSION}" not in dict(hub.repo(REPO).tags)

    on_theirs = _build(write_source, tmp_path, "on-theirs", 5, NEXT_VERSION, base=theirs)
    assert main(["push", str(on_theirs), "--repo", REPO]) == 0
    assert f"v{NEXT_VERSION}" in dict(hub.repo(REPO).tags)

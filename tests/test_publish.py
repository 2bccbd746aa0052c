"""Publishing against a local Hub: atomic pushes, immutable tags, incremental releases, verified loads.

Everything here drives the real code paths: ``chat-dataset-baseline push``/``verify``/
``build`` through ``chatcorpus.cli.main`` (and once as a subprocess), ``datasets.load_dataset``
and the ``ChatDatasetBaseline`` builder, all talking HTTP to ``hub_server.HubServer``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
import pytest
from conftest import NEXT_VERSION, good_record
from hub_server import HubServer
from huggingface_hub import HfApi

from chat_dataset_baseline import (
    RELEASE_PLACES,
    RELEASE_VERSION,
    SCHEMA_MAJOR,
    ChatDatasetBaseline,
    ManifestError,
    ShardVerificationError,
)
from chatcorpus.cli import main
from chatcorpus.errors import BaseReleaseError, UsageError
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.manifest import Manifest

pytest_plugins = ["hub_fixtures"]

REPO = "org/chat-dataset-baseline"
SHARD_ROWS = 4
EN_ROWS, ZH_ROWS, NEW_ROWS = 10, 6, 5
#: The release a build makes by default, and the next one built on it.
FIRST, SECOND = RELEASE_VERSION, NEXT_VERSION
V1, V2 = f"v{FIRST}", f"v{SECOND}"
#: A version tag no test publishes.
UNPUBLISHED = f"v{SCHEMA_MAJOR + 1}.0.0"


# --- releases -------------------------------------------------------------------------------


def _write(folder: Path, files: dict[str, list[dict[str, str]]]) -> Path:
    for relative, records in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def _first_sources(folder: Path) -> Path:
    return _write(
        folder,
        {
            "alpaca-en/a.json": [good_record(n) for n in range(EN_ROWS)],
            "alpaca-zh/a.json": [good_record(n, "zh") for n in range(ZH_ROWS)],
        },
    )


def _appended_sources(folder: Path) -> Path:
    """The first sources plus a new file of new records: an append-only change."""
    _first_sources(folder)
    return _write(folder, {"alpaca-en/b.json": [good_record(100 + n) for n in range(NEW_ROWS)]})


def _build(source: Path, out: Path, version: str = FIRST, base: str | None = None) -> Path:
    options = BuildOptions(version=version, shard_rows=SHARD_ROWS, progress=False, repo_id=REPO, base=base)
    result = build_release(source, out, options=options)
    assert result.published, [str(f) for f in result.faults]
    return out


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The release (RELEASE_VERSION), and the next minor built on it with appended records; built once for the module."""
    root = tmp_path_factory.mktemp("releases")
    v1 = _build(_first_sources(root / "src1"), root / "v1" / "chat-dataset-baseline")
    v2 = _build(_appended_sources(root / "src2"), root / "v2" / "chat-dataset-baseline", SECOND, base=str(v1))
    return {"v1": v1, "v2": v2}


def _release_files(release: Path) -> dict[str, bytes]:
    return {p.relative_to(release).as_posix(): p.read_bytes() for p in release.rglob("*") if p.is_file()}


def _published(hub: HubServer, revision: str = "main") -> dict[str, bytes]:
    """The release a revision holds: its release files, leaving out what a release does not own."""
    return {p: data for p, data in hub.files(REPO, revision).items() if p.startswith(RELEASE_PLACES)}


def _tags(hub: HubServer) -> dict[str, str]:
    return dict(hub.repo(REPO).tags)


def _push(release: Path, *args: str) -> int:
    return main(["push", str(release), "--repo", REPO, *args])


def _shard_paths(release: Path, config: str) -> list[str]:
    return [shard["path"] for shard in Manifest.read(release).configs[config]["shards"]]


# --- loading --------------------------------------------------------------------------------


def _plain(config: str, revision: str, cache: Path) -> list[dict[str, Any]]:
    return datasets.load_dataset(REPO, config, revision=revision, split="train", cache_dir=str(cache)).to_list()


def _builder(config: str, cache: Path, revision: str | None = None) -> ChatDatasetBaseline:
    return ChatDatasetBaseline(config_name=config, data_source=REPO, revision=revision, cache_dir=str(cache))


def _builder_rows(
    config: str, cache: Path, revision: str | None = None, streaming: bool = False
) -> list[dict[str, Any]]:
    builder = _builder(config, cache, revision)
    if streaming:
        return list(builder.as_streaming_dataset(split="train"))
    builder.download_and_prepare()
    return builder.as_dataset(split="train").to_list()


def _local_rows(release: Path, config: str, cache: Path) -> list[dict[str, Any]]:
    return datasets.load_dataset(str(release), config, split="train", cache_dir=str(cache)).to_list()


# --- publishing -----------------------------------------------------------------------------


def test_a_release_is_one_commit_then_its_tag_and_loads_pinned(
    hub: HubServer, releases: dict[str, Path], tmp_path: Path
) -> None:
    assert _push(releases["v1"]) == 0

    repo = hub.repo(REPO)
    assert len(hub.since(0, "POST", r"/commit/")) == 1
    assert _tags(hub) == {V1: repo.branches["main"]}
    assert _published(hub, V1) == _release_files(releases["v1"])
    expected = _local_rows(releases["v1"], "alpaca-en", tmp_path / "local")
    assert _plain("alpaca-en", V1, tmp_path / "plain") == expected
    assert _builder_rows("alpaca-en", tmp_path / "built") == expected  # the builder pins its RELEASE_VERSION by default
    assert _builder_rows("alpaca-en", tmp_path / "streamed", V1, streaming=True) == expected


def test_an_append_only_release_uploads_only_its_new_shards_and_both_tags_load(
    hub: HubServer, releases: dict[str, Path], tmp_path: Path
) -> None:
    assert _push(releases["v1"]) == 0
    v2 = tmp_path / "v2" / "chat-dataset-baseline"
    assert (
        main(
            [
                "build",
                "--source",
                str(_appended_sources(tmp_path / "src")),
                "--out",
                str(v2),
                "--version",
                SECOND,
                "--shard-rows",
                str(SHARD_ROWS),
                "--repo",
                REPO,
                "--base",
                f"{REPO}@{V1}",
                "--quiet",
            ]
        )
        == 0
    )
    old_shards = set(_shard_paths(releases["v1"], "alpaca-en"))
    new_shards = [p for p in _shard_paths(v2, "alpaca-en") if p not in old_shards]
    assert old_shards < set(_shard_paths(v2, "alpaca-en")) and new_shards
    assert all((v2 / p).read_bytes() == (releases["v1"] / p).read_bytes() for p in old_shards)

    mark = hub.mark()
    assert _push(v2) == 0

    # the new shards, the duplicate index of the config that grew (alpaca-zh's is unchanged: kept), and the
    # charts whose counts changed (the others are the same bytes: kept); croissant.json is a regular file
    v1_files = {f["path"]: f["sha256"] for f in Manifest.read(releases["v1"]).files}
    v2_manifest = Manifest.read(v2)
    changed_charts = [
        f["path"] for f in v2_manifest.files if f["kind"] == "image" and v1_files.get(f["path"]) != f["sha256"]
    ]
    assert "images/lengths-alpaca-en.png" in changed_charts and "images/lengths-alpaca-zh.png" not in changed_charts
    new_files = [*new_shards, "index/alpaca-en.parquet", *changed_charts]
    uploaded = {sha256 for _, sha256, _ in hub.app.lfs_received[-len(new_files) :]}
    sha_of = {s["path"]: s["sha256"] for s in v2_manifest.configs["alpaca-en"]["shards"]}
    sha_of.update({f["path"]: f["sha256"] for f in v2_manifest.files})
    assert uploaded == {sha_of[p] for p in new_files}
    new_bytes = sum((v2 / p).stat().st_size for p in new_files)
    assert sum(r.received for r in hub.since(mark, "PUT", r"/lfs-upload/")) == new_bytes
    assert len(hub.since(mark, "POST", r"/commit/")) == 1

    first = _local_rows(releases["v1"], "alpaca-en", tmp_path / "l1")
    second = _local_rows(v2, "alpaca-en", tmp_path / "l2")
    assert _plain("alpaca-en", V1, tmp_path / "p1") == first == _builder_rows("alpaca-en", tmp_path / "b1")
    assert _plain("alpaca-en", V2, tmp_path / "p2") == second == _builder_rows("alpaca-en", tmp_path / "b2", V2)
    assert len(second) == len(first) + NEW_ROWS
    assert v2_manifest.parent == FIRST
    assert set(v2_manifest.changelog["alpaca-en"]["added"]) == {row["id"] for row in second} - {
        row["id"] for row in first
    }


def test_pushing_the_same_release_again_changes_nothing(
    hub: HubServer, releases: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _push(releases["v1"]) == 0
    mark = hub.mark()
    assert _push(releases["v1"]) == 0
    assert "already published" in capsys.readouterr().out
    assert {r.method for r in hub.since(mark)} <= {"GET", "HEAD"}  # read only


def test_other_content_under_a_published_version_is_refused(
    hub: HubServer, releases: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _push(releases["v1"]) == 0
    before = _published(hub)
    impostor = _build(_appended_sources(tmp_path / "src"), tmp_path / "impostor", version=FIRST)

    assert _push(impostor) == 1
    assert "already published" in capsys.readouterr().err
    assert _published(hub) == before and list(_tags(hub)) == [V1]


def test_a_release_built_on_another_base_than_the_branch_holds_is_refused(
    hub: HubServer, releases: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _push(releases["v2"]) == 1  # built on V1, but the repo holds no release yet
    assert f"built on {V1}" in capsys.readouterr().err
    assert not _tags(hub)


def test_dry_run_lists_added_kept_and_deleted_files_with_bytes_and_writes_nothing(
    hub: HubServer, releases: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _push(releases["v1"]) == 0
    source = _first_sources(tmp_path / "src")
    _write(source, {"alpaca-en/a.json": [good_record(n) for n in range(EN_ROWS - 1)]})  # drop the last record
    v2 = _build(source, tmp_path / "v2", SECOND, base=str(releases["v1"]))
    dropped = sorted(set(_shard_paths(releases["v1"], "alpaca-en")) - set(_shard_paths(v2, "alpaca-en")))
    capsys.readouterr()
    mark = hub.mark()

    assert _push(v2, "--dry-run") == 0
    out = capsys.readouterr().out
    lines = {line.split()[1]: line.split()[0] for line in out.splitlines() if line.startswith("  ")}
    assert dropped and all(lines[path] == "delete" for path in dropped)
    assert lines["manifest.json"] == "add" and lines["schema/record.schema.json"] == "keep"
    size = (releases["v1"] / dropped[0]).stat().st_size
    assert f"{size:,} B" in next(line for line in out.splitlines() if dropped[0] in line)
    assert "dry run: nothing was uploaded" in out
    assert {r.method for r in hub.since(mark)} <= {"GET", "HEAD"}


def test_a_pull_request_holds_the_release_and_no_tag_is_created(
    hub: HubServer, releases: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _push(releases["v1"]) == 0
    assert _push(releases["v2"], "--create-pr") == 0

    out = capsys.readouterr().out
    assert "pull request" in out and "not created" in out
    assert _published(hub, "refs/pr/1") == _release_files(releases["v2"])
    assert _published(hub) == _release_files(releases["v1"])
    assert list(_tags(hub)) == [V1]


# --- faults while pushing -------------------------------------------------------------------

FAULTS: dict[str, tuple[Callable[[HubServer], object], str, int]] = {
    # name: (inject, which release the repo holds afterwards, exit code)
    "commit answered 500 every time": (lambda hub: hub.fail(r"/commit/", 500, times=None), "v1", 2),
    "commit answered 500 once": (lambda hub: hub.fail(r"/commit/", 500), "v2", 0),
    "another commit lands first (412)": (
        lambda hub: hub.conflict(REPO, {"NOTES.md": b"someone else's change\n"}),
        "v1",
        2,
    ),
    "connection dropped mid-upload": (lambda hub: hub.drop(r"/lfs-upload/", method="PUT"), "v2", 0),
    "uploads refused every time": (lambda hub: hub.fail(r"/lfs-upload/", 403, times=None), "v1", 2),
    "preupload answered 503 once": (lambda hub: hub.fail(r"/preupload/", 503), "v2", 0),
    "commit applied but its answer lost": (lambda hub: hub.drop(r"/commit/", after=True), "v2", 0),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_leaves_exactly_the_previous_or_exactly_the_new_release(
    hub: HubServer, releases: dict[str, Path], capsys: pytest.CaptureFixture[str], fault: str
) -> None:
    inject, holds, code = FAULTS[fault]
    assert _push(releases["v1"]) == 0
    capsys.readouterr()
    inject(hub)

    assert _push(releases["v2"]) == code
    said = capsys.readouterr()
    assert "Traceback" not in said.err + said.out
    assert _published(hub) == _release_files(releases[holds])
    expected_tags = {V1} | ({V2} if holds == "v2" else set())
    assert set(_tags(hub)) == expected_tags
    if code:
        assert "nothing was published" in said.err.lower()
    if holds == "v2":
        assert _tags(hub)[V2] == hub.repo(REPO).branches["main"]


def test_a_failed_tag_is_finished_by_the_next_push_without_a_second_commit(
    hub: HubServer, releases: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _push(releases["v1"]) == 0
    hub.fail(r"/tag/", 500, times=None, method="POST")
    assert _push(releases["v2"]) == 2
    assert "run the same push again" in capsys.readouterr().err.lower()
    assert _published(hub) == _release_files(releases["v2"]) and V2 not in _tags(hub)

    hub.clear_faults()
    commits = len(hub.since(0, "POST", r"/commit/"))
    assert _push(releases["v2"]) == 0
    assert len(hub.since(0, "POST", r"/commit/")) == commits
    assert _tags(hub)[V2] == hub.repo(REPO).branches["main"]


# --- corrupt, incomplete and inconsistent releases --------------------------------------------


def _flip_a_byte(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


@pytest.mark.parametrize(
    "damage, reason",
    [(_flip_a_byte, "sha256"), (lambda data: data[: len(data) // 2], "bytes")],
    ids=["flipped", "truncated"],
)
def test_a_damaged_stored_shard_is_named_on_load_and_by_verify(
    hub: HubServer,
    releases: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[bytes], bytes],
    reason: str,
) -> None:
    assert _push(releases["v1"]) == 0
    shard = _shard_paths(releases["v1"], "alpaca-zh")[-1]
    hub.tamper(REPO, V1, shard, damage)
    name = shard.rsplit("/", 1)[-1]

    with pytest.raises(ShardVerificationError, match=f"{name}.*{reason}"):
        _builder_rows("alpaca-zh", tmp_path / "built", V1)
    with pytest.raises(ShardVerificationError, match=f"{name}.*{reason}"):
        _builder_rows("alpaca-zh", tmp_path / "streamed", V1, streaming=True)
    assert main(["verify", f"{REPO}@{V1}"]) == 1
    failures = [line for line in capsys.readouterr().out.splitlines() if "FAIL" in line]
    assert len(failures) == 1 and name in failures[0] and reason in failures[0]


def test_a_card_that_disagrees_with_the_manifest_is_refused_by_push_and_reported_by_verify(
    hub: HubServer, releases: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doctored = tmp_path / "doctored"
    shutil.copytree(releases["v1"], doctored)
    dropped = _shard_paths(doctored, "alpaca-en")[-1]
    card = (doctored / "README.md").read_text(encoding="utf-8")
    (doctored / "README.md").write_text(card.replace(f"    - {dropped}\n", ""), encoding="utf-8")

    assert _push(doctored) == 1
    assert "does not verify" in capsys.readouterr().err and not hub.since(0, "POST")

    api = HfApi()  # published by hand, bypassing push's checks
    api.create_repo(REPO, repo_type="dataset")
    commit = api.upload_folder(repo_id=REPO, folder_path=str(doctored), repo_type="dataset").oid
    api.create_tag(REPO, tag=V1, revision=commit, repo_type="dataset")
    assert main(["verify", f"{REPO}@{V1}"]) == 1
    out = capsys.readouterr().out
    assert f"config alpaca-en: the card lacks {dropped}" in out


def test_a_missing_tag_is_a_clear_error_for_verify_and_for_loads(
    hub: HubServer, releases: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _push(releases["v1"]) == 0
    assert main(["verify", f"{REPO}@{UNPUBLISHED}"]) == 1
    out = capsys.readouterr().out
    assert f"tag {UNPUBLISHED}: does not exist on org/chat-dataset-baseline (tags: {V1})" in out
    with pytest.raises(ManifestError, match=UNPUBLISHED):
        _builder_rows("alpaca-en", tmp_path / "built", UNPUBLISHED)
    with pytest.raises(datasets.exceptions.DatasetNotFoundError, match=UNPUBLISHED):
        _plain("alpaca-en", UNPUBLISHED, tmp_path / "plain")


# --- credentials and the console script -------------------------------------------------------


def test_push_reads_its_token_from_the_environment_never_an_argument(
    hub: HubServer,
    hub_env: dict[str, str],
    releases: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["push", str(releases["v1"]), "--repo", REPO, "--token", "hf_secret"])
    assert refused.value.code == 2

    monkeypatch.delenv("HF_TOKEN")
    assert _push(releases["v1"]) == 2
    assert "no Hugging Face token" in capsys.readouterr().err and not hub.app.repos

    done = subprocess.run(
        [sys.executable, "-m", "chatcorpus.cli", "push", str(releases["v1"]), "--repo", REPO],
        env=hub_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert _tags(hub) == {V1: hub.repo(REPO).branches["main"]}


# --- incremental builds ------------------------------------------------------------------------


def test_an_append_only_build_keeps_every_base_shard_byte_for_byte(releases: dict[str, Path]) -> None:
    v1, v2 = releases["v1"], releases["v2"]
    for config in ("alpaca-en", "alpaca-zh"):
        kept = _shard_paths(v1, config)
        assert _shard_paths(v2, config)[: len(kept)] == kept
        assert all((v1 / p).read_bytes() == (v2 / p).read_bytes() for p in kept)
    numbers = [int(p.rsplit("/", 1)[-1].split("-")[1]) for p in _shard_paths(v2, "alpaca-en")]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    manifest = Manifest.read(v2)
    assert (manifest.parent, manifest.changelog["alpaca-zh"]) == (FIRST, {"added": [], "removed": [], "changed": []})
    assert len(manifest.changelog["alpaca-en"]["added"]) == NEW_ROWS
    card = (v2 / "README.md").read_text(encoding="utf-8")
    assert f"built on {V1}" in card and f"`alpaca-en`: {NEW_ROWS} added, 0 removed, 0 changed" in card


def test_an_edited_record_is_a_change_and_only_its_shard_is_rewritten(
    releases: dict[str, Path], tmp_path: Path
) -> None:
    source = _first_sources(tmp_path / "src")
    records = [good_record(n) for n in range(EN_ROWS)]
    records[1] = {**records[1], "output": "An edited answer."}
    _write(source, {"alpaca-en/a.json": records})
    v2 = _build(source, tmp_path / "v2", SECOND, base=str(releases["v1"]))

    before, after = _shard_paths(releases["v1"], "alpaca-en"), _shard_paths(v2, "alpaca-en")
    assert before[1:] == after[: len(before) - 1] and before[0] not in after
    change = Manifest.read(v2).changelog["alpaca-en"]
    assert (len(change["changed"]), change["added"], change["removed"]) == (1, [], [])
    assert Manifest.read(v2).configs["alpaca-en"]["rows"] == EN_ROWS


def test_a_base_that_does_not_verify_or_is_not_older_is_refused(releases: dict[str, Path], tmp_path: Path) -> None:
    source = _appended_sources(tmp_path / "src")
    with pytest.raises(UsageError, match="newer"):
        build_release(
            source, tmp_path / "same", options=BuildOptions(version=FIRST, progress=False, base=str(releases["v1"]))
        )
    damaged = tmp_path / "damaged"
    shutil.copytree(releases["v1"], damaged)
    shard = damaged / _shard_paths(damaged, "alpaca-zh")[0]
    shard.write_bytes(_flip_a_byte(shard.read_bytes()))
    with pytest.raises(BaseReleaseError, match="sha256"):
        build_release(source, tmp_path / "v2", options=BuildOptions(version=SECOND, progress=False, base=str(damaged)))

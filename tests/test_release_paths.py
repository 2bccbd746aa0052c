"""Paths in a manifest, card or base release are data: every command refuses a bad one before reading a byte."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import NEXT_VERSION
from hostile_release import (
    HOSTILE_SHARD_PATHS,
    copy_release,
    escape_with_real_bytes,
    first_shard,
    link_shard_outside,
    point_card_at,
    read_manifest,
    write_manifest,
)

from chat_dataset_baseline import (
    CONFIGS,
    ChatDatasetBaseline,
    ChatDatasetError,
    FileVerificationError,
    ManifestError,
    ReleasePathError,
    ShardVerificationError,
    check_release_manifest,
    release_path_problem,
)
from chatcorpus.cli import main
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.fileset import ReleaseFileSet, inventory
from chatcorpus.release.verify import verify_release

CONFIG = "alpaca-zh"


def _rows(release: Path, cache_dir: str, streaming: bool, config: str = CONFIG) -> list[dict]:
    builder = ChatDatasetBaseline(config_name=config, data_source=str(release), cache_dir=cache_dir)
    if streaming:
        return list(builder.as_streaming_dataset(split="train"))
    builder.download_and_prepare()
    return builder.as_dataset(split="train").to_list()


@pytest.mark.parametrize(("name", "hostile"), HOSTILE_SHARD_PATHS, ids=[name for name, _ in HOSTILE_SHARD_PATHS])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_hostile_shard_path_is_refused_and_named(config: str, name: str, hostile: Callable) -> None:
    good = f"data/{config}/train-00000-0123abcd.parquet"
    assert release_path_problem(good, "shard", config) is None
    path = hostile(config, good)
    manifest = {"configs": {config: {"shards": [{"path": path}]}}}
    with pytest.raises(ReleasePathError) as refused:
        check_release_manifest(manifest, "manifest.json of x")
    assert refused.value.path == path and "manifest.json of x" in str(refused.value)


@pytest.mark.parametrize(
    "listing",
    [
        {"configs": {CONFIG: {"shards": [{"path": "data/alpaca-zh/a.parquet"}, {"path": "data/alpaca-zh/a.parquet"}]}}},
        {"configs": {CONFIG: {"shards": [{"path": "data/alpaca-zh/A.parquet"}, {"path": "data/alpaca-zh/a.parquet"}]}}},
        {"configs": {CONFIG: {"shards": [{"path": 7}]}}},
        {"configs": {"../alpaca-zh": {"shards": []}}},
        {"configs": {CONFIG: {"shards": "data/alpaca-zh/a.parquet"}}},
        {"configs": {}, "files": [{"path": "../key.json", "kind": "schema"}]},
        {"configs": {}, "files": [{"path": "schema/a/b.json", "kind": "schema"}]},
        {"configs": {}, "files": [{"path": "schema/x.json", "kind": "shard"}]},
        {"configs": {}, "files": [{"path": "schema/x.json", "kind": "secret"}]},
        {"configs": {}, "files": [{"path": "index/alpaca-fr.parquet", "kind": "index"}]},
        {"configs": {}, "files": [{"path": "data/croissant.json", "kind": "croissant"}]},
        {
            "configs": {},
            "files": [{"path": "images/a.png", "kind": "image"}, {"path": "images/a.png", "kind": "image"}],
        },
        {"configs": {}, "files": "schema/x.json"},
        [],
    ],
)
def test_malformed_or_duplicated_listings_are_refused(listing: object) -> None:
    with pytest.raises(ManifestError):
        check_release_manifest(listing)


def test_every_kind_of_file_has_its_place() -> None:
    listing = {
        "configs": {
            config: {"shards": [{"path": f"data/{config}/train-00000-00000000.parquet"}]} for config in CONFIGS
        },
        "files": [
            {"path": "schema/record.schema.json", "kind": "schema"},
            {"path": "index/alpaca-en.parquet", "kind": "index"},
            {"path": "images/rows.png", "kind": "image"},
            {"path": "croissant.json", "kind": "croissant"},
        ],
    }
    check_release_manifest(listing)


@pytest.mark.parametrize("streaming", [False, True], ids=["prepared", "streaming"])
def test_the_builder_never_follows_a_path_out_of_the_release(
    demo_release: Path, tmp_path: Path, cache_dir: str, streaming: bool
) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    path = escape_with_real_bytes(release, CONFIG, tmp_path / "outside")
    with pytest.raises(ReleasePathError, match=r"\.\./outside"):
        _rows(release, cache_dir, streaming)
    # another config of the same release is refused too: the whole manifest is checked
    with pytest.raises(ReleasePathError, match=path.replace(".", r"\.")):
        _rows(release, cache_dir, streaming, config="prompts")


@pytest.mark.parametrize("streaming", [False, True], ids=["prepared", "streaming"])
def test_the_builder_never_follows_a_link_out_of_the_release(
    demo_release: Path, tmp_path: Path, cache_dir: str, streaming: bool
) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    shard = link_shard_outside(release, CONFIG, tmp_path / "outside")
    with pytest.raises(ReleasePathError, match="symbolic link") as refused:
        _rows(release, cache_dir, streaming)
    assert refused.value.path == shard


def test_a_manifest_that_is_a_link_is_refused(demo_release: Path, tmp_path: Path, cache_dir: str) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    outside = tmp_path / "outside.json"
    (release / "manifest.json").rename(outside)
    (release / "manifest.json").symlink_to(outside)
    with pytest.raises(ManifestError, match="symbolic link"):
        _rows(release, cache_dir, streaming=False)


def _escaped(demo_release: Path, tmp_path: Path) -> tuple[Path, str]:
    release = copy_release(demo_release, tmp_path / "release")
    return release, escape_with_real_bytes(release, CONFIG, tmp_path / "outside")


def test_verify_reports_the_path_and_reads_nothing(demo_release: Path, tmp_path: Path) -> None:
    release, path = _escaped(demo_release, tmp_path)
    report = verify_release(str(release))
    assert not report.ok
    assert [check.subject for check in report.checks] == ["manifest.json"]
    assert path in report.checks[0].problems[0]


@pytest.mark.parametrize(
    "command",
    [
        ["inspect", "{release}", "--cache-dir", "{cache}"],
        ["export", "{tmp}/export", "--release", "{release}", "--format", "jsonl"],
        ["push", "{release}", "--repo", "org/name", "--dry-run"],
        [
            "build",
            "--source",
            "{data}",
            "--out",
            "{tmp}/next",
            "--version",
            NEXT_VERSION,
            "--base",
            "{release}",
            "--quiet",
        ],
    ],
    ids=["inspect", "export", "push", "build-base"],
)
def test_every_command_refuses_the_release_naming_the_path(
    demo_release: Path, tmp_path: Path, cache_dir: str, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    release, path = _escaped(demo_release, tmp_path)
    before = sorted(p.name for p in (tmp_path / "outside").iterdir())
    values = {"release": str(release), "cache": cache_dir, "tmp": str(tmp_path), "data": str(Path("data").resolve())}
    assert main([part.format(**values) for part in command]) == 2
    err = capsys.readouterr().err
    assert path in err and "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "outside").iterdir()) == before
    assert not (tmp_path / "next").exists() and not list((tmp_path / "export").glob("*.jsonl"))


def test_a_base_listing_a_path_outside_writes_nothing_outside_out(demo_release: Path, tmp_path: Path) -> None:
    """The shard bytes are real and the manifest is consistent: only the path check stands in the way."""
    release = copy_release(demo_release, tmp_path / "base")
    manifest = read_manifest(release)
    manifest["configs"][CONFIG]["shards"][0]["path"] = "data/alpaca-zh/../../escaped/x.parquet"
    write_manifest(release, manifest)
    with pytest.raises(ChatDatasetError, match="escaped"):
        build_release(
            Path("data"),
            tmp_path / "out" / "next",
            options=BuildOptions(version=NEXT_VERSION, base=str(release), progress=False),
        )
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "out" / "next").exists()


def test_inspect_refuses_a_card_pointing_a_config_at_another_configs_files(
    demo_release: Path, tmp_path: Path, cache_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    point_card_at(release, CONFIG, [first_shard(release, "alpaca-en")["path"]])
    assert main(["inspect", str(release), "--cache-dir", cache_dir]) == 1
    out = capsys.readouterr().out
    assert "README.md disagrees with manifest.json" in out and "config alpaca-zh" in out
    assert main(["verify", str(release)]) == 1
    assert "FAIL  README.md agrees with the manifest: config alpaca-zh" in capsys.readouterr().out


@pytest.mark.parametrize(
    "yaml_text", ["configs: [unclosed\n", "- a list\n- not a mapping\n", "just text\n", "configs: 7\n"]
)
def test_inspect_and_verify_report_a_card_whose_yaml_is_broken(
    demo_release: Path, tmp_path: Path, cache_dir: str, yaml_text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    body = (release / "README.md").read_text(encoding="utf-8").split("---\n", 2)[2]
    (release / "README.md").write_text(f"---\n{yaml_text}---\n{body}", encoding="utf-8")
    assert main(["inspect", str(release), "--cache-dir", cache_dir]) == 1
    captured = capsys.readouterr()
    assert "README.md disagrees" in captured.out and "Traceback" not in captured.err
    assert main(["verify", str(release)]) == 1


# --- the closed file set --------------------------------------------------------------------


def test_the_manifest_lists_every_file_of_a_built_release(demo_release: Path) -> None:
    manifest = read_manifest(demo_release)
    listed = inventory(
        demo_release,
        [e["path"] for c in manifest["configs"].values() for e in c["shards"]] + [f["path"] for f in manifest["files"]],
    )
    assert listed.problems() == [] and {f["kind"] for f in manifest["files"]} == {
        "schema",
        "index",
        "image",
        "croissant",
    }
    on_disk = sorted(p.relative_to(demo_release).as_posix() for p in demo_release.rglob("*") if p.is_file())
    assert listed.files == on_disk


def test_verify_reports_unlisted_files_links_and_a_changed_listed_file(demo_release: Path, tmp_path: Path) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    secret = tmp_path / "key.pem"
    secret.write_text("-----BEGIN PRIVATE KEY-----\n", encoding="utf-8")
    (release / "schema" / "key.json").symlink_to(secret)
    (release / "data" / CONFIG / "extra.parquet").write_bytes(b"PAR1")
    schema = release / "schema" / "record.schema.json"
    schema.write_bytes(schema.read_bytes() + b" ")
    report = verify_release(str(release))
    failures = [f"{check.subject}: {p}" for check in report.checks for p in check.problems]
    assert any(f.startswith("schema/record.schema.json: ") and "bytes" in f for f in failures), failures
    assert any("data/alpaca-zh/extra.parquet: not listed" in f for f in failures), failures
    assert any("schema/key.json: a symbolic link" in f for f in failures), failures


@pytest.mark.parametrize("extra", ["unlisted", "link", "hidden"])
def test_push_refuses_a_folder_holding_more_than_the_release_and_lists_it(
    demo_release: Path, tmp_path: Path, extra: str, capsys: pytest.CaptureFixture[str]
) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    secret = tmp_path / "id_ed25519"
    secret.write_text("PRIVATE", encoding="utf-8")
    name = {"unlisted": "schema/notes.json", "link": "schema/key.json", "hidden": "data/.env"}[extra]
    if extra == "link":
        (release / name).symlink_to(secret)
    else:
        (release / name).write_text("{}", encoding="utf-8")
    assert main(["push", str(release), "--repo", "org/name", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "nothing was pushed" in err and name in err and "PRIVATE" not in err


def test_a_file_set_refuses_a_file_outside_its_kinds_place(tmp_path: Path) -> None:
    files = ReleaseFileSet(tmp_path)
    written = files.write("images/rows.png", "image", b"\x89PNG")
    assert (
        files.entries() == [written.manifest_entry()] and (tmp_path / "images" / "rows.png").read_bytes() == b"\x89PNG"
    )
    for path, kind in [
        ("../rows.png", "image"),
        ("images/rows.png", "image"),
        ("rows.png", "image"),
        ("x.json", "croissant"),
    ]:
        with pytest.raises(ReleasePathError):
            files.write(path, kind, b"")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images"]


# --- errors survive pickling (a DataLoader worker sends them to the parent) -------------------


@pytest.mark.parametrize(
    "error",
    [
        ShardVerificationError("data/alpaca-zh/x.parquet", "sha256 differs"),
        FileVerificationError("schema/record.schema.json", "3 bytes"),
        ReleasePathError("../x", "is not normalized", "manifest.json of r"),
        ManifestError("no manifest"),
    ],
    ids=type,
)
def test_errors_survive_a_pickle_round_trip(error: ChatDatasetError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error) and vars(copy) == vars(error)

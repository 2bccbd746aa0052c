"""Every reader of a release file is bounded and every report of one is inert.

A manifest, a lock, a ``--base`` or a card nested deeper than any reader should recurse is
refused with the located error that reader raises for any unreadable file, never a
RecursionError; strings a release carries into ``verify`` and ``inspect`` output (card
paths, config names, versions) are printed as visible escapes, never acted on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import NEXT_VERSION
from hostile_release import (
    COUNT_FIELDS,
    HOSTILE_DEPTHS,
    HOSTILE_TEXT,
    card_lists,
    copy_release,
    count_impostors,
    digest_impostors,
    first_shard,
    get_field,
    nest_in_card,
    nest_in_json,
    nest_in_manifest,
    nested_json,
    read_manifest,
    rewrite_shard,
    set_field,
    unsafe_output_lines,
    version_impostors,
    with_schema_metadata,
    write_manifest,
)

import chat_dataset_baseline as builder
from chat_dataset_baseline import (
    MAX_RELEASE_JSON_DEPTH,
    ChatDatasetBaseline,
    ManifestError,
    ShardVerificationError,
    nesting_exceeds,
    read_release_json,
)
from chatcorpus.cli import main
from chatcorpus.errors import LockError
from chatcorpus.release.lock import Lock
from chatcorpus.release.manifest import Manifest
from chatcorpus.release.verify import verify_release

CONFIG = "alpaca-zh"
KINDS = ("array", "object")


class Refused(ValueError):
    pass


# --- the one bounded reader ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("depth", HOSTILE_DEPTHS)
def test_release_json_nested_too_deep_is_refused_with_the_callers_error(depth: int, kind: str) -> None:
    data = nest_in_json('{"format": 1}', depth, kind).encode()
    with pytest.raises(Refused, match=f"x.json nests deeper than {MAX_RELEASE_JSON_DEPTH} levels"):
        read_release_json(data, "x.json", Refused)


@pytest.mark.parametrize("kind", KINDS)
def test_release_json_at_the_bound_is_read(kind: str) -> None:
    data = nest_in_json('{"format": 1}', MAX_RELEASE_JSON_DEPTH - 1, kind).encode()  # the top object is one level
    assert nesting_exceeds(read_release_json(data, "x.json", Refused), MAX_RELEASE_JSON_DEPTH) is False


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"[1, 2]", "is not a JSON object"),
        (b'"text"', "is not a JSON object"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"a": 1, "a": 2}', "the key 'a' is repeated"),
        (b'{"a": 1', "is not JSON"),
        (b'{"a": "\xff"}', "is not JSON"),
        ('{"a": 1}'.encode("utf-16"), "is not JSON"),
    ],
    ids=["array", "string", "nan", "infinity", "repeated-key", "truncated", "not-utf8", "utf16"],
)
def test_release_json_that_is_not_a_strict_object_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(Refused, match=reason) as refused:
        read_release_json(data, "x.json", Refused)
    assert str(refused.value).startswith("x.json ")


def test_nesting_is_measured_without_recursion() -> None:
    value: list = []
    for _ in range(200_000):  # deeper than any recursive walk could go
        value = [value]
    assert nesting_exceeds(value, 199_999) and not nesting_exceeds(value, 200_001)


# --- every reader of a release goes through it -----------------------------------------------


@pytest.fixture(params=[(depth, kind) for depth in HOSTILE_DEPTHS for kind in KINDS], ids=lambda p: f"{p[1]}-{p[0]}")
def deep_release(request: pytest.FixtureRequest, demo_release: Path, tmp_path: Path) -> Path:
    release = copy_release(demo_release, tmp_path / "release")
    nest_in_manifest(release, *request.param)
    return release


@pytest.mark.parametrize(
    "command",
    [
        ["inspect", "{release}", "--cache-dir", "{tmp}/cache"],
        ["export", "{tmp}/export", "--release", "{release}", "--format", "jsonl"],
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
        ["validate", "{data}/alpaca-en", "--against", "{release}"],
    ],
    ids=["inspect", "export", "build-base", "validate-against"],
)
def test_every_command_refuses_a_deep_manifest_naming_it(
    deep_release: Path, tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    values = {"release": str(deep_release), "tmp": str(tmp_path), "data": str(Path("data").resolve())}
    assert main([part.format(**values) for part in command]) == 2
    err = capsys.readouterr().err
    assert "manifest.json" in err and f"nests deeper than {MAX_RELEASE_JSON_DEPTH} levels" in err
    assert "Traceback" not in err and "RecursionError" not in err
    assert not (tmp_path / "next").exists()


def test_verify_reports_a_deep_manifest(deep_release: Path) -> None:
    report = verify_release(str(deep_release))
    assert not report.ok
    [check] = report.checks
    assert check.subject == "manifest.json" and "nests deeper than" in check.problems[0]


@pytest.mark.parametrize("streaming", [False, True], ids=["prepared", "streaming"])
def test_the_builder_refuses_a_deep_manifest_as_a_manifest_error(
    deep_release: Path, tmp_path: Path, streaming: bool
) -> None:
    with pytest.raises(ManifestError, match="manifest.json nests deeper than"):
        loader = ChatDatasetBaseline(config_name=CONFIG, data_source=str(deep_release), cache_dir=str(tmp_path / "c"))
        if streaming:
            list(loader.as_streaming_dataset(split="train"))
        else:
            loader.download_and_prepare()


@pytest.mark.parametrize("depth", HOSTILE_DEPTHS)
def test_a_deep_lock_is_refused_as_a_lock_error(tmp_path: Path, depth: int) -> None:
    lock = tmp_path / "release.lock"
    lock.write_text(nest_in_json('{"format": 1}', depth, "array"), encoding="utf-8")
    with pytest.raises(LockError, match="nests deeper than"):
        Lock.read(lock)


def test_a_deep_manifest_value_is_refused_before_the_schema_reads_it() -> None:
    """jsonschema's messages repr the instance: a value nested ~900 levels would recurse there."""
    data = json.dumps({"version": "PLACEHOLDER"}).replace('"PLACEHOLDER"', nested_json(900, "array")).encode()
    with pytest.raises(ManifestError, match="nests deeper than"):
        Manifest.from_bytes(data, "manifest.json")


def test_every_release_json_reader_is_the_builders_one() -> None:
    """The tooling reads release JSON with nothing else (a reader that calls json.loads on its own
    would have its own limits and its own error); the validate path's copy is tested equal elsewhere."""
    root = Path(builder.__file__).parent
    readers = [
        root / "chatcorpus/release/manifest.py",
        root / "chatcorpus/release/lock.py",
        root / "chatcorpus/release/against.py",
        root / "chatcorpus/release/publish.py",
        root / "chatcorpus/release/verify.py",
        root / "chatcorpus/training/export.py",
    ]
    for path in readers:
        text = path.read_text(encoding="utf-8")
        assert "json.loads(" not in text and "orjson.loads(" not in text, path


# --- the card's YAML ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("depth", "kind"),
    [(d, k) for d in HOSTILE_DEPTHS for k in ("flow-sequence", "flow-mapping")] + [(33, "block"), (600, "block")],
    ids=lambda value: str(value),
)
def test_a_card_nested_too_deep_is_reported_by_verify_and_inspect(
    demo_release: Path, tmp_path: Path, depth: int, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    nest_in_card(release, depth, kind)
    assert main(["verify", str(release)]) == 1
    out = capsys.readouterr().out
    assert (
        "FAIL  README.md agrees with the manifest: cannot read the card: ValueError: its YAML header nests deeper"
        in out
    )
    assert main(["inspect", str(release), "--cache-dir", str(tmp_path / "cache")]) == 1
    captured = capsys.readouterr()
    assert "README.md disagrees with manifest.json: cannot read the card: ValueError: its YAML" in captured.out
    assert "Traceback" not in captured.err and "RecursionError" not in captured.out + captured.err


# --- release-derived text in reports ------------------------------------------------------------


@pytest.mark.parametrize(("name", "text"), HOSTILE_TEXT, ids=[name for name, _ in HOSTILE_TEXT])
def test_strings_from_the_card_print_inert_in_verify_and_inspect(
    demo_release: Path, tmp_path: Path, name: str, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    good = first_shard(release, CONFIG)["path"]
    card_lists(release, CONFIG, [good, f"data/{CONFIG}/{text}.parquet"], extra_config=f"cfg{text}")
    assert main(["verify", str(release)]) == 1
    assert main(["inspect", str(release), "--cache-dir", str(tmp_path / "cache")]) == 1
    captured = capsys.readouterr()
    assert "the card has" in captured.out and "only in the card" in captured.out  # the strings were reported
    assert unsafe_output_lines(captured.out + captured.err) == []


@pytest.mark.parametrize(("name", "text"), HOSTILE_TEXT, ids=[name for name, _ in HOSTILE_TEXT])
def test_strings_from_the_manifest_print_inert_in_every_command(
    demo_release: Path, tmp_path: Path, name: str, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    manifest = read_manifest(release)
    manifest["version"] = f"1.0.0{text}"
    manifest["configs"][CONFIG]["shards"][0]["path"] = f"data/{CONFIG}/{text}.parquet"
    write_manifest(release, manifest)
    assert main(["verify", str(release)]) == 1
    for command in (
        ["inspect", str(release), "--cache-dir", str(tmp_path / "cache")],
        ["export", str(tmp_path / "export"), "--release", str(release), "--format", "jsonl"],
        ["validate", str(Path("data/alpaca-en").resolve()), "--against", str(release)],
    ):
        assert main(command) == 2
    captured = capsys.readouterr()
    assert "manifest.json" in captured.err
    assert unsafe_output_lines(captured.out + captured.err) == []


# --- typed fields --------------------------------------------------------------------------------


_IMPOSTORS = [name for name, _ in count_impostors(20)]


@pytest.mark.parametrize("impostor", _IMPOSTORS)
@pytest.mark.parametrize("path", COUNT_FIELDS, ids=[".".join(map(str, p)) for p in COUNT_FIELDS])
def test_a_count_that_is_not_an_int_is_refused(
    demo_release: Path, tmp_path: Path, path: tuple[Any, ...], impostor: str
) -> None:
    """``"rows": 20.0`` (or ``true``, ``"20"``) is not a count, though it compares or reads as one."""
    release = copy_release(demo_release, tmp_path / "release")
    manifest = read_manifest(release)
    good = get_field(manifest, path, CONFIG)
    set_field(manifest, path, dict(count_impostors(good))[impostor], CONFIG)
    write_manifest(release, manifest)
    report = verify_release(str(release))
    assert not report.ok and report.checks[0].subject == "manifest.json"
    assert f".{path[-1]}: " in report.checks[0].problems[0]
    if path[0] == "configs" and path[-1] != "rejected":  # what the builder itself checks
        loader = ChatDatasetBaseline(config_name=CONFIG, data_source=str(release), cache_dir=str(tmp_path / "c"))
        with pytest.raises(ManifestError, match="not a count|its shards hold"):
            loader.download_and_prepare()


@pytest.mark.parametrize("field", ["schema_fingerprint", "shard-sha256", "file-sha256", "parent_manifest_sha256"])
@pytest.mark.parametrize("impostor", [name for name, _ in digest_impostors("0" * 64)])
def test_a_digest_that_is_almost_one_is_refused(demo_release: Path, tmp_path: Path, field: str, impostor: str) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    manifest = read_manifest(release)
    targets = {
        "schema_fingerprint": (manifest, "schema_fingerprint"),
        "shard-sha256": (manifest["configs"][CONFIG]["shards"][0], "sha256"),
        "file-sha256": (manifest["files"][0], "sha256"),
        "parent_manifest_sha256": (manifest, "parent_manifest_sha256"),
    }
    holder, key = targets[field]
    good = holder[key] or "a" * 64
    holder[key] = dict(digest_impostors(good))[impostor]
    write_manifest(release, manifest)
    with pytest.raises(ManifestError, match="not a valid release manifest"):
        Manifest.read(release)
    assert not verify_release(str(release)).ok


@pytest.mark.parametrize("field", ["version", "parent"])
@pytest.mark.parametrize("impostor", [name for name, _ in version_impostors("1.0.0")])
def test_a_version_that_is_almost_one_is_refused(demo_release: Path, tmp_path: Path, field: str, impostor: str) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    manifest = read_manifest(release)
    manifest[field] = dict(version_impostors("1.0.0"))[impostor]
    write_manifest(release, manifest)
    with pytest.raises(ManifestError, match=f"\\$.{field}: "):
        Manifest.read(release)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("format", 1.0),
        ("format", True),
        ("tag", "v1.0.0\n"),
        ("commit", "a" * 40 + "\n"),
        ("manifest_sha256", "b" * 64 + "\n"),
        ("repo_id", "org/name\n"),
    ],
)
def test_a_lock_field_that_is_almost_right_is_refused(tmp_path: Path, field: str, value: Any) -> None:
    good = {"format": 1, "repo_id": "org/name", "tag": "v1.0.0", "commit": "a" * 40, "manifest_sha256": "b" * 64}
    lock = tmp_path / "release.lock"
    lock.write_text(json.dumps(good), encoding="utf-8")
    assert Lock.read(lock).tag == "v1.0.0"
    lock.write_text(json.dumps({**good, field: value}), encoding="utf-8")
    with pytest.raises(LockError, match=f"\\$.{field}"):
        Lock.read(lock)


def test_the_changelog_holds_record_ids_of_known_configs(demo_release: Path, tmp_path: Path) -> None:
    release = copy_release(demo_release, tmp_path / "release")
    for changelog in (
        {"no-such-config": {"added": [], "removed": [], "changed": []}},
        {CONFIG: {"added": ["x\n::error::injected"], "removed": [], "changed": []}},
        {CONFIG: {"added": [], "removed": [], "changed": [], "extra": []}},
    ):
        manifest = read_manifest(release)
        manifest["changelog"] = changelog
        write_manifest(release, manifest)
        with pytest.raises(ManifestError, match=r"\$.changelog"):
            Manifest.read(release)


# --- JSON inside a shard --------------------------------------------------------------------------


@pytest.mark.parametrize("depth", HOSTILE_DEPTHS)
def test_a_shard_whose_features_metadata_nests_too_deep_is_refused_before_anything_parses_it(
    demo_release: Path, tmp_path: Path, depth: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """Plain ``load_dataset`` parses a shard's ``huggingface`` schema metadata (its features): a shard
    the manifest vouches for (true bytes, sha256 and rows) may still hold JSON nested past any reader."""
    release = copy_release(demo_release, tmp_path / "release")
    good = release / first_shard(release, CONFIG)["path"]
    path = rewrite_shard(
        release, CONFIG, with_schema_metadata(good, b"huggingface", nested_json(depth, "object").encode())
    )
    report = verify_release(str(release))
    [failed] = [check for check in report.checks if check.subject == path]
    assert "huggingface schema metadata nests deeper" in failed.problems[0]
    loader = ChatDatasetBaseline(config_name=CONFIG, data_source=str(release), cache_dir=str(tmp_path / "c"))
    with pytest.raises(ShardVerificationError, match="huggingface schema metadata nests deeper") as refused:
        list(loader.as_streaming_dataset(split="train"))
    assert refused.value.shard == path
    assert main(["inspect", str(release), "--cache-dir", str(tmp_path / "cache")]) == 1
    captured = capsys.readouterr()
    assert f"shards failed verification: {path}" in captured.out
    assert "Traceback" not in captured.err and "RecursionError" not in captured.out + captured.err

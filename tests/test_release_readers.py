"""Every reader of a release file is bounded and every report of one is inert.

A manifest, a lock, a ``--base`` or a card nested deeper than any reader should recurse is
refused with the located error that reader raises for any unreadable file, never a
RecursionError; strings a release carries into ``verify`` and ``inspect`` output (card
paths, config names, versions) are printed as visible escapes, never acted on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_release import (
    HOSTILE_DEPTHS,
    HOSTILE_TEXT,
    card_lists,
    copy_release,
    first_shard,
    nest_in_card,
    nest_in_json,
    nest_in_manifest,
    nested_json,
    read_manifest,
    unsafe_output_lines,
    write_manifest,
)

import chat_dataset_baseline as builder
from chat_dataset_baseline import (
    MAX_RELEASE_JSON_DEPTH,
    ChatDatasetBaseline,
    ManifestError,
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
        ["build", "--source", "{data}", "--out", "{tmp}/next", "--version", "1.1.0", "--base", "{release}", "--quiet"],
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

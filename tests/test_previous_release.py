"""What a user of the previous major sees: 2.0.0 added the translation columns to the shared schema.

The 1.x release is generated from a build (``older_release``): the columns taken out of
every shard and the release sealed again as 1.0.0 was. This builder refuses it with an
error that names the version and both ways out; plain ``datasets`` loads it with its own
columns; ``verify`` reports its schema; ``build --base`` builds the next major on it and
refuses a minor; ``validate --against`` checks against it as against any release.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hub_server import HubServer
from older_release import PREVIOUS_VERSION, publish_by_hand, reseal_as_major

from chat_dataset_baseline import (
    ARROW_SCHEMA,
    CONFIGS,
    RELEASE_VERSION,
    SCHEMA_CHANGES,
    SCHEMA_MAJOR,
    SCHEMA_SINCE,
    ChatDatasetBaseline,
    ChatDatasetError,
    ManifestError,
    ReleaseSchemaError,
    manifest_sha256,
    schema_fingerprint,
    schema_of_major,
)
from chatcorpus.cli import main
from chatcorpus.release.build import BuildOptions
from chatcorpus.release.manifest import Manifest

pytest_plugins = ["hub_fixtures"]

REPO = "org/chat-dataset-baseline"
LINK_COLUMNS = ("translation_of", "translation_kind")
NEXT_MAJOR = f"{SCHEMA_MAJOR}.0.0"


@pytest.fixture(scope="module")
def previous(demo_release: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reseal_as_major(demo_release, tmp_path_factory.mktemp("previous") / "chat-dataset-baseline")


def test_the_translation_columns_are_what_2_0_0_added() -> None:
    assert SCHEMA_CHANGES[2] == LINK_COLUMNS
    assert SCHEMA_MAJOR == int(RELEASE_VERSION.split(".")[0]) == 2 and SCHEMA_SINCE == 2
    assert schema_of_major(SCHEMA_MAJOR).equals(ARROW_SCHEMA)
    assert schema_of_major(1).names == [name for name in ARROW_SCHEMA.names if name not in LINK_COLUMNS]
    assert schema_fingerprint(schema_of_major(1)) != schema_fingerprint()
    # each change names columns of the schema, in a major no later than this builder's
    assert all(set(columns) <= set(ARROW_SCHEMA.names) for columns in SCHEMA_CHANGES.values())
    assert max(SCHEMA_CHANGES) <= SCHEMA_MAJOR


@pytest.mark.parametrize("version", ["1.5.0", "0.9.0"])
def test_this_package_numbers_no_release_below_the_major_of_its_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str
) -> None:
    out = tmp_path / "out"
    assert main(["build", "--source", "data", "--out", str(out), "--version", version, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"version {version} is a {version[0]}.x version" in err and "translation_of, translation_kind" in err
    assert "Traceback" not in err and not out.exists()


def test_every_version_fact_is_the_builders(demo_release: Path) -> None:
    """The builder's datasets.Version, the default of build --version, and what a build writes
    into the manifest, the card and croissant.json are all RELEASE_VERSION."""
    assert {str(config.version) for config in ChatDatasetBaseline.BUILDER_CONFIGS} == {RELEASE_VERSION}
    assert BuildOptions().version == RELEASE_VERSION
    manifest = Manifest.read(demo_release)
    assert (manifest.version, manifest.schema_fingerprint) == (RELEASE_VERSION, schema_fingerprint())
    assert f"This is release **v{RELEASE_VERSION}**" in (demo_release / "README.md").read_text(encoding="utf-8")
    assert json.loads((demo_release / "croissant.json").read_text(encoding="utf-8"))["version"] == RELEASE_VERSION


def test_the_generated_release_is_one_of_the_previous_schema(previous: Path, demo_release: Path) -> None:
    manifest = Manifest.read(previous)
    assert manifest.version == PREVIOUS_VERSION
    assert manifest.schema_fingerprint == schema_fingerprint(schema_of_major(1))
    for config, entry in manifest.configs.items():
        for shard in entry["shards"]:
            assert pq.read_schema(previous / shard["path"]).remove_metadata().equals(schema_of_major(1)), config
    assert main(["verify", str(demo_release)]) == 0  # the build it was made from is whole


@pytest.mark.parametrize("config", list(CONFIGS))
def test_plain_datasets_loads_the_previous_release_with_its_own_columns(
    previous: Path, demo_release: Path, cache_dir: str, config: str
) -> None:
    """The way out the error names: no builder, the release's own nine columns, every row."""
    old = datasets.load_dataset(str(previous), config, split="train", cache_dir=cache_dir)
    new = datasets.load_dataset(str(demo_release), config, split="train", cache_dir=cache_dir)
    assert old.column_names == schema_of_major(1).names
    assert old["id"] == new["id"] and old["output"] == new["output"]


@pytest.mark.parametrize("streaming", [False, True], ids=["prepared", "streaming"])
def test_the_builder_refuses_a_previous_release_folder_naming_the_version_and_the_fix(
    previous: Path, cache_dir: str, streaming: bool
) -> None:
    builder = ChatDatasetBaseline(config_name="alpaca-zh", data_source=str(previous), cache_dir=cache_dir)
    with pytest.raises(ReleaseSchemaError) as caught:
        if streaming:
            list(builder.as_streaming_dataset(split="train"))
        else:
            builder.download_and_prepare()
    message = str(caught.value)
    assert isinstance(caught.value, ManifestError) and isinstance(caught.value, ValueError)
    assert f"release {PREVIOUS_VERSION} has the 1.x schema" in message
    assert "without the columns translation_of, translation_kind (added in 2.0.0)" in message
    assert f"this builder is {RELEASE_VERSION}" in message
    assert f"datasets.load_dataset({str(previous)!r}, 'alpaca-zh')" in message
    assert f"--base {previous} --version {NEXT_MAJOR}" in message


def test_the_schema_error_survives_a_dataloader_worker(previous: Path, cache_dir: str) -> None:
    builder = ChatDatasetBaseline(config_name="prompts", data_source=str(previous), cache_dir=cache_dir)
    with pytest.raises(ReleaseSchemaError) as caught:
        builder.download_and_prepare()
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is ReleaseSchemaError and str(again) == str(caught.value)


def test_on_the_hub_the_builder_refuses_the_previous_tag_and_plain_datasets_loads_it(
    hub: HubServer, previous: Path, tmp_path: Path
) -> None:
    publish_by_hand(previous, REPO)
    tag = f"v{PREVIOUS_VERSION}"
    builder = ChatDatasetBaseline(
        config_name="alpaca-en", data_source=REPO, revision=tag, cache_dir=str(tmp_path / "cache")
    )
    with pytest.raises(ReleaseSchemaError) as caught:
        builder.download_and_prepare()
    assert f"datasets.load_dataset({REPO!r}, 'alpaca-en', revision={tag!r})" in str(caught.value)
    assert f"--base {REPO}@{tag} --version {NEXT_MAJOR}" in str(caught.value)
    plain = datasets.load_dataset(REPO, "alpaca-en", split="train", revision=tag, cache_dir=str(tmp_path / "plain"))
    assert plain.column_names == schema_of_major(1).names and plain.num_rows > 0
    # with no revision the builder pins its own release, which this repo has not published yet
    with pytest.raises(ManifestError, match=f"@v{RELEASE_VERSION}/manifest.json"):
        ChatDatasetBaseline(config_name="alpaca-en", data_source=REPO, cache_dir=str(tmp_path / "pinned"))


def test_verify_reports_the_schema_of_a_previous_release(previous: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(previous)]) == 1
    out = capsys.readouterr().out
    assert f"release {PREVIOUS_VERSION} has the 1.x schema" in out and "translation_of, translation_kind" in out


def test_build_base_on_a_previous_release_is_the_next_major(
    hub: HubServer, previous: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_by_hand(previous, REPO)
    base = f"{REPO}@v{PREVIOUS_VERSION}"
    minor = tmp_path / "minor"
    args = ["build", "--source", "data", "--quiet", "--base", base]
    assert main([*args, "--out", str(minor), "--version", "1.1.0"]) == 2
    err = capsys.readouterr().err
    assert "version 1.1.0 is a 1.x version" in err and f"{SCHEMA_SINCE}.0.0 or later" in err
    assert not minor.exists()

    major = tmp_path / "major"
    assert main([*args, "--out", str(major), "--version", NEXT_MAJOR]) == 0
    manifest, base_manifest = Manifest.read(major), Manifest.read(previous)
    assert (manifest.version, manifest.parent) == (NEXT_MAJOR, PREVIOUS_VERSION)
    assert manifest.parent_manifest_sha256 == manifest_sha256((previous / "manifest.json").read_bytes())
    assert manifest.schema_fingerprint == schema_fingerprint()
    # the same records: nothing added, removed or changed, but no shard kept (every row has new columns)
    assert all(change == {"added": [], "removed": [], "changed": []} for change in manifest.changelog.values())
    old_paths = {shard["path"] for entry in base_manifest.configs.values() for shard in entry["shards"]}
    new_paths = {shard["path"] for entry in manifest.configs.values() for shard in entry["shards"]}
    assert not old_paths & new_paths
    zh = pa.concat_tables(pq.read_table(major / shard["path"]) for shard in manifest.configs["alpaca-zh"]["shards"])
    assert set(zh.column_names) >= set(LINK_COLUMNS) and any(zh["translation_of"].to_pylist())
    assert main(["verify", str(major)]) == 0


def test_validate_against_a_previous_release_finds_its_records(
    hub: HubServer, previous: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The duplicate index did not change with the schema: a pull request is checked against 1.x as against 2.x."""
    publish_by_hand(previous, REPO)
    first = pq.read_table(previous / Manifest.read(previous).configs["alpaca-en"]["shards"][0]["path"]).to_pylist()[0]
    record = {key: first[key] for key in ("instruction", "input", "output") if first[key]}
    pr = tmp_path / "pr" / "alpaca-en"
    pr.mkdir(parents=True)
    (pr / "again.json").write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")
    assert main(["validate", str(pr.parent), "--against", f"{REPO}@v{PREVIOUS_VERSION}", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    messages = [fault["message"] for fault in report["faults"]]
    assert any(f"in {REPO}@v{PREVIOUS_VERSION}" in message for message in messages), messages


def test_a_release_of_an_unknown_schema_and_a_hostile_version(previous: Path, tmp_path: Path, cache_dir: str) -> None:
    manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(schema_fingerprint="0" * 64, version="9.0.0\n::error::pwned")
    folder = tmp_path / "foreign"
    shutil.copytree(previous, folder)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    builder = ChatDatasetBaseline(config_name="alpaca-en", data_source=str(folder), cache_dir=cache_dir)
    with pytest.raises(ChatDatasetError) as caught:
        builder.download_and_prepare()
    message = str(caught.value)
    assert isinstance(caught.value, ReleaseSchemaError)
    assert "the release was built with a schema this builder" in message and "does not know" in message
    assert "pwned" not in message


def test_the_card_says_what_each_major_added_and_how_to_read_an_older_release(demo_release: Path) -> None:
    """The card's Schema section names every column a major added (from SCHEMA_CHANGES, not
    from a copy of it) and the two ways to read or republish a release from before it."""
    card = (demo_release / "README.md").read_text(encoding="utf-8")
    schema = card.split("## Schema", 1)[1].split("\n## ", 1)[0]
    for major, columns in SCHEMA_CHANGES.items():
        sentence = next(line for line in schema.splitlines() if f"are new in {major}.0.0" in line)
        assert all(f"`{column}`" in sentence for column in columns)
        assert f"--version {major}.0.0" in sentence and "plain `load_dataset`" in sentence

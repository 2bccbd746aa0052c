"""validate --against: only the given files, duplicates against a release through its index."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import good_record
from hub_server import HubServer

from chat_dataset_baseline import RELEASE_VERSION
from chatcorpus.cli import main
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.duplicate_index import read_index
from chatcorpus.release.manifest import Manifest

pytest_plugins = ["hub_fixtures"]

REPO = "org/chat-dataset-baseline"
EN = [good_record(n) for n in range(8)]
ZH = [good_record(n, "zh") for n in range(4)]


def _write(folder: Path, files: dict[str, list[dict[str, Any]]]) -> Path:
    for relative, records in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def _release_sources(folder: Path) -> Path:
    return _write(folder, {"alpaca-en/a.json": EN[:4], "alpaca-en/b.json": EN[4:], "alpaca-zh/a.json": ZH})


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("against")
    out = root / "chat-dataset-baseline"
    result = build_release(_release_sources(root / "src"), out, options=BuildOptions(progress=False, repo_id=REPO))
    assert result.published
    return out


def _pull_request(folder: Path) -> Path:
    """A pull request's files, laid out as in the source tree.

    ``alpaca-en/a.json`` is a changed file: record 0 unchanged, record 1 edited, record 2
    new (the old records 2 and 3 are gone). ``alpaca-en/z-new.json`` is a new file.
    """
    edited = dict(EN[1], output="An edited answer.")
    near = dict(EN[5], instruction=EN[5]["instruction"].upper() + "!!")
    return _write(
        folder,
        {
            "alpaca-en/a.json": [EN[0], edited, good_record(50)],
            "alpaca-en/z-new.json": [
                EN[6],  # in b.json, which the pull request does not touch: an exact duplicate
                EN[2],  # was in a.json, whose new version no longer has it: not a duplicate
                ZH[1],  # an alpaca-zh record: a duplicate across configs (and a language warning)
                near,  # b.json's record 1 up to case and punctuation
                good_record(60),
            ],
        },
    )


def _faults(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    code = main(["validate", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["faults"]


def test_only_the_given_files_are_checked_and_duplicates_found_in_the_release(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pr = _pull_request(tmp_path / "pr")
    code, faults = _faults([str(pr), "--against", str(release)], capsys)
    assert code == 1
    found = {(Path(f["path"]).name, f["index"], f["rule"]) for f in faults}
    assert found == {
        ("z-new.json", 0, "duplicate.exact"),
        ("z-new.json", 2, "duplicate.cross-config"),
        ("z-new.json", 2, "language.mismatch"),
        ("z-new.json", 3, "duplicate.normalized"),
    }
    exact = next(f for f in faults if f["rule"] == "duplicate.exact")
    assert exact["message"] == f"the same record as alpaca-en/b.json record 2 in {release}"
    assert all(f["path"].startswith(str(pr)) for f in faults)  # nothing of the release is reported as a file


def test_against_finds_what_a_full_check_of_the_merged_corpus_finds(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The second opinion: apply the pull request to the release's sources and validate everything."""
    pr = _pull_request(tmp_path / "pr")
    merged = _release_sources(tmp_path / "merged")
    shutil.copytree(pr, merged, dirs_exist_ok=True)
    _, incremental = _faults([str(pr), "--against", str(release)], capsys)
    _, full = _faults([str(merged)], capsys)
    place = lambda f: (Path(f["path"]).relative_to(f["path"].split("/alpaca-")[0]).as_posix(), f["line"], f["rule"])  # noqa: E731
    assert sorted(map(place, incremental)) == sorted(map(place, full))


def test_a_file_validated_again_unchanged_is_not_its_own_duplicate(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = _write(tmp_path / "pr", {"alpaca-en/b.json": EN[4:]})
    assert _faults([str(same), "--against", str(release)], capsys) == (0, [])
    moved = _write(tmp_path / "moved", {"alpaca-en/c.json": EN[4:]})  # the same records under another name
    code, faults = _faults([str(moved), "--against", str(release)], capsys)
    assert code == 1 and [f["rule"] for f in faults] == ["duplicate.exact"] * 4


def test_release_duplicates_honour_disabled_rules(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = _write(tmp_path / "moved", {"alpaca-en/c.json": EN[4:]})
    assert _faults([str(moved), "--against", str(release), "--disable", "duplicate.exact"], capsys) == (0, [])


def test_every_release_ships_an_index_of_every_row_listed_in_its_manifest(release: Path) -> None:
    manifest = Manifest.read(release)
    listed = {f["path"]: f for f in manifest.files if f["kind"] == "index"}
    assert set(listed) == {f"index/{config}.parquet" for config in manifest.configs}
    for config, entry in manifest.configs.items():
        data = (release / "index" / f"{config}.parquet").read_bytes()
        assert hashlib.sha256(data).hexdigest() == listed[f"index/{config}.parquet"]["sha256"]
        index = read_index(data, config, "test")
        shard_ids = [
            int(row_id, 16)
            for shard in entry["shards"]
            for row_id in pq.read_table(release / shard["path"], columns=["id"]).column("id").to_pylist()
        ]
        assert len(index) == entry["rows"] and sorted(index.ids.to_pylist()) == sorted(shard_ids)
    assert main(["verify", str(release)]) == 0


def _copy(release: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy" / "chat-dataset-baseline"
    shutil.copytree(release, copy)
    return copy


def _relist(release: Path, path: str, data: bytes) -> None:
    """Write ``data`` at ``path`` and list it in the manifest with its true bytes and sha256."""
    (release / path).write_bytes(data)
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        if entry["path"] == path:
            entry["bytes"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    (release / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _other_parquet() -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"id": pa.array(["not", "an", "index"])}), sink)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda r: (r / "index/alpaca-en.parquet").write_bytes(b"PAR1 tampered"), "is damaged"),
        (lambda r: _relist(r, "index/alpaca-en.parquet", b"not parquet at all"), "not a readable Parquet file"),
        (lambda r: _relist(r, "index/alpaca-en.parquet", _other_parquet()), "not a duplicate index"),
        (lambda r: _unlist(r, "index/alpaca-en.parquet"), "has no duplicate index for alpaca-en"),
        (lambda r: _link_index(r), "is reached through a symbolic link"),  # read only at known paths, never via links
        (lambda r: _foreign_config(r), "lists a config '../../outside'"),
    ],
    ids=["bytes", "not-parquet", "other-schema", "absent", "link", "foreign-config"],
)
def test_a_damaged_indexless_or_linked_release_is_refused_with_a_located_error(
    damage: Any, message: str, release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = _copy(release, tmp_path)
    damage(copy)
    pr = _write(tmp_path / "pr", {"alpaca-en/c.json": [good_record(70)]})
    assert main(["validate", str(pr), "--against", str(copy)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def _link_index(release: Path) -> None:
    target = release / "index/alpaca-en.parquet"
    real = release.parent / "elsewhere.parquet"
    target.rename(real)
    target.symlink_to(real)


def _foreign_config(release: Path) -> None:
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    manifest["configs"]["../../outside"] = manifest["configs"]["alpaca-en"]
    (release / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _unlist(release: Path, path: str) -> None:
    (release / path).unlink()
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"] = [entry for entry in manifest["files"] if entry["path"] != path]
    (release / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_against_a_hub_release_by_tag_and_latest(
    hub: HubServer, release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push", str(release), "--repo", REPO]) == 0
    capsys.readouterr()
    moved = _write(tmp_path / "moved", {"alpaca-en/c.json": EN[4:5]})
    for spec in (f"{REPO}@v{RELEASE_VERSION}", REPO):
        code, faults = _faults([str(moved), "--against", spec], capsys)
        assert code == 1
        assert [f["message"] for f in faults] == [
            f"the same record as alpaca-en/b.json record 0 in {REPO}@v{RELEASE_VERSION}"
        ]
    assert main(["validate", str(moved), "--against", "org/no-such-repo"]) == 2


def test_validating_against_a_release_folder_imports_neither_datasets_nor_pandas(release: Path, tmp_path: Path) -> None:
    pr = _write(tmp_path / "pr", {"alpaca-en/c.json": EN[4:5]})
    script = (
        "import sys\n"
        "from chatcorpus.cli import main\n"
        f"code = main(['validate', {str(pr)!r}, '--against', {str(release)!r}, '--format', 'json'])\n"
        "heavy = sorted(m for m in ('datasets', 'pandas') if m in sys.modules)\n"
        "print('exit', code, 'imported', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert "exit 1 imported []" in done.stderr, done.stderr
    assert json.loads(done.stdout)["faults"][0]["rule"] == "duplicate.exact"


def test_a_file_the_change_deletes_is_no_longer_a_source_of_duplicates(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """b.json's records move to c.json and b.json is deleted (a rename, as git shows it with --no-renames)."""
    moved = _write(tmp_path / "pr", {"alpaca-en/c.json": EN[4:]})
    code, faults = _faults([str(moved), "--against", str(release)], capsys)
    assert code == 1 and [f["rule"] for f in faults] == ["duplicate.exact"] * 4
    deleted = str(tmp_path / "pr" / "alpaca-en" / "b.json")  # gone from the checkout
    assert _faults([str(moved), "--against", str(release), "--deleted", deleted], capsys) == (0, [])
    # deleting another file does not hide b.json's records, and a.json's remain a source too
    other = str(tmp_path / "pr" / "alpaca-en" / "a.json")
    code, faults = _faults([str(moved), "--against", str(release), "--deleted", other], capsys)
    assert code == 1 and len(faults) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--deleted", "data/alpaca-en/b.json"], "it needs --against"),
        (["--against", "{release}", "--deleted", "notes/b.json"], "not inside a config folder"),
    ],
    ids=["without-against", "outside-configs"],
)
def test_deleted_files_are_refused_where_they_mean_nothing(
    args: list[str], message: str, release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pr = _write(tmp_path / "pr", {"alpaca-en/c.json": [good_record(70)]})
    assert main(["validate", str(pr), *(arg.format(release=release) for arg in args)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_validating_against_a_hub_release_imports_neither_datasets_nor_pandas(
    hub: HubServer, hub_env: dict[str, str], release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push", str(release), "--repo", REPO]) == 0
    capsys.readouterr()
    pr = _write(tmp_path / "pr", {"alpaca-en/c.json": EN[4:5]})
    for spec in (f"{REPO}@v{RELEASE_VERSION}", REPO):
        script = (
            "import sys\n"
            "from chatcorpus.cli import main\n"
            f"code = main(['validate', {str(pr)!r}, '--against', {spec!r}, '--format', 'json'])\n"
            "heavy = sorted(m for m in ('datasets', 'pandas', 'chat_dataset_baseline') if m in sys.modules)\n"
            "print('exit', code, 'imported', heavy, file=sys.stderr)\n"
        )
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=hub_env)
        assert "exit 1 imported []" in done.stderr, done.stderr
        faults = json.loads(done.stdout)["faults"]
        assert [f["message"] for f in faults] == [
            f"the same record as alpaca-en/b.json record 0 in {REPO}@v{RELEASE_VERSION}"
        ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (f"{REPO}@v9.9.9", "has no revision 'v9.9.9'"),
        ("org/no-such-repo@v1.0.0", "there is no dataset repo org/no-such-repo"),
        ("org/no-such-repo", "there is no dataset repo org/no-such-repo"),
    ],
)
def test_a_hub_release_that_is_not_there_is_refused_by_name(
    hub: HubServer, release: Path, tmp_path: Path, spec: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push", str(release), "--repo", REPO]) == 0
    capsys.readouterr()
    pr = _write(tmp_path / "pr", {"alpaca-en/c.json": [good_record(70)]})
    assert main(["validate", str(pr), "--against", spec]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_linked_manifest_is_refused_as_verify_refuses_it(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = _copy(release, tmp_path)
    real = tmp_path / "elsewhere.json"
    (copy / "manifest.json").rename(real)
    (copy / "manifest.json").symlink_to(real)
    pr = _write(tmp_path / "pr", {"alpaca-en/c.json": [good_record(70)]})
    assert main(["validate", str(pr), "--against", str(copy)]) == 2
    against = capsys.readouterr().err
    assert main(["verify", str(copy)]) == 1
    verified = capsys.readouterr().out
    refusal = f"{copy}: path 'manifest.json' is reached through a symbolic link; a release holds no links"
    assert refusal in against and refusal in verified
    assert "is not JSON" not in against and "Traceback" not in against

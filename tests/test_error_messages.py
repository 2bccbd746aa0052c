"""Errors that say the fix: each mistake a newcomer makes gets a message naming it, not a
misleading error from deeper down (a Hub URI, a JSON parse of a text file)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import good_record

from chatcorpus.cli import EXIT_FAULTS, EXIT_USAGE, main
from chatcorpus.errors import ReleaseNotFoundError
from chatcorpus.release.verify import ReleaseLocation, check_local_or_repo


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_mistyped_source_folder_is_no_such_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "build", "--source", str(tmp_path / "dta"), "--out", str(tmp_path / "out"))
    assert code == EXIT_USAGE
    assert f"{tmp_path / 'dta'}: no such folder" in err and "config folders" not in err
    assert not (tmp_path / "out").exists()


def test_a_source_that_is_a_file_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "records.json").write_text("[]", encoding="utf-8")
    code, _, err = _run(capsys, "build", "--source", str(tmp_path / "records.json"), "--out", str(tmp_path / "o"))
    assert code == EXIT_USAGE and "is a file, not a folder" in err


def test_an_existing_folder_without_configs_still_names_the_config_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "src").mkdir()
    code, _, err = _run(capsys, "build", "--source", str(tmp_path / "src"), "--out", str(tmp_path / "o"))
    assert code == EXIT_USAGE and "has none of the config folders" in err


@pytest.mark.parametrize("version", ["v1.0.0", "V2.3.4"])
def test_a_version_with_a_v_is_told_to_drop_it(
    version: str, write_source: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_source({"alpaca-en/a.json": [good_record(1)]})
    code, _, err = _run(capsys, "build", "--source", str(source), "--out", str(tmp_path / "o"), "--version", version)
    assert code == EXIT_USAGE
    assert f"write it without the v ({version[1:]})" in err


def test_a_version_that_is_not_a_version_gets_no_v_hint(
    write_source: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_source({"alpaca-en/a.json": [good_record(1)]})
    code, _, err = _run(capsys, "build", "--source", str(source), "--out", str(tmp_path / "o"), "--version", "vnext")
    assert code == EXIT_USAGE and "is not X.Y.Z" in err and "without the v" not in err


@pytest.mark.parametrize("name", ["notes.txt", "records.JSON.bak", "README"])
def test_validate_refuses_a_file_that_is_not_json_or_jsonl(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_text('[{"instruction": "a", "output": "b"}]', encoding="utf-8")
    code, out, err = _run(capsys, "validate", str(path))
    assert code == EXIT_USAGE
    assert "not a .json or .jsonl file" in err and out == ""


def test_validate_still_reads_json_and_jsonl_files_named_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.json").write_text(json.dumps([good_record(1)]), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps(good_record(2)) + "\n", encoding="utf-8")
    code, out, _ = _run(capsys, "validate", str(tmp_path / "a.json"), str(tmp_path / "b.jsonl"))
    assert code == 0 and "2 record(s) read" in out


def test_a_failed_build_counts_accepted_rows_not_written_ones(
    write_source: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_source({"alpaca-en/a.json": [good_record(1), {"instruction": "no output"}]})
    code, out, err = _run(capsys, "build", "--source", str(source), "--out", str(tmp_path / "o"), "--quiet")
    assert code == EXIT_FAULTS and not (tmp_path / "o").exists()
    header = out.splitlines()[0].split()
    assert header == ["config", "files", "read", "accepted", "rejected"]
    assert "nothing written" in err


def test_a_published_build_counts_written_rows(
    write_source: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_source({"alpaca-en/a.json": [good_record(1)]})
    code, out, _ = _run(capsys, "build", "--source", str(source), "--out", str(tmp_path / "o"), "--quiet")
    assert code == 0 and out.splitlines()[0].split() == ["config", "files", "read", "written", "rejected"]


@pytest.mark.parametrize(
    "spec",
    ["./out/chat-datset-baseline", "/nowhere/release", "~/release", "out/chat-datset-baseline", "a/b/c", "typo/"],
)
def test_a_mistyped_release_folder_is_no_such_folder_not_a_hub_error(
    spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()  # so out/... is a path beside an existing folder
    with pytest.raises(ReleaseNotFoundError, match="no such folder"):
        check_local_or_repo(spec)
    code, _, err = _run(capsys, "export", str(tmp_path / "x"), "--release", spec, "--format", "messages")
    assert code == EXIT_USAGE and "no such folder" in err and "HF URI" not in err
    code, _, err = _run(capsys, "verify", spec)
    assert code == EXIT_USAGE and "no such folder" in err


def test_a_repo_id_is_still_a_repo_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert check_local_or_repo("org/chat-dataset-baseline") is False
    assert ReleaseLocation.parse("org/chat-dataset-baseline@v1.0.0").repo_id == "org/chat-dataset-baseline"
    with pytest.raises(ReleaseNotFoundError, match=r"no such folder \(and not a Hub repo id"):
        check_local_or_repo("not a repo")


def test_revision_with_a_local_release_is_refused(
    demo_release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(
        capsys,
        "export",
        str(tmp_path / "x"),
        "--release",
        str(demo_release),
        "--revision",
        "v1.0.0",
        "--format",
        "jsonl",
    )
    assert code == EXIT_USAGE and "drop --revision" in err
    assert not (tmp_path / "x").exists()

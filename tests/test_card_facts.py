"""What the dataset card tells readers is true: the repo it names is the repo it is in,
how many records were rejected and why, and the same licence as the README."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import NEXT_VERSION, REPO, good_record
from hub_server import HubServer
from huggingface_hub import DatasetCard

from chat_dataset_baseline import DEFAULT_REPO_ID, RELEASE_VERSION
from chatcorpus.cli import EXIT_USAGE, main
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.card import repos_named

pytest_plugins = ["hub_fixtures"]

TARGET = "someone/chat-dataset-baseline"


def _card(release: Path) -> str:
    return (release / "README.md").read_text(encoding="utf-8")


def test_the_card_names_the_repo_it_was_built_for(write_source: Callable[..., Path], tmp_path: Path) -> None:
    source = write_source({"alpaca-en/a.json": [good_record(1)]})
    out = tmp_path / "out"
    assert build_release(source, out, options=BuildOptions(progress=False, repo_id=TARGET)).published
    assert repos_named(_card(out)) == {TARGET}


def test_push_refuses_a_card_that_names_another_repo(
    hub: HubServer, demo_release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert repos_named(_card(demo_release)) == {DEFAULT_REPO_ID}
    for extra in ([], ["--dry-run"]):
        code = main(["push", str(demo_release), "--repo", TARGET, *extra])
        err = capsys.readouterr().err
        assert code == EXIT_USAGE
        assert f"tells readers to load {DEFAULT_REPO_ID}, not {TARGET}" in err and f"--repo {TARGET}" in err


def test_a_release_built_on_a_hub_base_names_that_repo_and_pushes_there(
    hub: HubServer, write_source: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_source({"alpaca-en/a.json": [good_record(n) for n in range(3)]})
    v1, v2 = tmp_path / "v1" / "r", tmp_path / "v2" / "r"
    assert main(["build", "--source", str(source), "--out", str(v1), "--repo", TARGET, "--quiet"]) == 0
    assert main(["push", str(v1), "--repo", TARGET]) == 0
    more = write_source({"alpaca-en/b.json": [good_record(10)]})
    (more / "alpaca-en" / "a.json").write_text(json.dumps([good_record(n) for n in range(3)]), encoding="utf-8")
    args = [
        "build",
        "--source",
        str(more),
        "--out",
        str(v2),
        "--version",
        NEXT_VERSION,
        "--base",
        f"{TARGET}@v{RELEASE_VERSION}",
    ]
    assert main([*args, "--quiet"]) == 0, capsys.readouterr().err
    assert repos_named(_card(v2)) == {TARGET}  # no --repo: the base's repo
    assert main(["push", str(v2), "--repo", TARGET]) == 0, capsys.readouterr().err


def test_the_card_says_how_many_records_were_rejected_and_why(
    write_source: Callable[..., Path], tmp_path: Path
) -> None:
    source = write_source(
        {
            "alpaca-en/a.json": [good_record(1), good_record(1), {"instruction": "no output"}, {"output": "x"}],
            "alpaca-zh/a.json": [good_record(1, "zh")],
        }
    )
    out = tmp_path / "out"
    assert build_release(source, out, options=BuildOptions(progress=False, skip_invalid=True)).published
    card = _card(out)
    row = next(line for line in card.splitlines() if line.startswith("| `alpaca-en` | 3 |"))
    assert "`duplicate.exact` 1" in row and "`schema.required` 2" in row
    assert re.search(r"^\| `alpaca-zh` \| 0 \| none \|$", card, re.M)


def test_a_clean_build_says_nothing_was_rejected(demo_release: Path) -> None:
    assert "No record was rejected" in _card(demo_release)


def test_card_and_readme_state_one_licence_for_the_data_and_one_for_the_code(demo_release: Path) -> None:
    card = DatasetCard.load(demo_release / "README.md")
    assert card.data.license == "cc-by-nc-4.0"
    card_licence = card.text.split("## Licence", 1)[1]
    readme_licence = (REPO / "README.md").read_text(encoding="utf-8").split("## Licence", 1)[1].split("\n## ", 1)[0]
    for text in (card_licence, readme_licence):
        assert "all four configs" in text and "**CC BY-NC 4.0**" in text
        assert "MIT" in text and "Everything else is MIT" not in text
    setup = (REPO / "setup.cfg").read_text(encoding="utf-8")
    assert re.search(r"^license = MIT$", setup, re.M)  # the package: the code

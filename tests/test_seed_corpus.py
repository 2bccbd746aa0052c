"""The real corpus, with its real faults: every fault located, nothing dropped, nothing crashes.

Runs over ../shared/seed-data when it sits beside the project and skips otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
from conftest import seed_snapshot

from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.manifest import Manifest

pytestmark = pytest.mark.seed


def _unparseable_files(snapshot: Path) -> set[str]:
    broken = set()
    for path in snapshot.glob("*/*.json"):
        if path.parent.name == "extras":
            continue
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            broken.add(path.relative_to(snapshot).as_posix())
    return broken


@pytest.fixture(scope="module", params=["2024-05-06", "2023-04-11"])
def seed_build(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    snapshot = seed_snapshot(request.param)
    out = tmp_path_factory.mktemp(request.param) / "chat-dataset-baseline"
    return snapshot, build_release(snapshot, out, options=BuildOptions(progress=False, skip_invalid=True))


def test_every_unparseable_file_is_reported_at_its_syntax_error(seed_build) -> None:
    snapshot, result = seed_build
    broken = _unparseable_files(snapshot)
    assert broken, "the seed corpus is known to hold files that do not parse"
    reported = {f.path for f in result.faults if f.rule == "json.syntax"}
    assert broken <= reported
    for fault in (f for f in result.faults if f.rule == "json.syntax"):
        assert fault.line > 1 and fault.column >= 1
        line = (snapshot / fault.path).read_text(encoding="utf-8").splitlines()[fault.line - 1]
        assert line[fault.column - 1] in ",]}"  # the stray character itself


def test_every_rejection_is_located_and_accounted_for(seed_build) -> None:
    _, result = seed_build
    assert result.rejected > 0
    for fault in result.error_faults:
        # a folder or file the layout leaves unread (the seed's extras/) is a fault of the path itself
        assert fault.path and (fault.line >= 1 and fault.column >= 1 or fault.rule.startswith("file.")), fault
    for config, counts in result.counts.items():
        assert counts.read == counts.written + counts.rejected, config
    rejected_records = {(f.path, f.index) for f in result.error_faults if f.index is not None}
    assert len(rejected_records) == result.rejected


def test_history_given_as_a_string_is_a_located_type_fault(seed_build) -> None:
    snapshot, result = seed_build
    if not (snapshot / "chatglm-issues" / "代码问题.json").exists():
        pytest.skip("this snapshot has no 代码问题.json")
    faults = [f for f in result.faults if f.path.endswith("代码问题.json") and f.rule == "schema.type"]
    assert faults and all(f.pointer == "/history" for f in faults)
    text = (snapshot / faults[0].path).read_text(encoding="utf-8").splitlines()
    assert text[faults[0].line - 1][faults[0].column - 1 :].startswith('"history"')


def test_the_accepted_rows_load_back_with_load_dataset(seed_build, tmp_path: Path) -> None:
    _, result = seed_build
    manifest = Manifest.read(result.out)
    for config, entry in manifest.configs.items():
        assert entry["rows"] == result.counts[config].written
        assert len(entry["shards"]) == -(-entry["rows"] // 5000)
    ds = datasets.load_dataset(str(result.out), "alpaca-en", split="train", cache_dir=str(tmp_path))
    assert ds.num_rows == manifest.configs["alpaca-en"]["rows"] > 50_000


def test_without_skip_invalid_the_seed_corpus_is_not_published(tmp_path: Path) -> None:
    snapshot = seed_snapshot("2023-04-11")
    out = tmp_path / "chat-dataset-baseline"
    result = build_release(snapshot, out, options=BuildOptions(progress=False, configs=("chatglm-issues",)))
    assert result.rejected and not result.published and not out.exists()

"""``croissant.json``: valid Croissant 1.0 by ``mlcroissant``'s own checks, and its records are the shards' rows."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from chatcorpus.cli import EXIT_OK, main
from chatcorpus.release.build import BuildOptions, build_release

mlc = pytest.importorskip("mlcroissant")


RECORDS = {
    "alpaca-en/a.json": [
        {"instruction": "Say hi.", "output": "Hi."},
        {
            "instruction": "Go on.",
            "system": "Be brief.",
            "history": [["first", "one"], ["second", "two"]],
            "output": "Three.",
        },
        {"instruction": "Add 2 and 3.", "input": "2, 3", "output": "5"},
    ],
    "chatglm-issues/算术.json": [
        {"instruction": "一加一等于几？", "output": "二。", "history": [["你好", "你好！"]]},
        {"instruction": "二加二等于几？", "output": "四。"},
        {"instruction": "三加三等于几？", "output": "六。"},
    ],
}


@pytest.fixture
def release(tmp_path: Path, write_source: Callable[..., Path]) -> Path:
    out = tmp_path / "out" / "release"
    source = write_source(RECORDS)
    assert build_release(source, out, options=BuildOptions(progress=False, shard_rows=2)).published
    return out


def _document(release: Path) -> dict[str, Any]:
    return json.loads((release / "croissant.json").read_text(encoding="utf-8"))


def test_croissant_json_is_valid_croissant_with_a_file_object_per_shard_and_its_real_sha256(
    release: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    document = _document(release)
    assert document["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    objects = {d["contentUrl"]: d for d in document["distribution"] if d["@type"] == "cr:FileObject"}
    shards = [shard for entry in manifest["configs"].values() for shard in entry["shards"]]
    assert len(shards) == 4 and sorted(objects) == sorted(shard["path"] for shard in shards)
    for shard in shards:
        assert objects[shard["path"]]["sha256"] == shard["sha256"]
        assert objects[shard["path"]]["sha256"] == hashlib.sha256((release / shard["path"]).read_bytes()).hexdigest()
    assert [rs["@id"] for rs in document["recordSet"]] == list(manifest["configs"])
    for key in ("rai:dataCollection", "rai:dataBiases", "rai:dataLimitations", "rai:personalSensitiveInformation"):
        assert document[key]
    # listed in the manifest, so verify checks its bytes like a shard's
    assert {"path": "croissant.json", "kind": "croissant"}.items() <= next(
        f for f in manifest["files"] if f["path"] == "croissant.json"
    ).items()
    with caplog.at_level(logging.WARNING):
        dataset = mlc.Dataset(jsonld=release / "croissant.json")  # raises on any error of the document
    issues = dataset.metadata.ctx.issues
    assert not issues.errors
    # no timestamps in a release (the same bytes every build): the one recommendation it leaves out
    assert all("datePublished" in warning for warning in issues.warnings), issues.warnings


def test_croissant_records_are_the_parquet_rows_history_included(release: Path) -> None:
    dataset = mlc.Dataset(jsonld=release / "croissant.json")
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    for config, entry in manifest["configs"].items():
        rows = [row for shard in entry["shards"] for row in pq.read_table(release / shard["path"]).to_pylist()]
        records = list(itertools.islice(dataset.records(config), len(rows) + 1))
        assert len(records) == len(rows) == entry["rows"]
        by_id = {row["id"]: row for row in rows}
        for record in records:
            got = {key.split("/", 1)[1]: value for key, value in record.items()}
            expected = by_id[got["id"].decode("utf-8")]
            for name, value in expected.items():
                if name == "history":
                    turns = [
                        {key.split("/")[-1]: text.decode("utf-8") for key, text in turn.items()} for turn in got[name]
                    ]
                    assert turns == value, (config, expected["id"])
                else:
                    assert got[name].decode("utf-8") == value, (config, name)
    assert any(
        row["history"]
        for shard in manifest["configs"]["alpaca-en"]["shards"]
        for row in pq.read_table(release / shard["path"]).to_pylist()
    )


def test_verify_reports_a_changed_croissant_json(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(release)]) == EXIT_OK
    capsys.readouterr()
    path = release / "croissant.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"sha256": "', '"sha256": "0', 1), encoding="utf-8")
    assert main(["verify", str(release)]) != EXIT_OK
    assert "FAIL  croissant.json:" in capsys.readouterr().out


def test_verify_reports_a_croissant_json_whose_file_objects_are_not_the_shards(
    release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A publisher who lists a croissant.json (its sha256 in the manifest) that names other shards."""
    document = _document(release)
    first = next(d for d in document["distribution"] if d["@type"] == "cr:FileObject")
    first["sha256"] = "0" * 64
    document["recordSet"] = document["recordSet"][:1]
    _relist_croissant(release, json.dumps(document).encode("utf-8"))
    assert main(["verify", str(release)]) != EXIT_OK
    out = capsys.readouterr().out
    assert "FAIL  croissant.json: its FileObjects are not the manifest's shards: 1 shard(s) missing" in out
    assert "its RecordSets are ['alpaca-en']" in out


def test_verify_reports_a_croissant_json_nested_too_deep_as_a_problem_not_a_crash(
    release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _relist_croissant(release, b"[" * 100_000 + b"]" * 100_000)
    assert main(["verify", str(release)]) != EXIT_OK
    out = capsys.readouterr().out
    assert "FAIL  croissant.json: croissant.json nests deeper than" in out


def _relist_croissant(release: Path, data: bytes) -> None:
    """Put ``data`` in croissant.json and list its true bytes and sha256, as a publisher who meant it would."""
    path = release / "croissant.json"
    path.write_bytes(data)
    manifest_path = release / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["path"] == "croissant.json")
    entry["bytes"], entry["sha256"] = path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")

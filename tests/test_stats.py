"""``stats``, the card's Statistics section and the charts: counted from the shards, the same every build.

The expected numbers are computed here from the source records with plain Python (``len``,
a tokenizer's own ``encode``), independently of the pyarrow/numpy code under test.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chat_dataset_baseline import ARROW_SCHEMA, DEFAULT_REPO_ID, RELEASE_VERSION
from chatcorpus.cli import EXIT_OK, EXIT_USAGE, main
from chatcorpus.release import charts
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.card_statistics import _text
from chatcorpus.release.stats import LengthSummary
from chatcorpus.validation import inert

pytest_plugins = ["hub_fixtures"]


def _records() -> dict[str, list[dict[str, Any]]]:
    """Records of every shape the lengths must count: empty input, a system prompt, several turns, long text."""
    en = [
        {"instruction": f"Explain item {n} in detail.", "input": "x" * n, "output": "An answer. " * (n + 1)}
        for n in range(7)
    ]
    en.append(
        {
            "instruction": "Continue the chat.",
            "system": "You are terse.",
            "history": [["first question", "first answer"], ["second", "二"]],
            "output": "Done.",
        }
    )
    zh = [
        {"instruction": f"第{n}题：请把句子翻译成英文。", "input": "今天天气很好。", "output": "好" * (3 * n + 1)}
        for n in range(5)
    ]
    issues_a = [{"instruction": f"计算 {n}+1", "output": f"{n + 1}"} for n in range(3)]
    issues_b = [{"instruction": "三国演义的作者是谁？", "output": "罗贯中。"}]
    return {
        "alpaca-en/a.json": en,
        "alpaca-zh/a.json": zh,
        "chatglm-issues/加法.json": issues_a,
        "chatglm-issues/历史.json": issues_b,
    }


def _expected_lengths(records: list[dict[str, Any]], measure: Callable[[str], int] = len) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {"instruction": [], "input": [], "output": [], "total": []}
    for record in records:
        parts = {name: measure(record.get(name, "")) for name in ("instruction", "input", "output")}
        turns = sum(measure(user) + measure(answer) for user, answer in record.get("history", []))
        for name, value in parts.items():
            out[name].append(value)
        out["total"].append(sum(parts.values()) + measure(record.get("system", "")) + turns)
    return out


def _summary(values: list[int]) -> dict[str, Any]:
    ordered = sorted(values)

    def lower(q: float) -> int:  # numpy's "lower" quantile: the element at floor(q * (n - 1))
        return ordered[int(q * (len(ordered) - 1))]

    return {
        "min": ordered[0],
        "p50": lower(0.5),
        "p90": lower(0.9),
        "p99": lower(0.99),
        "max": ordered[-1],
        "mean": round(sum(ordered) / len(ordered), 1),
    }


@pytest.fixture
def release(tmp_path: Path, write_source: Callable[..., Path]) -> Path:
    source = write_source(_records())
    out = tmp_path / "out" / "release"
    # two rows a shard: every config has several shards, and stats must add them up
    assert build_release(source, out, options=BuildOptions(progress=False, shard_rows=2)).published
    return out


def _stats_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["stats", *args, "--format", "json"]) == EXIT_OK, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_stats_counts_rows_languages_categories_and_character_lengths_of_every_shard(
    release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stats = _stats_json(capsys, str(release))
    records = _records()
    by_config = {
        "alpaca-en": records["alpaca-en/a.json"],
        "alpaca-zh": records["alpaca-zh/a.json"],
        "chatglm-issues": records["chatglm-issues/加法.json"] + records["chatglm-issues/历史.json"],
    }
    assert list(stats["configs"]) == ["alpaca-zh", "alpaca-en", "chatglm-issues"]
    assert stats["length_unit"] == "characters" and stats["version"] == RELEASE_VERSION
    for config, rows in by_config.items():
        got = stats["configs"][config]
        assert got["rows"] == len(rows) and got["rejected"] == 0
        assert got["lengths"] == {name: _summary(v) for name, v in _expected_lengths(rows).items()}, config
    assert stats["configs"]["chatglm-issues"]["categories"] == {"加法": 3, "历史": 1}
    assert stats["configs"]["alpaca-zh"]["languages"] == {"zh": 5}
    # the rule counts are the build's, per config: the manifest records them
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    assert stats["faults"] == manifest["faults"] and manifest["faults"]
    assert all(entry["config"] in (None, "alpaca-zh", "alpaca-en", "chatglm-issues") for entry in manifest["faults"])


def test_the_text_output_and_the_card_show_the_same_numbers(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stats = _stats_json(capsys, str(release))
    assert main(["stats", str(release)]) == EXIT_OK
    text = capsys.readouterr().out
    card = (release / "README.md").read_text(encoding="utf-8")
    section = card.split("## Statistics", 1)[1].split("\n## ", 1)[0]
    en_total = stats["configs"]["alpaca-en"]["lengths"]["total"]
    cells = [f"{en_total[k]:,}" for k in ("min", "p50", "p90", "p99", "max")] + [f"{en_total['mean']:,.1f}"]
    assert "| `alpaca-en` | total | " + " | ".join(cells) + " |" in section
    assert any(line.split()[:2] == ["alpaca-en", "total"] and line.split()[2:] == cells for line in text.splitlines())
    assert "| `chatglm-issues` | 1 | `加法` | 3 |" in section
    for chart in ("images/lengths-alpaca-en.png", "images/lengths-alpaca-zh.png", "images/categories.png"):
        assert f"]({chart})" in section  # relative: each tag's card shows its own charts


def _png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        assert (
            zlib.crc32(data[at + 4 : at + 8 + length])
            == struct.unpack(">I", data[at + 8 + length : at + 12 + length])[0]
        )
        chunks.append(kind)
        at += 12 + length
    return chunks


def test_charts_are_release_files_with_the_same_bytes_every_build(
    tmp_path: Path, write_source: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_source(_records())
    builds = [tmp_path / name / "release" for name in ("one", "two")]
    for out in builds:
        assert build_release(source, out, options=BuildOptions(progress=False)).published
    manifests = [json.loads((out / "manifest.json").read_text(encoding="utf-8")) for out in builds]
    images = [entry for entry in manifests[0]["files"] if entry["kind"] == "image"]
    assert sorted(entry["path"] for entry in images) == [
        "images/categories.png",
        "images/lengths-alpaca-en.png",
        "images/lengths-alpaca-zh.png",
        "images/lengths-chatglm-issues.png",
    ]
    for entry in images:
        one, two = ((out / entry["path"]).read_bytes() for out in builds)
        assert one == two, f"{entry['path']} differs between two builds of the same source"
        chunks = _png_chunks(one)
        assert b"tEXt" not in chunks and b"tIME" not in chunks  # no Software, no date: nothing of the machine
    assert manifests[0] == manifests[1]
    assert (builds[0] / "README.md").read_bytes() == (builds[1] / "README.md").read_bytes()
    # verified like shards: a changed chart is reported through the manifest
    assert main(["verify", str(builds[0])]) == EXIT_OK
    capsys.readouterr()
    chart = builds[0] / "images" / "categories.png"
    chart.write_bytes(chart.read_bytes()[:-1] + b"\x00")
    assert main(["verify", str(builds[0])]) != EXIT_OK
    assert "FAIL  images/categories.png: sha256" in capsys.readouterr().out


def test_stats_refuses_a_shard_that_is_not_the_manifests(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    shard = release / manifest["configs"]["alpaca-en"]["shards"][1]["path"]
    shard.write_bytes(shard.read_bytes() + b"\x00")
    assert main(["stats", str(release)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert manifest["configs"]["alpaca-en"]["shards"][1]["path"] in err and "failed verification" in err


def test_stats_of_a_folder_that_does_not_exist_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", str(tmp_path / "nowhere")]) == EXIT_USAGE
    assert "no such folder" in capsys.readouterr().err


def test_stats_counts_the_tokens_of_a_tokenizer_it_is_given(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    texts = [
        value for records in _records().values() for r in records for value in r.values() if isinstance(value, str)
    ]
    bpe = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token="[UNK]"))
    bpe.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=300, special_tokens=["[UNK]"], initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    path = tmp_path / "tokenizer.json"
    bpe.save(str(path))

    def count(text: str) -> int:
        return len(bpe.encode(text, add_special_tokens=False).ids)

    stats = _stats_json(capsys, str(release), "--tokenizer", str(path))
    assert stats["length_unit"] == f"tokens ({path})"
    expected = _expected_lengths(_records()["alpaca-en/a.json"], count)
    assert stats["configs"]["alpaca-en"]["lengths"] == {name: _summary(v) for name, v in expected.items()}
    # tokens are not characters: the test would pass for the wrong measure otherwise
    assert (
        stats["configs"]["alpaca-en"]["lengths"] != _stats_json(capsys, str(release))["configs"]["alpaca-en"]["lengths"]
    )


def test_a_tokenizer_that_cannot_be_loaded_is_a_usage_error(
    release: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tokenizers")
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"not": "a tokenizer"}', encoding="utf-8")
    assert main(["stats", str(release), "--tokenizer", str(bad)]) == EXIT_USAGE
    assert "not a tokenizers JSON file" in capsys.readouterr().err


def test_stats_reads_a_hub_release(hub: object, release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = _stats_json(capsys, str(release))
    assert main(["push", str(release), "--repo", DEFAULT_REPO_ID]) == EXIT_OK, capsys.readouterr().err
    capsys.readouterr()
    assert _stats_json(capsys, f"{DEFAULT_REPO_ID}@v{RELEASE_VERSION}") == local


def test_names_from_the_release_stay_plain_text_in_the_card() -> None:
    for hostile in (
        "a|b",
        "<img src=x onerror=alert(1)>",
        "[link](javascript:x)",
        "`code`",
        "line\nbreak",
        "*bold*",
        "$x$",
    ):
        escaped = _text(hostile)
        assert "\n" not in escaped and not set("|<>[]`*$") & set(escaped), (hostile, escaped)
        assert html.unescape(escaped) == inert.escape(hostile)


def test_length_summaries_of_no_rows_and_of_one_row() -> None:
    assert LengthSummary.of(np.zeros(0, np.int64)) == LengthSummary(0, 0, 0, 0, 0, 0.0)
    assert LengthSummary.of(np.array([7])) == LengthSummary(7, 7, 7, 7, 7, 7.0)


def _relist(release: Path, config: str, index: int, data: bytes, rows: int) -> str:
    """Replace a shard's bytes and list them in the manifest: a publisher whose manifest matches a bad shard."""
    manifest_path = release / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    shard = manifest["configs"][config]["shards"][index]
    (release / shard["path"]).write_bytes(data)
    shard.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), rows=rows)
    manifest["configs"][config]["rows"] = sum(s["rows"] for s in manifest["configs"][config]["shards"])
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return str(shard["path"])


def test_stats_refuses_a_listed_shard_whose_columns_are_not_the_schemas(
    release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = pa.table(
        {
            name: pa.array([7, 8]) if name == "language" else pa.nulls(2, ARROW_SCHEMA.field(name).type)
            for name in ARROW_SCHEMA.names
        }
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    path = _relist(release, "alpaca-en", 0, sink.getvalue().to_pybytes(), 2)
    assert main(["stats", str(release)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert path in err and "column language is int64, the schema says string" in err and "Traceback" not in err


def test_stats_of_a_release_built_before_the_manifest_kept_fault_counts(
    release: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest_path = release / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["faults"]
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    assert _stats_json(capsys, str(release))["faults"] == []
    assert main(["stats", str(release)]) == EXIT_OK
    assert "none recorded" in capsys.readouterr().out


_LENGTH_CHART = charts.length_chart


def _recording_pid(config: str, lengths: dict[str, np.ndarray], unit: str) -> charts.Chart:
    """A length chart, noting the process it was drawn in (module level: it is sent to the helper)."""
    with Path(os.environ["CHART_PID_FILE"]).open("a", encoding="utf-8") as pids:
        pids.write(f"{os.getpid()}\n")
    return _LENGTH_CHART(config, lengths, unit)


def test_build_jobs_draws_the_charts_in_its_second_process_with_the_same_bytes(
    tmp_path: Path, write_source: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_source(_records())
    pid_file = tmp_path / "pids"
    monkeypatch.setenv("CHART_PID_FILE", str(pid_file))
    monkeypatch.setattr(charts, "length_chart", _recording_pid)
    images = {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}" / "release"
        assert build_release(source, out, options=BuildOptions(progress=False, jobs=jobs)).published
        images[jobs] = {path.name: path.read_bytes() for path in sorted((out / "images").iterdir())}
        pids = set(pid_file.read_text().split())
        pid_file.unlink()
        assert (pids == {str(os.getpid())}) == (jobs == 1), pids  # --jobs 1 draws here, --jobs 2 there
    assert images[1] == images[2] and len(images[1]) == 4

"""Each shard is read once by ``build --base``, and a build reads none of its own shards back.

A reader that checks a shard and then opens it again to use it reads it twice, and trusts
a file that may have changed since it was checked. Reads are counted here at the
file level: every open by Python (the ``open`` audit event, which ``Path.read_bytes`` and
``open`` raise) and every path handed to pyarrow, which opens files natively.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hostile_release import copy_release, read_manifest

import chat_dataset_baseline
from chatcorpus.release import build, incremental
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.manifest import Manifest
from chatcorpus.release.stats import ReleaseStats, release_stats

DATA = Path(__file__).resolve().parent.parent / "data"


class Opens(Counter[str]):
    """Opens to read, per resolved path; ``copied`` counts the opens of ``shutil.copyfile`` apart."""

    def __init__(self) -> None:
        super().__init__()
        self.copied: Counter[str] = Counter()
        self.copying: str | None = None


#: The counter of the test that is counting, if any (an audit hook cannot be removed once added).
_counting: list[Opens] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _counting or not args or not isinstance(args[0], (str, Path)):
        return
    opens, path = _counting[-1], str(Path(args[0]).resolve())
    if event == "shutil.copyfile":  # its own open of the source follows
        opens.copying = path
    elif event == "open" and path == opens.copying:
        opens.copied[path] += 1
        opens.copying = None
    elif event == "open" and _reads(args[1], args[2]):
        opens[path] += 1


def _reads(mode: str | None, flags: int) -> bool:
    """An open to read, not to write (``open``'s mode, or ``os.open``'s flags when mode is None)."""
    if mode is not None:
        return "r" in mode and "+" not in mode
    return flags & os.O_ACCMODE == os.O_RDONLY


sys.addaudithook(_audit)


@contextmanager
def counting_opens(monkeypatch: pytest.MonkeyPatch) -> Iterator[Opens]:
    """Opens per resolved path while the block runs: Python's, and pyarrow's given a path."""
    opened = Opens()

    def record(source: object) -> None:
        if isinstance(source, (str, Path)):
            opened[str(Path(source).resolve())] += 1

    class CountingParquetFile(pq.ParquetFile):
        def __init__(self, source: Any, *args: Any, **kwargs: Any) -> None:
            record(source)
            super().__init__(source, *args, **kwargs)

    read_table = pq.read_table

    def counting_read_table(source: Any, *args: Any, **kwargs: Any) -> pa.Table:
        record(source)
        return read_table(source, *args, **kwargs)

    # every copy of pyarrow.parquet in use (making a datasets builder imports a second one)
    for module in {
        id(m): m for m in (pq, sys.modules["pyarrow.parquet"], chat_dataset_baseline.pq, incremental.pq)
    }.values():
        monkeypatch.setattr(module, "ParquetFile", CountingParquetFile)
        monkeypatch.setattr(module, "read_table", counting_read_table)
    for name in ("memory_map", "OSFile", "input_stream"):
        opener = getattr(pa, name)
        monkeypatch.setattr(
            pa, name, lambda source, *a, _opener=opener, **k: (record(source), _opener(source, *a, **k))[1]
        )
    _counting.append(opened)
    try:
        yield opened
    finally:
        _counting.pop()


def _shard_files(release: Path, config: str | None = None) -> list[str]:
    configs = read_manifest(release)["configs"]
    return [
        str((release / shard["path"]).resolve())
        for name, entry in configs.items()
        if config in (None, name)
        for shard in entry["shards"]
    ]


def test_build_on_a_base_reads_each_base_shard_once(
    demo_release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = copy_release(demo_release, tmp_path / "base")
    shards = _shard_files(base)
    with counting_opens(monkeypatch) as opened:
        result = build_release(
            DATA, tmp_path / "next", options=BuildOptions(version="9.0.0", base=str(base), progress=False)
        )
    assert result.published
    assert {path: opened[path] for path in shards} == dict.fromkeys(shards, 1)
    # every shard was kept: the same source, so the same shards, copied into the new release,
    # and their statistics counted from the tables already read: no other shard is read
    assert {path: opened.copied[path] for path in shards} == dict.fromkeys(shards, 1)
    assert [path for path in opened if path.endswith(".parquet") and path not in shards] == []
    assert sorted(p.removeprefix(str(base.resolve())) for p in shards) == sorted(
        p.removeprefix(str((tmp_path / "next").resolve())) for p in _shard_files(tmp_path / "next")
    )


def _counting_statistics(monkeypatch: pytest.MonkeyPatch) -> list[ReleaseStats]:
    """The statistics each build puts in its card, as it counted them."""
    seen: list[ReleaseStats] = []
    write_statistics = build._write_statistics

    def recording(files: Any, stats: ReleaseStats, charts: Any) -> str:
        seen.append(stats)
        return write_statistics(files, stats, charts)

    monkeypatch.setattr(build, "_write_statistics", recording)
    return seen


def _read_back(release: Path) -> dict[str, Any]:
    """The statistics of a published release, read from its shards as ``stats`` reads them."""
    manifest = Manifest.read(release)
    return release_stats(manifest, lambda path: (release / path).read_bytes()).to_json()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_build_reads_no_shard_back_for_its_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    counted = _counting_statistics(monkeypatch)
    with counting_opens(monkeypatch) as opened:
        result = build_release(DATA, tmp_path / "release", options=BuildOptions(progress=False, jobs=jobs))
    assert result.published
    assert [path for path in opened if path.endswith((".parquet", ".png"))] == []
    assert [stats.to_json() for stats in counted] == [_read_back(tmp_path / "release")]


def test_a_build_on_a_base_counts_kept_and_new_shards_as_the_release_holds_them(
    demo_release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source"
    shutil.copytree(DATA, source)
    extra = [{"instruction": f"A new question {n}?", "input": "", "output": "A new answer " * n} for n in range(1, 4)]
    (source / "alpaca-en" / "more.json").write_text(json.dumps(extra), encoding="utf-8")
    counted = _counting_statistics(monkeypatch)
    options = BuildOptions(version="9.0.0", base=str(demo_release), progress=False, skip_invalid=True)
    assert build_release(source, tmp_path / "next", options=options).published
    assert [stats.to_json() for stats in counted] == [_read_back(tmp_path / "next")]
    assert counted[0].configs["alpaca-en"].rows == read_manifest(demo_release)["configs"]["alpaca-en"]["rows"] + 3

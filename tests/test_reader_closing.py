"""No Parquet reader outlives its use: each is closed when its shard is done, when a consumer
stops early, and when an export fails part-way, without waiting for the garbage collector.

A reader left to the collector may be destroyed at interpreter shutdown, after Arrow's
runtime, and the process then aborts once its work is done ("terminate called without an
active exception", exit 134, apache/arrow#45214). Running a command hundreds of times to
catch that race would be slow and still prove little; what these tests prove instead is
the cause's absence: every reader the builder opened is closed by the time control returns,
while the exception that interrupted the work (and the frames it holds) is still alive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from chat_dataset_baseline import ChatDatasetBaseline
from chatcorpus.training import export
from chatcorpus.training.export import ExportOptions, export_release

CONFIG = "alpaca-en"


@pytest.fixture
def readers(monkeypatch: pytest.MonkeyPatch) -> list[pq.ParquetFile]:
    """Every ``ParquetFile`` opened while the test runs."""
    opened: list[pq.ParquetFile] = []
    init = pq.ParquetFile.__init__

    def recording_init(self: pq.ParquetFile, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(pq.ParquetFile, "__init__", recording_init)
    return opened


def _builder(release: Path, tmp_path: Path, **options: Any) -> ChatDatasetBaseline:
    return ChatDatasetBaseline(config_name=CONFIG, data_source=str(release), cache_dir=str(tmp_path / "c"), **options)


@pytest.mark.parametrize("shuffle_seed", [None, 3])
def test_a_consumer_that_stops_early_leaves_no_reader_open(
    demo_release: Path, tmp_path: Path, readers: list[pq.ParquetFile], shuffle_seed: int | None
) -> None:
    rows = iter(_builder(demo_release, tmp_path, shuffle_seed=shuffle_seed).as_streaming_dataset(split="train"))
    next(rows)
    assert readers and not all(reader.closed for reader in readers)  # the shard being read is open
    rows.close()  # what a for loop's break, or an exception, does to the iterator it leaves
    assert all(reader.closed for reader in readers)


def test_a_prepared_load_leaves_no_reader_open(
    demo_release: Path, tmp_path: Path, readers: list[pq.ParquetFile]
) -> None:
    builder = _builder(demo_release, tmp_path)
    builder.download_and_prepare()
    assert builder.as_dataset(split="train").num_rows > 0
    assert readers and all(reader.closed for reader in readers)


def test_an_export_leaves_no_reader_open(demo_release: Path, tmp_path: Path, readers: list[pq.ParquetFile]) -> None:
    result = export_release(tmp_path / "out", "jsonl", options=ExportOptions(release=str(demo_release)))
    assert sum(file.rows for file in result.files) > 0
    assert readers and all(reader.closed for reader in readers)


def test_an_export_that_fails_part_way_closes_its_readers_before_the_error_is_handled(
    demo_release: Path, tmp_path: Path, readers: list[pq.ParquetFile], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write fails on the second row (a full disk, say): the error's traceback holds the frames
    that were reading, and the readers are closed all the same."""
    written: list[dict[str, Any]] = []

    def fail_on_second(row: dict[str, Any]) -> dict[str, Any]:
        if written:
            raise OSError(28, "No space left on device")
        written.append(row)
        return row

    monkeypatch.setattr(export, "_history_as_pairs", fail_on_second)
    with pytest.raises(OSError, match="No space left") as failure:
        export_release(tmp_path / "out", "llama-factory", options=ExportOptions(release=str(demo_release)))
    assert failure.traceback  # still alive, with every frame it holds
    assert readers and all(reader.closed for reader in readers)

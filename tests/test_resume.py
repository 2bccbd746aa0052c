"""Exact resume: after any number of rows, ``state_dict()`` then ``load_state_dict()`` gives exactly the rest.

Every stream a trainer gets is interrupted at seeded random points, including the first
and the last row, and resumed in a fresh object (as a restarted job would): the rows
before the interruption and the rows after it must be the rows of one uninterrupted
run, none lost or repeated. The release is built with small, uneven shards, so the
interruptions fall inside shards, at their ends and inside row groups. ``datasets``
loses its shuffle buffer on resume (huggingface/datasets issue #7901); the builder's
``shuffle_seed`` is a shuffle that resumes exactly, and is tested here the same way,
in one process and across DataLoader workers (torchdata's ``StatefulDataLoader``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import datasets
import pytest
from conftest import good_record

from chat_dataset_baseline import VIEWS, ChatDatasetBaseline
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.manifest import Manifest
from chatcorpus.training.mixing import mix
from chatcorpus.training.views import load_view, to_view

ROWS = {"alpaca-en": 47, "alpaca-zh": 29}
SHARD_ROWS = 6  # 8 and 5 shards, the last ones short
POINTS = 7  # interruptions per stream, besides the first and the last row
Stream = Callable[[], datasets.IterableDataset]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("resume-source")
    for config, rows in ROWS.items():
        (source / config).mkdir()
        records = [good_record(n, "zh" if config == "alpaca-zh" else "en") for n in range(rows)]
        (source / config / "records.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    out = tmp_path_factory.mktemp("resume") / "chat-dataset-baseline"
    result = build_release(
        source, out, options=BuildOptions(shard_rows=SHARD_ROWS, progress=False, configs=tuple(ROWS))
    )
    assert result.published, [str(f) for f in result.faults]
    return out


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return (row.get("config", ""), row["id"])


def _points(rows: int, seed: int) -> list[int]:
    inside = random.Random(seed).sample(range(1, rows), min(POINTS, rows - 1))
    return sorted({0, rows, *inside})


def _assert_resumes_exactly(make: Stream, seed: int) -> list[tuple[str, str]]:
    full = [_key(row) for row in make()]
    for point in _points(len(full), seed):
        interrupted = make()
        rows = iter(interrupted)
        head = [_key(next(rows)) for _ in range(point)]
        state = interrupted.state_dict()
        resumed = make()
        resumed.load_state_dict(state)
        assert head + [_key(row) for row in resumed] == full, f"resumed after {point} rows"
    return full


def _builder(release: Path, config: str, **kwargs: Any) -> datasets.IterableDataset:
    return ChatDatasetBaseline(config_name=config, data_source=str(release), **kwargs).as_streaming_dataset(
        split="train"
    )


@pytest.mark.parametrize("view", VIEWS)
def test_the_builders_streams_resume_exactly_in_every_view(release: Path, view: str, streaming_path: str) -> None:
    full = _assert_resumes_exactly(lambda: _builder(release, "alpaca-en", format=view), seed=len(view))
    assert len(full) == ROWS["alpaca-en"]


def test_a_view_of_a_plain_stream_resumes_exactly(release: Path) -> None:
    def make() -> datasets.IterableDataset:
        return to_view(datasets.load_dataset(str(release), "alpaca-zh", split="train", streaming=True), "messages")

    assert len(_assert_resumes_exactly(make, seed=1)) == ROWS["alpaca-zh"]


@pytest.mark.parametrize("stopping_strategy", ["all_exhausted", "first_exhausted"])
def test_a_mix_resumes_exactly(release: Path, stopping_strategy: str) -> None:
    def make() -> datasets.IterableDataset:
        streams = {config: load_view(release, config, "messages", streaming=True) for config in ROWS}
        return mix(streams, {"alpaca-en": 0.6, "alpaca-zh": 0.4}, seed=7, stopping_strategy=stopping_strategy)

    full = _assert_resumes_exactly(make, seed=2)
    assert {config for config, _ in full} == set(ROWS)


# --- a shuffle that resumes exactly ------------------------------------------------------------


def _shard_of(release: Path, config: str) -> dict[str, int]:
    import pyarrow.parquet as pq

    shards = Manifest.read(release).configs[config]["shards"]
    return {
        row_id: n
        for n, shard in enumerate(shards)
        for row_id in pq.read_table(release / shard["path"], columns=["id"]).column("id").to_pylist()
    }


def _runs(values: Iterable[int]) -> list[int]:
    """The values with repeats next to each other collapsed: each shard once if its rows are together."""
    runs: list[int] = []
    for value in values:
        if not runs or runs[-1] != value:
            runs.append(value)
    return runs


def test_shuffle_seed_permutes_shards_and_rows_and_resumes_exactly(release: Path, streaming_path: str) -> None:
    plain = [_key(row) for row in _builder(release, "alpaca-en")]
    shuffled = _assert_resumes_exactly(lambda: _builder(release, "alpaca-en", shuffle_seed=3), seed=3)
    shard_of = _shard_of(release, "alpaca-en")
    shard_order = _runs(shard_of[row_id] for _, row_id in shuffled)

    assert sorted(shuffled) == sorted(plain) and shuffled != plain
    assert sorted(shard_order) == list(range(len(shard_order)))  # each shard's rows together, every shard once
    assert shard_order != sorted(shard_order)
    within_first = [row_id for _, row_id in shuffled if shard_of[row_id] == shard_order[0]]
    assert within_first != [row_id for _, row_id in plain if shard_of[row_id] == shard_order[0]]
    assert [_key(row) for row in _builder(release, "alpaca-en", shuffle_seed=3)] == shuffled
    assert [_key(row) for row in _builder(release, "alpaca-en", shuffle_seed=4)] != shuffled


def test_shuffle_seed_gives_the_same_order_prepared_and_streamed(release: Path, tmp_path: Path) -> None:
    builder = ChatDatasetBaseline(
        config_name="alpaca-zh", data_source=str(release), shuffle_seed=5, cache_dir=str(tmp_path / "cache")
    )
    builder.download_and_prepare()

    assert builder.as_dataset(split="train")["id"] == [
        row["id"] for row in _builder(release, "alpaca-zh", shuffle_seed=5)
    ]


def test_shuffle_seed_must_be_a_non_negative_int(release: Path) -> None:
    with pytest.raises(ValueError, match="shuffle_seed"):
        _builder(release, "alpaca-en", shuffle_seed=-1)


# --- across DataLoader workers ------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("what", ["shuffled builder stream", "mix"])
def test_a_stateful_dataloader_resumes_exactly_across_workers(release: Path, workers: int, what: str) -> None:
    stateful = pytest.importorskip("torchdata.stateful_dataloader")

    def make() -> datasets.IterableDataset:
        if what == "mix":
            streams = {config: load_view(release, config, "messages", streaming=True) for config in ROWS}
            return mix(streams, {"alpaca-en": 0.6, "alpaca-zh": 0.4}, seed=11)
        return _builder(release, "alpaca-en", format="prompt-completion", shuffle_seed=9)

    def loader() -> Any:
        return stateful.StatefulDataLoader(make(), batch_size=None, num_workers=workers)

    full = [_key(row) for row in loader()]
    assert len(set(full)) == len(full) if what != "mix" else full
    for point in _points(len(full), seed=workers)[1:-1:2]:  # a few inside points: each starts worker processes
        interrupted = loader()
        rows = iter(interrupted)
        head = [_key(next(rows)) for _ in range(point)]
        state = interrupted.state_dict()
        del rows
        resumed = loader()
        resumed.load_state_dict(state)
        assert head + [_key(row) for row in resumed] == full, f"resumed after {point} rows with {workers} workers"

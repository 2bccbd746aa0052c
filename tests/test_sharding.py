"""Data-parallel streaming: every rank (and DataLoader worker) reads whole shards, every row exactly once.

data/ is built twice: with one row a shard every config has at least 8 shards, enough
for 8 ranks; with two rows a shard, getting "whole shards" is not trivially true. The
unit of sharding is the Parquet file, for plain ``load_dataset`` and for the builder
alike. A rank gets whole shards when split with ``strategy="shards"``; with the default
``"auto"``, datasets reads everything and skips rows unless the number of shards is a
multiple of the world size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq
import pytest
from conftest import DATA
from datasets.distributed import split_dataset_by_node

from chat_dataset_baseline import CONFIGS, ChatDatasetBaseline
from chatcorpus.release.build import BuildOptions, build_release
from chatcorpus.release.manifest import Manifest

#: rows a shard -> the world sizes proven on that build of data/
WORLD_SIZES = {1: (2, 4, 8), 2: (2, 4)}
STREAMS = ("load_dataset", "builder")


@pytest.fixture(scope="module", params=list(WORLD_SIZES), ids=lambda rows: f"{rows}-row-shards")
def release(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    out = tmp_path_factory.mktemp("sharded") / "chat-dataset-baseline"
    assert build_release(DATA, out, options=BuildOptions(shard_rows=request.param, progress=False)).published
    return out, request.param


def _stream(release: Path, config: str, how: str) -> datasets.IterableDataset:
    if how == "builder":
        return ChatDatasetBaseline(config_name=config, data_source=str(release)).as_streaming_dataset(split="train")
    return datasets.load_dataset(str(release), config, split="train", streaming=True)


def _shard_ids(release: Path, config: str) -> list[set[str]]:
    """The ids each shard of the config holds, read from the files the manifest lists."""
    shards = Manifest.read(release).configs[config]["shards"]
    return [set(pq.read_table(release / shard["path"], columns=["id"]).column("id").to_pylist()) for shard in shards]


def _assert_whole_shards_each_row_once(readers: Iterable[list[str]], shards: list[set[str]]) -> None:
    readers = list(readers)
    assert Counter(i for ids in readers for i in ids) == Counter(i for shard in shards for i in shard)
    shard_of = {i: n for n, shard in enumerate(shards) for i in shard}
    for ids in readers:
        assert set(ids) == set().union(*(shards[shard_of[i]] for i in ids)), "a reader got part of a shard"


@pytest.mark.parametrize("how", STREAMS)
@pytest.mark.parametrize("config", list(CONFIGS))
def test_each_rank_streams_whole_shards_and_every_row_once(release: tuple[Path, int], config: str, how: str) -> None:
    path, shard_rows = release
    shards = _shard_ids(path, config)
    stream = _stream(path, config, how)

    assert stream.num_shards == len(shards) >= max(WORLD_SIZES[shard_rows])
    for world_size in WORLD_SIZES[shard_rows]:
        ranks = [
            split_dataset_by_node(stream, rank=rank, world_size=world_size, strategy="shards")
            for rank in range(world_size)
        ]
        _assert_whole_shards_each_row_once([[row["id"] for row in rank] for rank in ranks], shards)


def _worker(row: dict[str, Any]) -> dict[str, int]:
    from torch.utils.data import get_worker_info

    return {"worker": get_worker_info().id}


@pytest.mark.parametrize("how", STREAMS)
def test_dataloader_workers_on_each_rank_get_whole_shards(release: tuple[Path, int], how: str) -> None:
    pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    path, _ = release
    world_size, workers = 2, 2
    shards = _shard_ids(path, "alpaca-zh")
    stream = _stream(path, "alpaca-zh", how)
    readers: dict[tuple[int, int], list[str]] = {}
    for rank in range(world_size):
        tagged = split_dataset_by_node(stream, rank=rank, world_size=world_size, strategy="shards").map(_worker)
        for row in DataLoader(tagged, batch_size=None, num_workers=workers):
            readers.setdefault((rank, row["worker"]), []).append(row["id"])

    assert len(readers) == world_size * workers  # every worker of every rank had shards to read
    _assert_whole_shards_each_row_once(readers.values(), shards)
